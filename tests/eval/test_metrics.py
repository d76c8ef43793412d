"""Objective metrics: RCA, F0 RMSE, LSD, RRD, MCD and the combined score."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.eval import metrics

SR = fe.SAMPLE_RATE


@pytest.fixture(scope="module")
def melody():
    rng = np.random.default_rng(0)
    f0 = np.repeat(rng.uniform(150, 400, 20), 25)
    f0[::9] = 0.0
    return f0


@pytest.mark.filterwarnings("ignore:Estimated melody has no voiced frames")
def test_rca_identity_octave_and_semitone(melody):
    pytest.importorskip("mir_eval")
    assert metrics.rca(melody, melody) == pytest.approx(1.0)
    assert metrics.rca(melody, melody * 2) == pytest.approx(1.0)        # chroma: octave errors allowed
    half = melody.copy()
    half[: len(half) // 2] *= 2 ** (1 / 12)                            # one semitone off (> 50 cents)
    voiced = melody > 0
    expected = np.mean(np.arange(len(melody))[voiced] >= len(melody) // 2)
    assert metrics.rca(melody, half) == pytest.approx(expected, abs=0.01)
    assert metrics.rca(melody, np.zeros_like(melody)) == pytest.approx(0.0)


def test_rca_within_50_cents_counts(melody):
    pytest.importorskip("mir_eval")
    assert metrics.rca(melody, melody * 2 ** (40 / 1200)) == pytest.approx(1.0)
    assert metrics.rca(melody, melody * 2 ** (60 / 1200)) == pytest.approx(0.0)


def test_rca_of_unvoiced_reference_is_nan(melody):
    pytest.importorskip("mir_eval")
    assert np.isnan(metrics.rca(np.zeros(100), melody[:100]))


def test_rca_uses_the_shorter_length(melody):
    pytest.importorskip("mir_eval")
    assert metrics.rca(melody, np.concatenate([melody, np.full(50, 999.0)])) == pytest.approx(1.0)


def test_f0_rmse_cents(melody):
    assert metrics.f0_rmse_cents(melody, melody) == pytest.approx(0.0)
    assert metrics.f0_rmse_cents(melody, melody * 2 ** (100 / 1200)) == pytest.approx(100.0)
    assert metrics.f0_rmse_cents(melody, melody * 2) == pytest.approx(1200.0)
    assert np.isnan(metrics.f0_rmse_cents(melody, np.zeros_like(melody)))


def _tone(f0, dur=1.0, amp=0.3):
    t = np.arange(int(dur * SR)) / SR
    return (amp * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))).astype(np.float32)


def test_lsd_and_rrd():
    a = _tone(220)
    assert metrics.lsd(a, a) == pytest.approx(0.0)
    assert metrics.rrd(a, a) == pytest.approx(0.0)
    assert metrics.lsd(a, _tone(330)) > metrics.lsd(a, 0.9 * a) > 0
    # rhythm: loud/quiet pattern reversed is far, same pattern at another level is near
    env = np.repeat([0.1, 1.0, 0.1, 1.0], SR // 4).astype(np.float32)
    b = a * env
    assert metrics.rrd(b, 0.5 * b) < 0.1
    assert metrics.rrd(b, a * env[::-1]) > 5.0


def test_lsd_hand_computed():
    rng = np.random.default_rng(1)
    a = (0.1 * rng.standard_normal(SR // 2)).astype(np.float32)
    b = (0.1 * rng.standard_normal(SR // 2)).astype(np.float32)
    ma, mb = fe.stft_magnitude(a), fe.stft_magnitude(b)
    k0 = int(np.ceil(100 * 512 / SR))
    d = np.log(0.1 + ma[:, k0:]) - np.log(0.1 + mb[:, k0:])
    assert metrics.lsd(a, b) == pytest.approx(np.mean(np.sqrt(np.sum(d ** 2, axis=1))), rel=1e-5)


def test_mcd():
    a = _tone(200, dur=0.6)
    assert metrics.mcd_dtw(a, a) == pytest.approx(0.0, abs=1e-6)
    # a different timbre (brighter harmonics) is further away than a delayed copy
    t = np.arange(len(a)) / SR
    bright = (0.3 * sum(np.sin(2 * np.pi * 200 * k * t) for k in range(1, 10)) / 3).astype(np.float32)
    delayed = np.concatenate([np.zeros(SR // 10, np.float32), a])[: len(a)]
    assert metrics.mcd_dtw(a, bright) > metrics.mcd_dtw(a, delayed)


def test_score_fields():
    pytest.importorskip("mir_eval")
    a = _tone(220)
    s = metrics.score(a, a, with_mcd=False)
    assert s.rca == pytest.approx(1.0) and s.f0_rmse_cents == pytest.approx(0.0)
    assert s.lsd == pytest.approx(0.0) and s.rrd == pytest.approx(0.0) and s.mcd is None
    s2 = metrics.score(a, _tone(220 * 2 ** (3 / 12)), with_mcd=True)
    assert s2.rca < 0.1 and s2.f0_rmse_cents == pytest.approx(300, abs=5) and s2.mcd is not None


def test_score_uses_shorter_signal_and_given_ref_f0():
    pytest.importorskip("mir_eval")
    a = _tone(220, dur=1.0)
    est = _tone(220, dur=1.3)
    s = metrics.score(a, est, with_mcd=False)
    assert s.rca == pytest.approx(1.0)
    ref_f0 = np.full(fe.n_frames(len(a)), 220.0 * 2)      # a given contour replaces the tracked one
    assert metrics.score(a, est, with_mcd=False, ref_f0=ref_f0).f0_rmse_cents == pytest.approx(1200, abs=5)


def test_raw_pitch_accuracy_counts_octave_errors(melody):
    pytest.importorskip("mir_eval")
    assert metrics.raw_pitch_accuracy(melody, melody) == pytest.approx(1.0)
    assert metrics.raw_pitch_accuracy(melody, melody * 2) == pytest.approx(0.0)
    assert metrics.raw_pitch_accuracy(melody, melody * 2 ** (40 / 1200)) == pytest.approx(1.0)


def test_voicing_f1(melody):
    assert metrics.voicing_f1(melody, melody) == pytest.approx(1.0)
    assert metrics.voicing_f1(melody, np.zeros_like(melody)) == 0.0
    assert np.isnan(metrics.voicing_f1(np.zeros(10), np.zeros(10)))
    ref = np.array([0, 100, 100, 100, 0, 0], float)
    est = np.array([100, 100, 100, 0, 0, 0], float)   # precision 2/3, recall 2/3
    assert metrics.voicing_f1(ref, est) == pytest.approx(2 / 3)


def test_cosine():
    assert metrics.cosine(np.array([1.0, 0]), np.array([2.0, 0])) == pytest.approx(1.0)
    assert metrics.cosine(np.array([1.0, 0]), np.array([0, 3.0])) == pytest.approx(0.0)
