"""Expressive F0 from notes: overshoot, preparation, vibrato, fluctuation, rests, determinism."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.melody import notes as nt
from alignsts.melody.expression import ExpressionConfig, expressive_f0, vibrato

DT = fe.HOP / fe.SAMPLE_RATE
N = int(2.4 / DT)
T = fe.frame_times(N)
STEP_AT = 0.8
# a rest, then two notes a major third apart (upward step at 0.8 s), then a rest
TWO = [nt.Note(0.2, STEP_AT, 60), nt.Note(STEP_AT, 2.0, 64)]


def _cents(f0):
    return np.where(f0 > 0, 1200.0 * np.log2(np.maximum(f0, 1e-9) / 440.0) + 6900.0, np.nan)


def _plain(**kw):
    """Overshoot and preparation only (no vibrato, no random drift)."""
    return ExpressionConfig(expression=True, vibrato_depth=0.0, fluctuation_cents=0.0, **kw)


def _window(c, a, b):
    return c[(T >= a) & (T < b)]


def test_overshoot_after_an_upward_step():
    c = _cents(expressive_f0(TWO, N, _plain()))
    after = _window(c, STEP_AT, STEP_AT + 0.3)
    assert np.nanmax(after) - 6400 > 10.0
    # it settles on the note
    assert abs(np.nanmedian(_window(c, 1.4, 1.9)) - 6400) < 2.0
    # without the overshoot system the contour does not go past the target
    c0 = _cents(expressive_f0(TWO, N, _plain(overshoot=False)))
    assert np.nanmax(_window(c0, STEP_AT, 2.0)) - 6400 < 1.0


def test_overshoot_below_after_a_downward_step():
    down = [nt.Note(0.2, STEP_AT, 64), nt.Note(STEP_AT, 2.0, 60)]
    c = _cents(expressive_f0(down, N, _plain()))
    assert 6000 - np.nanmin(_window(c, STEP_AT, STEP_AT + 0.3)) > 10.0


def test_preparation_dip_before_an_upward_step():
    c = _cents(expressive_f0(TWO, N, _plain()))
    before = _window(c, STEP_AT - 0.25, STEP_AT)
    assert 6000 - np.nanmin(before) > 5.0               # dips below the first note ...
    assert np.nanargmin(before) < len(before) - 1       # ... before the rise starts
    c0 = _cents(expressive_f0(TWO, N, _plain(preparation=False)))
    assert np.nanmin(_window(c0, 0.2, STEP_AT)) > 6000 - 0.5


def _vibrato_fit(c, a, b):
    """Dominant modulation frequency (Hz) and its amplitude (cents) in [a, b)."""
    seg = _window(c, a, b)
    seg = seg - np.polyval(np.polyfit(np.arange(len(seg)), seg, 1), np.arange(len(seg)))
    nfft = 8192
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), nfft))
    freqs = np.fft.rfftfreq(nfft, DT)
    band = freqs > 2.0
    peak = float(freqs[band][np.argmax(spec[band])])
    tt = np.arange(len(seg)) * DT
    basis = np.stack([np.sin(2 * np.pi * peak * tt), np.cos(2 * np.pi * peak * tt)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, seg, rcond=None)
    return peak, float(np.hypot(*coef)), float(np.std(seg))


@pytest.mark.parametrize("rate,depth", [(6.0, 45.0), (5.0, 30.0)])
def test_vibrato_on_a_long_note(rate, depth):
    cfg = ExpressionConfig(expression=True, vibrato_rate=rate, vibrato_depth=depth, fluctuation_cents=0.0,
                           vibrato_rate_spread=0.0, vibrato_depth_spread=0.0, vibrato_delay_spread_ms=0.0)
    c = _cents(expressive_f0(TWO, N, cfg))
    # fully ramped in from onset + delay + ramp (0.5 s) until the fade at the end
    peak, amp, _ = _vibrato_fit(c, STEP_AT + 0.5, 2.0 - 0.06)
    assert abs(peak - rate) < 0.4
    assert 0.75 * depth < amp < 1.25 * depth
    # it starts late: the first 250 ms of the note carry no vibrato (only the step response)
    _, _, early = _vibrato_fit(c, STEP_AT + 0.15, STEP_AT + 0.25)
    assert early < 3.0


def test_vibrato_with_default_drift_stays_in_singers_ranges():
    # defaults: each note's rate within 5.0-6.5 Hz, depth within 40-80 cents, despite the drift
    c = _cents(expressive_f0(TWO, N, ExpressionConfig(expression=True)))
    peak, amp, _ = _vibrato_fit(c, STEP_AT + 0.55, 2.0 - 0.06)
    assert 4.8 < peak < 6.7
    assert 0.8 * 40 < amp < 1.2 * 80


def test_vibrato_varies_from_note_to_note_within_the_ranges():
    from alignsts.melody.expression import vibrato_params

    notes = [nt.Note(1.0 * k, 1.0 * k + 0.9, 60 + k % 3) for k in range(40)]
    p = vibrato_params(notes, ExpressionConfig())
    rate, depth, delay = p[:, 0], p[:, 1], p[:, 2]
    assert np.all((rate >= 5.0 - 1e-9) & (rate <= 6.5 + 1e-9)) and np.ptp(rate) > 0.8
    assert np.all((depth >= 40.0 - 1e-9) & (depth <= 80.0 + 1e-9)) and np.ptp(depth) > 20.0
    assert np.all((delay >= 0.15 - 1e-9) & (delay <= 0.35 + 1e-9)) and np.ptp(delay) > 0.1
    np.testing.assert_array_equal(p, vibrato_params(notes, ExpressionConfig()))        # deterministic
    assert not np.array_equal(p, vibrato_params(notes, ExpressionConfig(seed=1)))
    # the rendered vibrato of each note runs at that note's rate
    n = int(40.0 / DT)
    c = vibrato(notes, n, ExpressionConfig())
    t = fe.frame_times(n)
    for k in (int(np.argmin(rate)), int(np.argmax(rate))):
        seg = c[(t >= k + 0.45) & (t < k + 0.85)]
        spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), 8192))
        freqs = np.fft.rfftfreq(8192, DT)
        assert abs(freqs[np.argmax(spec)] - rate[k]) < 0.6


def test_no_vibrato_on_a_short_note():
    short = [nt.Note(0.2, 0.55, 62)]          # 350 ms < vibrato_min_note_ms (400)
    cfg = ExpressionConfig(expression=True, fluctuation_cents=0.0)
    c = _cents(expressive_f0(short, N, cfg))
    assert np.nanmax(np.abs(_window(c, 0.2, 0.55) - 6200)) < 1.0
    assert not np.any(vibrato(short, N, cfg))
    long = [nt.Note(0.2, 0.8, 62)]
    assert np.max(np.abs(vibrato(long, N, cfg))) > 30.0


def test_zero_in_rests_and_voiced_in_notes():
    notes = [nt.Note(0.2, 0.7, 60), nt.Note(1.0, 1.6, 67)]
    for cfg in (ExpressionConfig(), ExpressionConfig(expression=False)):
        f0 = expressive_f0(notes, N, cfg)
        inside = ((T >= 0.2) & (T < 0.7)) | ((T >= 1.0) & (T < 1.6))
        assert np.all(f0[~inside] == 0.0)
        assert np.all(f0[inside] > 0.0) and np.all(np.isfinite(f0))
    assert not np.any(expressive_f0([], N))


def test_deterministic_for_a_seed():
    a = expressive_f0(TWO, N, ExpressionConfig(seed=3))
    b = expressive_f0(TWO, N, ExpressionConfig(seed=3))
    np.testing.assert_array_equal(a, b)
    c = expressive_f0(TWO, N, ExpressionConfig(seed=4))
    assert not np.array_equal(a, c)
    # the drift is slow and small: a few cents, not a different note (each seed also draws
    # its own vibrato, so compare without it)
    a0 = expressive_f0(TWO, N, ExpressionConfig(seed=3, vibrato_depth=0.0))
    c0 = expressive_f0(TWO, N, ExpressionConfig(seed=4, vibrato_depth=0.0))
    assert np.nanmax(np.abs(_cents(a0) - _cents(c0))) < 60.0


def test_expression_off_gives_flat_notes():
    notes = [nt.Note(0.2, 0.6, 60), nt.Note(0.6, 1.4, 64), nt.Note(1.6, 2.0, 55)]
    flat = expressive_f0(notes, N, ExpressionConfig(expression=False))
    np.testing.assert_allclose(flat, nt.notes_to_f0(notes, N))
    assert not np.allclose(expressive_f0(notes, N, ExpressionConfig()), flat)


def test_short_notes_get_proportionally_less_overshoot():
    from alignsts.melody.expression import ExpressionConfig, expressive_f0, note_steps_cents
    from alignsts.melody.notes import Note, hz_to_midi

    notes = [Note(0.15 * k, 0.15 * (k + 1), 60 + 7 * (k % 2)) for k in range(8)]    # 150 ms leaps of a fifth
    n = int(1.3 * 24000 / 128)
    steps, inside = note_steps_cents(notes, n)

    def deviation(full_ms):
        cfg = ExpressionConfig(fluctuation_cents=0.0, vibrato_depth=0.0, full_dynamics_ms=full_ms)
        f0 = expressive_f0(notes, n, cfg)
        return np.abs(100 * hz_to_midi(f0[inside]) - steps[inside])

    full, scaled = deviation(0.0), deviation(400.0)
    assert full.max() > 100                                    # the dynamics are there ...
    np.testing.assert_allclose(scaled, full * 150 / 400, atol=1e-6)   # ... scaled by 150/400
