"""audio.loudness: BS.1770 integrated loudness equal to pyloudnorm's, without scipy.signal."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import level, loudness

pyloudnorm = pytest.importorskip("pyloudnorm")

RATES = (8000, 16000, 22050, 24000, 44100, 48000, 96000)


def _signals(sr: int, rng) -> dict[str, np.ndarray]:
    n = int(2.3 * sr)
    t = np.arange(n) / sr
    return {
        "noise": 0.1 * rng.standard_normal(n),
        "tone with silence": 0.3 * np.sin(2 * np.pi * 997 * t) * (t < 1.5),
        "low tone": 0.5 * np.sin(2 * np.pi * 40 * t),
        "stereo": np.stack([0.2 * rng.standard_normal(n), 0.05 * np.sin(2 * np.pi * 100 * t)], axis=1),
        "5.0 surround": 0.1 * rng.standard_normal((n, 5)) * np.array([1.0, 0.5, 0.3, 0.2, 0.1]),
        "bursts": 0.2 * rng.standard_normal(n) * (np.sin(2 * np.pi * 0.7 * t) > 0.6),
    }


@pytest.mark.parametrize("sr", RATES)
def test_integrated_loudness_equals_pyloudnorm(sr):
    rng = np.random.default_rng(sr)
    for name, x in _signals(sr, rng).items():
        want = pyloudnorm.Meter(sr).integrated_loudness(x)
        got = loudness.integrated_loudness(x.astype(np.float32), sr)
        assert abs(got - want) < 0.01, (sr, name, got, want)
        assert abs(level.integrated_loudness(x, sr) - want) < 0.01, (sr, name)


def test_filter_coefficients_equal_pyloudnorm():
    from pyloudnorm.iirfilter import IIRfilter

    for sr in RATES:
        sos = loudness.k_weighting(float(sr))
        shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sr, "high_shelf")
        high_pass = IIRfilter(0.0, 0.5, 38.0, sr, "high_pass")
        np.testing.assert_allclose(sos[0], np.concatenate([shelf.b, shelf.a]), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(sos[1], np.concatenate([high_pass.b, high_pass.a]), rtol=1e-12, atol=1e-12)


def test_gates_and_levels():
    sr = 24000
    rng = np.random.default_rng(1)
    x = rng.standard_normal(3 * sr)
    quiet = 1e-4 * x                                   # -80 dBFS: below the absolute gate
    assert loudness.integrated_loudness(quiet, sr) == float("-inf")
    assert loudness.integrated_loudness(np.zeros(sr), sr) == float("-inf")
    a = loudness.integrated_loudness(0.1 * x, sr)
    b = loudness.integrated_loudness(0.2 * x, sr)
    assert b - a == pytest.approx(20 * np.log10(2), abs=1e-6)   # loudness follows gain exactly
    # a long quiet stretch is gated out: only the blocks across the boundary lower the loudness
    padded = np.concatenate([0.1 * x, 1e-5 * x, 1e-5 * x])
    got = loudness.integrated_loudness(padded, sr)
    assert a - 1.0 < got < a
    assert got == pytest.approx(pyloudnorm.Meter(sr).integrated_loudness(padded), abs=0.01)
    plain_mean = -0.691 + 10 * np.log10(np.mean(padded ** 2))   # ungated it would be ~5 LU lower
    assert got > plain_mean + 3.0


def test_normalize_reaches_the_target():
    sr = 24000
    x = (0.05 * np.random.default_rng(2).standard_normal(2 * sr)).astype(np.float32)
    y, _ = level.normalize(x, sr, target_lufs=-20.0)
    assert pyloudnorm.Meter(sr).integrated_loudness(y.astype(np.float64)) == pytest.approx(-20.0, abs=0.01)


def test_importing_level_and_measuring_needs_no_scipy_signal_nor_numba(fresh_python):
    code = ("import sys, numpy as np\n"
            "from alignsts.audio import level\n"
            "level.normalize(np.random.default_rng(0).standard_normal(24000).astype('float32') * 0.1, 24000)\n"
            "bad = [m for m in ('scipy.signal', 'pyloudnorm', 'numba') if m in sys.modules]\n"
            "assert not bad, bad\n")
    fresh_python(code)


@pytest.mark.parametrize("sr", (8000, 24000, 44100, 192000))
def test_fft_convolution_equals_the_recursive_filter_to_rounding(sr):
    """float64 input: the block-wise FFT convolution gives pyloudnorm's (lfilter's) loudness to 1e-9 LU,
    across block boundaries (a signal longer than one convolution block)."""
    rng = np.random.default_rng(sr)
    n = loudness.MIN_FFT + int(1.3 * sr)
    x = 0.1 * rng.standard_normal((n, 2)) * np.linspace(0.05, 1.0, n)[:, None]
    assert loudness.integrated_loudness(x, sr) == pytest.approx(pyloudnorm.Meter(sr).integrated_loudness(x), abs=1e-9)


def test_impulse_response_has_decayed():
    for sr in RATES + (192000,):
        h = loudness.k_impulse_response(float(sr))
        assert np.max(np.abs(h[-len(h) // 8:])) < 1e-13 * np.max(np.abs(h))
