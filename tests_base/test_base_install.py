"""The base install (``pip install alignsts``, no extras), run by ``make test`` in its own venv
(.venv-base): nothing heavy is installed, the training-free engines run, and the key decision,
without the optional speaker-embedding cue, still judges a user's own singing to be their own
voice (issue 18: "the default install must decide as well as the full one")."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT.parent / "shared" / "data" / "sts-pairs"
OWN_PAIRS = sorted(p.name for p in PAIRS.iterdir() if (p / "sing.wav").is_file()) if PAIRS.is_dir() else []


def test_this_is_the_base_install():
    for heavy in ("torch", "resemblyzer", "transformers", "demucs", "music21", "pocketsphinx", "gradio"):
        assert importlib.util.find_spec(heavy) is None, f"{heavy} is installed: not the base install"
    from alignsts.melody import key

    assert not key.embedding_available()


@pytest.mark.parametrize("pair", OWN_PAIRS)
def test_own_singing_is_the_users_own_voice_without_the_embedding(pair):
    """Each real pair's own singing as the reference: kept where it is (no octave move) and
    judged the same person, with the cues the base install has (register, formants)."""
    from alignsts import api

    result = api.convert(PAIRS / pair / "speech.wav", reference=PAIRS / pair / "sing.wav")
    decision = result.analysis.key
    assert decision.cues.embedding == "not installed"
    assert decision.transpose == 0, decision.reason
    assert decision.same_speaker, decision.reason
    assert result.analysis.balance[1] == "same"
    assert np.all(np.isfinite(result.wav)) and len(result.wav) > 0


def test_the_pairs_are_there():
    if not PAIRS.is_dir():
        pytest.skip(f"real pairs not found at {PAIRS}")
    assert len(OWN_PAIRS) == 7


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alignsts", *args], capture_output=True, text=True, timeout=300)


def test_the_cli_converts_and_names_what_to_install_for_the_extras(tmp_path):
    from alignsts.api import demo_files

    speech, sing, midi = demo_files()
    out = tmp_path / "out.wav"
    done = _cli("convert", str(speech), "--reference", str(sing), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.is_file() and out.stat().st_size > 1000
    score = _cli("convert", str(speech), "--midi", str(midi), "-o", str(tmp_path / "score.wav"))
    assert score.returncode == 0, score.stderr
    for extra in (["--separator", "demucs", "--song", str(sing)], ["--engine", "neural", "--reference", str(sing)]):
        bad = _cli("convert", str(speech), *extra, "-o", str(tmp_path / "x.wav"))
        assert bad.returncode != 0
        lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in bad.stderr, bad.stderr
        assert "install" in lines[0] or "checkpoint" in lines[0], lines[0]
    assert not (tmp_path / "x.wav").exists()
