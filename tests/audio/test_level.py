"""Output level: loudness normalisation with a peak ceiling, and the vocal over a backing track."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import level

SR = 24000


def _tone(seconds: float, amp: float, hz: float = 220.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("amp", [0.001, 0.05, 0.9])
def test_normalize_reaches_the_target_loudness(amp):
    y, gain = level.normalize(_tone(2.0, amp), SR)
    assert level.integrated_loudness(y, SR) == pytest.approx(level.TARGET_LUFS, abs=0.1)
    assert level.peak_dbfs(y) <= level.PEAK_DBFS + 1e-4
    assert gain == pytest.approx(20 * np.log10(np.max(np.abs(y)) / amp), abs=0.01)


def test_normalize_caps_the_peak_instead_of_clipping():
    x = _tone(2.0, 0.01)
    x[SR] = 0.5                      # one click: reaching -16 LUFS would push it past full scale
    y, _ = level.normalize(x, SR)
    assert level.peak_dbfs(y) == pytest.approx(level.PEAK_DBFS, abs=1e-3)
    assert level.integrated_loudness(y, SR) < level.TARGET_LUFS


def test_normalize_short_and_silent_audio():
    y, _ = level.normalize(_tone(0.2, 0.1), SR)          # no BS.1770 block: peak-normalised
    assert level.peak_dbfs(y) == pytest.approx(level.PEAK_DBFS, abs=1e-3)
    silent = np.zeros(SR, dtype=np.float32)
    y, gain = level.normalize(silent, SR)
    assert gain == 0 and not y.any()


def test_mix_is_time_locked_balanced_and_never_clips():
    vocal = _tone(1.0, 0.5, 440.0)
    backing = np.stack([_tone(3.0, 0.9, 110.0), _tone(3.0, 0.9, 165.0)], axis=1)   # stereo, longer
    out = level.mix(vocal, backing, SR)
    assert out.shape == (3 * SR, 2)
    assert np.max(np.abs(out)) <= level.db_to_gain(level.PEAK_DBFS) + 1e-6
    # the backing sits 3 LU under the vocal: measure both parts in the mix
    scale = np.max(np.abs(out[SR:, 0])) / 0.9           # backing gain (the vocal has ended)
    v = out[:SR] - backing[:SR] * scale                  # the vocal, on both channels
    assert np.allclose(v[:, 0], v[:, 1], atol=1e-6)
    assert level.integrated_loudness(v, SR) - level.integrated_loudness(backing * scale, SR) == \
        pytest.approx(level.VOCAL_OVER_BACKING_LU, abs=0.1)
    # sample 0 on sample 0: the vocal's first sample is in the mix's first sample
    mono = level.mix(vocal, _tone(0.5, 0.1, 110.0)[:, None], SR)
    assert mono.shape == (SR, 1)
    assert np.argmax(np.abs(mono[:, 0] - 0) > 1e-3) == np.argmax(np.abs(vocal) > 1e-3)


def test_reference_target_is_the_reference_loudness_and_minus_16_without_one():
    ref = _tone(2.0, 0.03)
    assert level.reference_target(ref, SR) == pytest.approx(level.integrated_loudness(ref, SR), abs=1e-9)
    assert level.reference_target(ref * 0.1, SR) == pytest.approx(level.integrated_loudness(ref, SR) - 20, abs=0.01)
    assert level.reference_target(np.zeros(SR, np.float32), SR) == level.TARGET_LUFS    # silent
    assert level.reference_target(_tone(0.2, 0.1), SR) == level.TARGET_LUFS             # no 400 ms block


def test_backing_target_leaves_the_backing_at_its_level_in_the_mix():
    backing = np.stack([_tone(3.0, 0.05, 110.0), _tone(3.0, 0.05, 165.0)], axis=1)
    vocal, _ = level.normalize(_tone(1.0, 0.5, 440.0), SR, target_lufs=level.backing_target(backing, SR))
    out = level.mix(vocal, backing, SR)
    assert np.allclose(out[SR:], backing[SR:], atol=1e-4)          # backing gain 1: its own level
    mono = backing[:, :1]
    assert level.backing_target(mono, SR) == pytest.approx(level.integrated_loudness(mono, SR) + 3.0, abs=1e-6)
