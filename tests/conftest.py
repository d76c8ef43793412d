"""Shared fixtures: project paths, the shared real-data and compat folders, tiny audio helpers.

Real speech/singing pairs are read from ``<project root>/../shared/data/sts-pairs`` and the
official front-end vectors from ``$ALIGNSTS_COMPAT_DIR`` (default ``<project root>/../shared/compat``);
tests that need them skip cleanly when the folders are absent.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STS_PAIRS_DIR = PROJECT_ROOT / ".." / "shared" / "data" / "sts-pairs"
SR = 24000


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def sts_pairs_dir() -> Path:
    if not STS_PAIRS_DIR.is_dir():
        pytest.skip(f"real speech/singing pairs not found at {STS_PAIRS_DIR}")
    return STS_PAIRS_DIR


@pytest.fixture(scope="session")
def sts_pair(sts_pairs_dir):
    """sts_pair(name) -> (speech.wav, sing.wav) of one real pair; skips when it is missing."""

    def get(name: str) -> tuple[Path, Path]:
        folder = sts_pairs_dir / name
        speech, sing = folder / "speech.wav", folder / "sing.wav"
        if not (speech.is_file() and sing.is_file()):
            pytest.skip(f"real pair {name} not found in {sts_pairs_dir}")
        return speech, sing

    return get


def compat_folder() -> Path:
    """``$ALIGNSTS_COMPAT_DIR``, default ``<project root>/../shared/compat`` (may not exist)."""
    env = os.environ.get("ALIGNSTS_COMPAT_DIR")
    return Path(env) if env else PROJECT_ROOT / ".." / "shared" / "compat"


@pytest.fixture(scope="session")
def compat_dir() -> Path:
    folder = compat_folder()
    if not folder.is_dir():
        pytest.skip(f"compat vectors folder not found at {folder}")
    return folder


@pytest.fixture(scope="session")
def compat():
    """compat(relative path) -> that file or folder of the compat fixture; skips the test when missing
    (e.g. ``compat("alignsts_small")``, ``compat("hifigan_small/vectors.npz")``)."""

    def need(relative: str) -> Path:
        path = compat_folder() / relative
        if not path.exists():
            pytest.skip(f"compat fixture not found: {path}")
        return path

    return need


@pytest.fixture(scope="session")
def compat_vectors(compat):
    """compat_vectors(relative .npz path) -> {name: array}; skips when missing."""

    def load(relative: str) -> dict[str, np.ndarray]:
        with np.load(compat(relative)) as d:
            return {k: d[k] for k in d.files}

    return load


@pytest.fixture
def write_wav():
    """write_wav(path, wav, sr=24000, subtype=None, format=None) -> path (via soundfile)."""
    import soundfile as sf

    def write(path, wav, sr: int = SR, subtype: str | None = None, format: str | None = None) -> Path:
        sf.write(str(path), np.asarray(wav), sr, subtype=subtype, format=format)
        return Path(path)

    return write


def harmonic_tone(f0: float = 220.0, dur: float = 1.0, sr: int = SR, n_harm: int = 6,
                  amp: float = 0.5) -> np.ndarray:
    """A steady harmonic tone (1/k amplitudes), float32 [dur * sr]."""
    t = np.arange(int(round(dur * sr))) / sr
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, n_harm + 1))
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


@pytest.fixture(scope="session")
def tone():
    return harmonic_tone


@pytest.fixture(scope="session")
def centroid():
    """Spectral centroid of a 24 kHz waveform [N] (in STFT bins): where formant moves show."""
    from alignsts.audio import frontend as fe

    def spectral_centroid(wav: np.ndarray) -> float:
        mag = fe.stft_magnitude(np.asarray(wav, dtype=np.float32)).sum(axis=0)
        return float((mag * np.arange(len(mag))).sum() / mag.sum())

    return spectral_centroid


@pytest.fixture(scope="session")
def demo_paths() -> tuple[Path, Path]:
    from alignsts import api

    speech, sing, _midi = api.demo_files()
    assert speech.is_file() and sing.is_file()
    return speech, sing


@pytest.fixture(scope="session")
def demo_conversion(demo_paths):
    """The bundled example converted once with default settings: (Result, speech [N], reference [M])."""
    from alignsts import api
    from alignsts.audio import io

    speech, sing = demo_paths
    result = api.convert(speech, reference=sing)
    return result, io.load(speech), io.load(sing)


@pytest.fixture
def fresh_python():
    """fresh_python(code): run ``code`` in a new interpreter of this venv (what a process imports
    from scratch); it fails the test when the code raises (an assert in it, an import error)."""
    import subprocess
    import sys

    def run(code: str) -> None:
        subprocess.run([sys.executable, "-c", code], check=True)

    return run

