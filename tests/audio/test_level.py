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


def test_long_loudness_matches_pyloudnorm():
    """Issue 17: audio is measured in one pass over its gating blocks (no full-length float64
    copies) and gives pyloudnorm's BS.1770-4 value: speech-like bursts with silences, mono and stereo, two rates."""
    import pyloudnorm

    from alignsts.audio import level

    rng = np.random.default_rng(7)
    for sr in (24000, 44100):
        n = sr * 40
        t = np.arange(n) / sr
        env = (np.sin(2 * np.pi * 0.3 * t) > -0.2) * (0.05 + 0.4 * (np.sin(2 * np.pi * 0.05 * t) > 0))
        mono = (env * (np.sin(2 * np.pi * 180 * t) + 0.3 * rng.standard_normal(n))).astype(np.float32)
        for wav in (mono, np.stack([mono, 0.5 * mono], axis=1)):
            want = pyloudnorm.Meter(sr).integrated_loudness(np.asarray(wav, dtype=np.float64))
            got = level.integrated_loudness(wav, sr)
            assert abs(got - want) < 1e-6, (sr, wav.ndim, got, want)
    assert level.integrated_loudness(np.zeros(24000 * 5, np.float32), 24000) == float("-inf")


def test_vocal_loudness_on_equal_channels_is_exact():
    """mix measures the vocal once and adds the channels' BS.1770 weights: the same as measuring
    it repeated on every channel (pyloudnorm), for 2 and 5 channels."""
    import pyloudnorm

    from alignsts.audio import level

    vocal = _tone(3.0, 0.3, 220.0)
    for c in (2, 5):
        want = pyloudnorm.Meter(SR).integrated_loudness(np.repeat(vocal[:, None], c, axis=1).astype(np.float64))
        got = level.integrated_loudness(vocal, SR) + level._equal_channels_db(c)
        assert abs(got - want) < 1e-6


def test_mix_with_a_delay_places_the_backing_later():
    from alignsts.audio import level

    vocal, backing = _tone(1.0, 0.3, 220.0), _tone(1.0, 0.3, 110.0)[:, None]
    out = level.mix(vocal, backing, SR, backing_delay=SR // 2)
    assert out.shape == (len(vocal) + SR // 2 - (len(vocal) - len(backing)), 1)
    tail = out[len(vocal):, 0]
    assert np.max(np.abs(tail)) > 0.01            # only the delayed backing sounds after the vocal


def test_mix_in_place_gives_the_same_mix():
    from alignsts.audio import level

    vocal = _tone(1.0, 0.3, 220.0)
    backing = np.stack([_tone(1.5, 0.3, 110.0), _tone(1.5, 0.2, 165.0)], axis=1)
    want = level.mix(vocal, backing.copy(), SR)
    owned = backing.copy()
    got = level.mix(vocal, owned, SR, in_place=True)
    assert got is owned and np.allclose(got, want, atol=1e-7)
    delayed = level.mix(vocal, backing.copy(), SR, backing_delay=100, in_place=True)   # needs a new array
    assert delayed.shape == (len(backing) + 100, 2)


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
