"""`alignsts range` and convert's --range / --voice, through the CLI and the API."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from alignsts import api
from alignsts.errors import InvalidValueError
from alignsts.melody import key
from test_cli import assert_one_line_error, run

SR = 24000


def _sung_scale(path, midi_lo=48, midi_hi=60, seconds=4.0):
    """A sung-like glide (harmonic tone) from midi_lo to midi_hi, written as a wav."""
    t = np.arange(int(seconds * SR)) / SR
    hz = 440.0 * 2 ** ((np.linspace(midi_lo, midi_hi, len(t)) - 69) / 12)
    phase = 2 * np.pi * np.cumsum(hz) / SR
    y = sum(0.3 / k * np.sin(k * phase) for k in range(1, 8))
    sf.write(str(path), (0.5 * y / np.max(np.abs(y))).astype(np.float32), SR)
    return path


def test_range_command_measures_and_prints_the_option(tmp_path):
    wav = _sung_scale(tmp_path / "scale.wav")
    proc = run(["range", wav], tmp_path)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("--range ")
    r = key.parse_range(last.split()[1])
    assert 47 <= r.low <= 50 and 58 <= r.high <= 61      # C3..C4 sung: its 5th-95th percentiles
    quiet = run(["range", wav, "-q"], tmp_path)
    assert quiet.stdout.strip() == last                   # -q: only the option


def test_range_command_errors_are_one_line(tmp_path):
    assert_one_line_error(run(["range", tmp_path / "missing.wav"], tmp_path))
    sf.write(str(tmp_path / "silence.wav"), np.zeros(SR, np.float32), SR)
    proc = run(["range", tmp_path / "silence.wav"], tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc)


@pytest.mark.parametrize("opts, needle", [(["--range", "E4-A2"], "range"), (["--voice", "castrato"], "voice"),
                                          (["--range", "A2-E4", "--voice", "bass"], "not allowed")])
def test_convert_rejects_bad_range_options(tmp_path, demo_paths, opts, needle):
    speech, sing = demo_paths
    proc = run(["convert", speech, "-r", sing, "-o", tmp_path / "o.wav", *opts], tmp_path)
    assert proc.returncode == 2 and not (tmp_path / "o.wav").exists()
    assert_one_line_error(proc, needle)


def test_api_range_and_voice_reach_the_key_decision(demo_paths):
    speech, sing = demo_paths
    from alignsts.engines.reference import ReferenceConfig

    cfg = ReferenceConfig(speaker_embedding="none")
    result = api.convert(speech, reference=sing, voice="soprano", config=cfg)
    k = result.analysis.key
    assert k.user_range == "C4-C6 (soprano)" and "your range C4-C6 (soprano)" in k.reason
    # the demo is sung around F3: a soprano sings it one octave up (the nearest octave that fits)
    assert result.analysis.transpose == 12
    with pytest.raises(InvalidValueError, match="not both"):
        api.convert(speech, reference=sing, voice="bass", range="A2-E4")
    with pytest.raises(InvalidValueError, match="voice"):
        api.convert(speech, reference=sing, voice="A2-E4")
