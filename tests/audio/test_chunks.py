"""Piecewise analysis and synthesis of long inputs (audio.chunks)."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import chunks
from alignsts.audio import frontend as fe
from alignsts.audio import world

SR = fe.SAMPLE_RATE
SMALL = chunks.PieceConfig(piece_s=2.0, analysis_s=1.0, analysis_margin_s=0.25)


def _frame_rms(seg: np.ndarray, n: int) -> np.ndarray:
    """A per-frame feature that only looks at its own frame's samples: [n]."""
    return np.sqrt(np.mean(fe.stft_magnitude(seg)[:n] ** 2, axis=1))


def test_framewise_equals_whole_for_a_local_feature():
    x = np.random.default_rng(0).standard_normal(5 * SR).astype(np.float32)
    ticks = []
    whole = _frame_rms(x, fe.n_frames(len(x)))
    parts = chunks.framewise(x, _frame_rms, cfg=SMALL, tick=ticks.append)
    assert parts.shape == whole.shape
    np.testing.assert_allclose(parts, whole, rtol=1e-5)
    assert len(ticks) >= 5 and ticks[-1] == 1.0


def test_framewise_short_input_is_one_call():
    calls = []
    x = np.zeros(SR // 2, np.float32)
    chunks.framewise(x, lambda seg, n: calls.append(len(seg)) or np.zeros(n), cfg=SMALL)
    assert calls == [len(x)]


def test_framewise_keep_peak_shows_every_window_the_global_peak():
    x = np.full(5 * SR, 0.01, np.float32)
    x[SR // 3] = 0.9
    seen = []

    def peak(seg, n):
        seen.append(float(np.max(np.abs(seg))))
        return np.zeros(n)

    chunks.framewise(x, peak, cfg=SMALL, keep_peak=True)
    assert len(seen) > 3 and min(seen) == pytest.approx(0.9)
    seen.clear()
    chunks.framewise(x, peak, cfg=SMALL)
    assert min(seen) == pytest.approx(0.01)


def test_spectral_stats_and_mel_energy_equal_the_whole():
    x = np.random.default_rng(1).standard_normal(3 * SR).astype(np.float32)
    mag = fe.stft_magnitude(x)
    energy, ceps = chunks.spectral_stats(x, block=100)
    np.testing.assert_allclose(energy, fe.frame_energy_db(mag), atol=1e-4)
    np.testing.assert_allclose(ceps, fe.cepstra(mag), atol=1e-4)
    np.testing.assert_allclose(chunks.mel_energy(x, block=77), fe.mel_energy(fe.log_mel(x)), rtol=1e-5)
    # one STFT pass for both (the reference engine's alignment statistics and loudness)
    e2, c2, mel = chunks.spectral_stats_and_mel_energy(x, block=100)
    np.testing.assert_array_equal(e2, energy)
    np.testing.assert_array_equal(c2, ceps)
    np.testing.assert_array_equal(mel, chunks.mel_energy(x, block=100))


def test_apply_frame_gain_in_place_matches_interpolation():
    x = np.ones(10_000, np.float32)
    gain = np.linspace(0.0, 2.0, fe.n_frames(len(x)))
    chunks.apply_frame_gain(x, gain, block=999)
    expect = np.interp(np.arange(len(x)), np.arange(len(gain)) * fe.HOP, gain)
    np.testing.assert_allclose(x, expect, rtol=1e-6)


def test_plan_pieces_stays_whole_when_short_and_joins_at_the_cheapest_frame():
    piece = 1000
    assert chunks.plan_pieces(1400, piece) == [0, 1400]
    m = 10_000
    cost = np.ones(m)
    cost[[1100, 2300]] = 0.0       # quiet frames within +-25 % of a nominal join
    bounds = chunks.plan_pieces(m, piece, cost)
    assert bounds[0] == 0 and bounds[-1] == m
    assert bounds[1:3] == [1100, 2300]
    lengths = np.diff(bounds)
    assert lengths[:-1].min() >= 750 and lengths[:-1].max() <= 1250
    assert 500 <= lengths[-1] <= 1500


def test_join_cost_prefers_pauses_then_unvoiced():
    energy = np.array([-20.0] * 30 + [-60.0] * 30 + [-20.0] * 30)
    voiced = np.array([True] * 30 + [False] * 30 + [True] * 30)
    cost = chunks.join_cost(energy, voiced)
    assert 30 < np.argmin(cost) < 60
    assert cost[45] < cost[15] - 50


def _held_vowel(seconds: float, rng_seed: int = 0):
    """A long voiced F0 with vibrato [T] and a fixed formant-like envelope, fully periodic."""
    m = int(seconds * SR / fe.HOP)
    t = np.arange(m) * fe.HOP / SR
    f0 = 220.0 * 2 ** (0.5 * np.sin(2 * np.pi * 5.5 * t) / 12) * 2 ** (np.sin(2 * np.pi * 0.3 * t) / 12)
    k = world.fft_size() // 2 + 1
    freqs = np.arange(k) * SR / world.fft_size()
    env = 1e-4 * (np.exp(-((freqs - 700) / 300) ** 2) + 0.5 * np.exp(-((freqs - 1200) / 400) ** 2) + 1e-3)
    return f0, np.tile(env, (m, 1)), np.full((m, k), 1e-3)


def test_pieces_keep_the_pulse_phase_inside_a_held_vowel():
    f0, sp, ap = _held_vowel(3.0)
    m = len(f0)
    n = m * fe.HOP
    whole = world.synthesize(world.WorldFeatures(f0, sp, ap), n_samples=n)
    bounds = [0, m // 3, 2 * m // 3, m]           # joins in the middle of the vowel
    pieces = chunks.synthesize_in_pieces(f0, n, lambda a, b: (sp[a:b], ap[a:b]), bounds)
    assert pieces.dtype == np.float32 and len(pieces) == n
    err = 10 * np.log10(np.sum((pieces - whole) ** 2) / np.sum(whole ** 2))
    assert err < -40.0
    # around each join the signal is whole too (no click, no dip from cancelling pulses)
    for b in bounds[1:-1]:
        s = slice((b - 16) * fe.HOP, (b + 16) * fe.HOP)
        local = 10 * np.log10(np.sum((pieces[s] - whole[s]) ** 2) / np.sum(whole[s] ** 2))
        assert local < -35.0


def test_world_phase_prediction_matches_a_piece_started_there():
    """A piece started where the predicted phase is far from 0 must NOT line up (the test can fail)."""
    f0, sp, ap = _held_vowel(2.0)
    m = len(f0)
    n = m * fe.HOP
    whole = world.synthesize(world.WorldFeatures(f0, sp, ap), n_samples=n)
    frames = np.arange(150, 200)
    phase = chunks.world_phase_before_frames(f0, n, frames)
    err = np.minimum(phase, 2 * np.pi - phase)
    good, bad = int(frames[np.argmin(err)]), int(frames[np.argmax(err)])

    def mismatch(start):
        piece = world.synthesize(world.WorldFeatures(f0[start:], sp[start:], ap[start:]), n_samples=n - start * fe.HOP)
        s = slice((start + 20) * fe.HOP, (start + 60) * fe.HOP)
        d = piece[s.start - start * fe.HOP: s.stop - start * fe.HOP] - whole[s]
        return 10 * np.log10(np.sum(d ** 2) / np.sum(whole[s] ** 2))

    assert mismatch(good) < -15.0      # within PHASE_SEARCH: a fraction of a sample off
    assert mismatch(bad) > -3.0


def test_one_piece_is_exactly_world_synthesis():
    f0, sp, ap = _held_vowel(1.0)
    n = len(f0) * fe.HOP + 57
    whole = world.synthesize(world.WorldFeatures(f0, sp, ap), n_samples=n)
    one = chunks.synthesize_in_pieces(f0, n, lambda a, b: (sp[a:b], ap[a:b]), [0, len(f0)])
    np.testing.assert_array_equal(one, whole)
