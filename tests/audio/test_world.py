"""WORLD helpers: formant warping of envelopes and of audio, the formant-factor check."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.audio import world
from alignsts.errors import AlignSTSError

SR = fe.SAMPLE_RATE


def _peaked(k: int, centre_hz: float, width_hz: float = 120.0) -> np.ndarray:
    """One frame [k] over 0..12 kHz: a single resonance at ``centre_hz`` on a flat floor."""
    f = np.arange(k) * (SR / 2) / (k - 1)
    return np.exp(4.0 * np.exp(-0.5 * ((f - centre_hz) / width_hz) ** 2))


def _peak_hz(frame: np.ndarray) -> float:
    return float(np.argmax(frame) * (SR / 2) / (len(frame) - 1))


@pytest.mark.parametrize("factor", [0.8, 0.9, 1.1, 1.25])
def test_warp_moves_a_formant_peak_by_the_factor(factor):
    k = 513
    sp = np.tile(_peaked(k, 1000.0), (3, 1))
    out = world.warp_formants(sp, factor)
    assert out.shape == sp.shape
    bin_hz = (SR / 2) / (k - 1)
    assert _peak_hz(out[0]) == pytest.approx(1000.0 * factor, abs=bin_hz)
    assert out[0].max() == pytest.approx(sp[0].max(), rel=0.02)   # the peak keeps its height


def test_warp_by_one_is_a_copy_and_edges_hold():
    sp = np.exp(np.random.default_rng(0).standard_normal((4, 65)))
    same = world.warp_formants(sp, 1.0)
    np.testing.assert_allclose(same, sp)
    assert same is not sp
    low = world.warp_formants(sp, 0.8)   # the top bins read from beyond Nyquist: they hold the last one
    np.testing.assert_allclose(low[:, -1], sp[:, -1])
    assert np.all(np.isfinite(low)) and np.all(low > 0)


def test_shift_formants_moves_the_formant_of_real_audio_and_keeps_pitch():
    n = fe.n_frames(SR)
    k = world.fft_size() // 2 + 1
    f0 = np.full(n, 140.0)
    sp = np.tile(_peaked(k, 900.0, 150.0), (n, 1)) * 1e-4
    wav = world.synthesize(world.WorldFeatures(f0, sp, np.full((n, k), 0.02)), n_samples=SR)
    up = world.shift_formants(wav, 1.2, f0=f0)
    assert len(up) == len(wav)
    env = world.analyze(up, f0=f0).sp[n // 4: 3 * n // 4].mean(axis=0)
    assert _peak_hz(env) == pytest.approx(900.0 * 1.2, rel=0.08)
    f0_out = world.analyze(up).f0
    assert np.mean(f0_out > 0) > 0.8 and np.median(f0_out[f0_out > 0]) == pytest.approx(140.0, rel=0.02)
    assert world.shift_formants(wav, 1.0) is not None


@pytest.mark.parametrize("bad", [0.5, 1.5, "x", None])
def test_check_formant(bad):
    assert world.check_formant("1.1") == 1.1
    assert world.check_formant(world.FORMANT_RANGE[0]) == world.FORMANT_RANGE[0]
    with pytest.raises(AlignSTSError, match="formant"):
        world.check_formant(bad)
