"""Expressive F0 from notes, after Saitou et al. (2007), "Speech-to-singing synthesis".

The note steps (in cents) are passed through second-order systems: forward in time for
overshoot after a note change, backward in time for the preparation dip before it; then
vibrato with a delayed, ramped onset and a slow random fine fluctuation are added.

Vibrato is sung only on notes long enough to carry it, and like a singer's it is not the same
on every note: each note draws its rate, depth and onset delay around the configured values
(within ``vibrato_rate_spread`` Hz, ``vibrato_depth_spread`` of the depth and
``vibrato_delay_spread_ms``), deterministically from ``seed`` and the note's position. The
defaults sit in the ranges measured on singers (rate about 5-6.5 Hz, depth 40-80 cents, onset
a few hundred ms into the note).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from ..audio import frontend as fe
from .notes import Note, midi_to_hz
from ..validate import VIBRATO_DEPTH_RANGE, VIBRATO_RATE_RANGE, Range

# Saitou et al. 2007, table 1 (natural frequency in rad/ms, damping ratio)
OVERSHOOT = (0.0348, 0.5422)
PREPARATION = (0.0292, 0.6681)


@dataclass
class ExpressionConfig:
    expression: bool = True         # False: flat notes
    overshoot: bool = True
    preparation: bool = True
    vibrato_depth: Annotated[float, Range(*VIBRATO_DEPTH_RANGE)] = 60.0     # cents (peak), the notes' median
    vibrato_rate: Annotated[float, Range(*VIBRATO_RATE_RANGE)] = 5.75      # Hz, the notes' median
    vibrato_rate_spread: Annotated[float, Range(0, 5)] = 0.75      # each note's rate within rate +- this (Hz)
    vibrato_depth_spread: Annotated[float, Range(0, 1)] = 0.33     # each note's depth within depth * (1 +- this)
    vibrato_delay_ms: Annotated[float, Range(0, 10000)] = 250.0  # from the note onset
    vibrato_delay_spread_ms: Annotated[float, Range(0, 10000)] = 100.0   # each note's delay within delay +- this
    vibrato_ramp_ms: Annotated[float, Range(1, 10000)] = 250.0
    vibrato_min_note_ms: Annotated[float, Range(0, 10000)] = 400.0
    fluctuation_cents: Annotated[float, Range(0, 100)] = 8.0  # std of the slow random drift
    fluctuation_hz: Annotated[float, Range(0.1, 90)] = 8.0     # its bandwidth
    full_dynamics_ms: Annotated[float, Range(0, 10000)] = 400.0  # shorter notes: proportionally less preparation/overshoot
    seed: Annotated[int, Range(0, 2**32 - 1)] = 0


def _second_order(x: np.ndarray, omega_rad_per_ms: float, zeta: float) -> np.ndarray:
    """Unit-gain response of k / (s^2 + 2 zeta w s + w^2) to x [T], frame rate of the front-end."""
    from ..audio.dsp import bilinear, lfilter, lfilter_zi

    w = omega_rad_per_ms * 1000.0     # rad/s
    b, a = bilinear([w * w], [1.0, 2.0 * zeta * w, w * w], fs=fe.SAMPLE_RATE / fe.HOP)
    y, _ = lfilter(b, a, x, zi=lfilter_zi(b, a) * (x[0] if len(x) else 0.0))
    return y


def _frames_of(t: np.ndarray, note: Note) -> slice:
    """The frames whose time t [n] (sorted) lies in [onset, offset): the same frames as the mask
    (t >= onset) & (t < offset), found in O(log n) so long scores stay linear."""
    return slice(int(np.searchsorted(t, note.onset, side="left")), int(np.searchsorted(t, note.offset, side="left")))


def note_steps_cents(notes: list[Note], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Step contour in cents (held through rests) and the in-note mask: -> [n], bool [n]."""
    t = fe.frame_times(n)
    cents = np.full(n, np.nan)
    inside = np.zeros(n, dtype=bool)
    for x in notes:
        sel = _frames_of(t, x)
        cents[sel] = 100.0 * x.pitch
        inside[sel] = True
    if not inside.any():
        return np.zeros(n), inside
    # hold the previous note through rests (the filters then glide across short rests)
    idx = np.where(~np.isnan(cents), np.arange(n), -1)
    idx = np.maximum.accumulate(idx)
    first = np.flatnonzero(~np.isnan(cents))[0]
    idx[idx < 0] = first
    return cents[idx], inside


def dynamics_weight(notes: list[Note], n: int, full_ms: float) -> np.ndarray:
    """Per frame [n]: min(1, note length / ``full_ms``) inside notes, 1 elsewhere."""
    w = np.ones(n)
    if full_ms <= 0:
        return w
    t = fe.frame_times(n)
    for x in notes:
        w[(t >= x.onset) & (t < x.offset)] = min(1.0, 1000.0 * x.duration / full_ms)
    return w


def vibrato_params(notes: list[Note], cfg: ExpressionConfig) -> np.ndarray:
    """Each note's vibrato (rate Hz, depth cents, delay s): [len(notes), 3], drawn uniformly
    within the configured spreads, the same for the same seed and notes."""
    rng = np.random.default_rng([cfg.seed, 0x5157])
    u = rng.uniform(-1.0, 1.0, size=(len(notes), 3))
    rate = np.maximum(cfg.vibrato_rate + cfg.vibrato_rate_spread * u[:, 0], 0.0)
    depth = cfg.vibrato_depth * (1.0 + cfg.vibrato_depth_spread * u[:, 1])
    delay = np.maximum(cfg.vibrato_delay_ms + cfg.vibrato_delay_spread_ms * u[:, 2], 0.0) / 1000.0
    return np.stack([rate, depth, delay], axis=1)


def vibrato(notes: list[Note], n: int, cfg: ExpressionConfig) -> np.ndarray:
    """Vibrato in cents [n] on notes of at least ``vibrato_min_note_ms``: each note's own rate,
    depth and delay (vibrato_params), ramped in after the delay, faded at the end."""
    t = fe.frame_times(n)
    out = np.zeros(n)
    if cfg.vibrato_depth <= 0:
        return out
    params = vibrato_params(notes, cfg)
    for x, (rate, depth, delay) in zip(notes, params):
        if x.duration * 1000 < cfg.vibrato_min_note_ms:
            continue
        sel = _frames_of(t, x)
        local = t[sel] - x.onset
        ramp = np.clip((local - delay) / (cfg.vibrato_ramp_ms / 1000), 0, 1)
        fade = np.clip((x.offset - t[sel]) / 0.05, 0, 1)
        phase = 2 * np.pi * rate * np.maximum(local - delay, 0)
        out[sel] = depth * ramp * fade * np.sin(phase)
    return out


def fluctuation(n: int, cfg: ExpressionConfig) -> np.ndarray:
    """Slow random pitch drift in cents [n] (low-passed noise, deterministic per seed)."""
    from ..audio.dsp import butter2_lowpass, filtfilt

    if cfg.fluctuation_cents <= 0 or n < 16:
        return np.zeros(n)
    rng = np.random.default_rng(cfg.seed)
    noise = rng.standard_normal(n + 64)
    b, a = butter2_lowpass(cfg.fluctuation_hz / (fe.SAMPLE_RATE / fe.HOP / 2))
    slow = filtfilt(b, a, noise)[32:32 + n]
    return cfg.fluctuation_cents * slow / (slow.std() + 1e-12)


def expressive_f0(notes: list[Note], n: int, cfg: ExpressionConfig | None = None) -> np.ndarray:
    """F0 in Hz [n] for the notes (0 outside them), with overshoot, preparation, vibrato, drift."""
    cfg = cfg or ExpressionConfig()
    steps, inside = note_steps_cents(notes, n)
    if not inside.any():
        return np.zeros(n)
    cents = steps.copy()
    if cfg.expression:
        # cascade: the backward system anticipates (preparation), the forward one overshoots
        if cfg.preparation:
            cents = _second_order(cents[::-1], *PREPARATION)[::-1]
        if cfg.overshoot:
            cents = _second_order(cents, *OVERSHOOT)
        # a short note has no time to settle after an overshoot: it would be heard out of tune,
        # so its deviation from the note shrinks with its length
        cents = steps + dynamics_weight(notes, n, cfg.full_dynamics_ms) * (cents - steps)
        cents += vibrato(notes, n, cfg) + fluctuation(n, cfg)
    f0 = midi_to_hz(cents / 100.0)
    f0[~inside] = 0.0
    return f0
