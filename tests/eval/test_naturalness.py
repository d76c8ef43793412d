"""Naturalness measures on synthetic signals whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.eval import naturalness as nat
from alignsts.melody.notes import Note

SR = fe.SAMPLE_RATE


def harmonic(seconds: float, f0: float = 220.0, amp: float = 0.3) -> np.ndarray:
    """A voiced, vowel-like tone (10 harmonics falling 6 dB an octave)."""
    t = np.arange(int(seconds * SR)) / SR
    return amp * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 11)) / 2.0


def noise(seconds: float, rms: float, seed: int = 0) -> np.ndarray:
    return rms * np.random.default_rng(seed).standard_normal(int(seconds * SR))


def rms(x):
    return float(np.sqrt(np.mean(np.square(x))))


def test_digital_silence_counts_zero_runs_between_sounds_only():
    tone = harmonic(0.45)
    y = np.concatenate([np.zeros(SR // 2), tone, np.zeros(SR // 10), tone, np.zeros(SR // 2)])
    share = nat.digital_silence_share(y)
    # 0.1 s of zeros inside 1.0 s of sound span; the leading and trailing zeros do not count
    assert share == pytest.approx(0.1 / 1.0, abs=0.01)
    floor = y + noise(len(y) / SR, 1e-4, seed=1)
    assert nat.digital_silence_share(floor) == 0.0
    assert nat.digital_silence_share(np.zeros(SR)) == 0.0


def test_isolated_zero_samples_are_not_silence():
    y = harmonic(1.0)
    y[::100] = 0.0                    # single zeros (e.g. zero crossings in 16-bit audio)
    assert nat.digital_silence_share(y) == 0.0


def test_a_cut_note_is_a_hard_off_and_a_release_is_not():
    tone = harmonic(0.5)
    cut = np.concatenate([tone, np.zeros(SR // 2), tone, np.zeros(SR // 4)])
    assert nat.hard_offs(cut) == 2
    decay = np.exp(-np.arange(int(0.1 * SR)) / (0.02 * SR))      # -43 dB over 100 ms: 4.3 dB / 10 ms
    released = np.concatenate([tone, harmonic(0.1) * decay, np.zeros(SR // 2)])
    released = released + noise(len(released) / SR, 1e-5)
    assert nat.hard_offs(released) == 0
    assert nat.hard_offs_per_s(cut) == pytest.approx(2 / nat.sound_span(cut)[1] * SR, rel=0.05)


def test_a_stop_closure_after_unvoiced_noise_is_not_a_note_off():
    tone = harmonic(0.5)
    burst = noise(0.05, rms(tone) * 0.5, seed=4)
    y = np.concatenate([tone, harmonic(0.1) * np.exp(-np.arange(int(0.1 * SR)) / (0.02 * SR)), burst,
                        np.zeros(SR // 4), tone, np.zeros(SR // 4)])
    assert nat.hard_offs(y) == 1                 # only the final cut of the voiced tone


@pytest.mark.parametrize("burst_db", [-12.0, 0.0])
def test_unvoiced_peak_measures_a_noise_burst_against_the_vowels(burst_db):
    vowel = harmonic(0.6)
    burst = noise(0.2, rms(vowel) * 10 ** (burst_db / 20), seed=2)
    y = np.concatenate([vowel, burst, vowel, noise(0.2, 1e-5, seed=3)])
    got = nat.unvoiced_peak_db(y)
    assert got == pytest.approx(burst_db, abs=2.0)


def test_unvoiced_note_share():
    n = 100
    voiced = np.ones(n, dtype=bool)
    voiced[10:20] = False
    dt = fe.HOP / SR
    notes = [Note(0.0, 40 * dt - 1e-9, 60)]        # frames 0..39: 10 of 40 unvoiced
    assert nat.unvoiced_note_share(voiced, notes) == pytest.approx(0.25)
    assert np.isnan(nat.unvoiced_note_share(voiced, []))


def test_frame_levels_follow_the_signal():
    y = np.concatenate([np.full(SR // 2, 0.1), np.full(SR // 2, 0.01)])
    lev = nat.frame_levels_db(y, fe.n_frames(len(y)))
    t = fe.frame_times(len(lev))
    assert np.allclose(lev[(t > 0.05) & (t < 0.45)], -20.0, atol=0.01)
    assert np.allclose(lev[(t > 0.55) & (t < 0.95)], -40.0, atol=0.01)


def test_dnsmos_prefers_a_clean_voice_to_a_noisy_one():
    pytest.importorskip("speechmos")
    pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    f0 = 150 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = 0.1 * sum(np.sin(k * phase) / k for k in range(1, 20)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t) ** 2)
    clean = nat.dnsmos_ovrl(voice)
    noisy = nat.dnsmos_ovrl(voice + 0.05 * rng.standard_normal(len(voice)))
    assert 1.0 <= noisy < clean <= 5.0
