"""Long inputs in pieces, so that memory does not grow with their length.

Two kinds of piecewise work, both returning to Python between pieces (a cheap point to
report progress or to be interrupted):

* ``framewise`` runs a per-frame analysis (an F0 tracker, STFT statistics) on overlapping
  analysis windows of a recording and keeps each window's middle. Inputs up to one window
  are analysed whole, exactly as before.
* ``synthesize_in_pieces`` runs WORLD synthesis on consecutive pieces of the output and
  crossfades them. Joins go where the output is quiet or unvoiced (``plan_pieces``), and
  each piece starts at a frame where WORLD's pulse phase is close to what a one-piece
  synthesis has there (``world_phase_before_frames``), so even a join inside a held vowel
  adds the same pulses; only the aperiodic noise differs from a one-piece synthesis.

Frame-level arrays ([T] or [T, small]) are kept whole; arrays with a spectrum per frame
([T, 513]) or a value per sample only exist for one piece at a time (the output waveform,
float32, is the one per-sample array of full length).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Callable

import numpy as np

from ..lanes import Lanes
from ..validate import Range
from . import frontend as fe

FRAMES_PER_S = fe.SAMPLE_RATE / fe.HOP


@dataclass
class PieceConfig:
    """How long inputs are cut. Outputs up to 1.5 pieces and inputs up to one analysis
    window are processed whole (identical to a one-piece run)."""
    piece_s: Annotated[float, Range(1.5, 3600)] = 20.0     # output seconds synthesised per piece
    analysis_s: Annotated[float, Range(1, 3600)] = 60.0    # input seconds per analysis window (F0, STFT statistics)
    analysis_margin_s: Annotated[float, Range(0.1, 60)] = 2.0   # context each side of a window, dropped afterwards
    # threads one conversion uses (its stages side by side, windows and pieces in parallel);
    # 0: the cores this process may use, at most lanes.MAX_AUTO_THREADS. The output does not
    # depend on it (tests compare 1 and 2 bit for bit).
    threads: Annotated[int, Range(0, 64)] = 0

    def piece_frames(self) -> int:
        return max(int(round(self.piece_s * FRAMES_PER_S)), MIN_PIECE)

    def analysis_frames(self) -> tuple[int, int]:
        return (max(int(round(self.analysis_s * FRAMES_PER_S)), 64),
                max(int(round(self.analysis_margin_s * FRAMES_PER_S)), 16))


# ------------------------------------------------------------------------------ analysis
def framewise(wav: np.ndarray, fn: Callable[[np.ndarray, int], np.ndarray], n: int | None = None,
              cfg: PieceConfig | None = None, keep_peak: bool = False,
              tick: Callable[[float], None] | None = None, lanes: Lanes | None = None) -> np.ndarray:
    """Per-frame analysis ``fn(segment, frames) -> [frames, ...]`` of ``wav`` [N] in windows: -> [n, ...].

    Each window is analysed with ``analysis_margin_s`` of context on both sides, which is then
    dropped; windows start on frame boundaries, so their frames fall on the global grid.
    ``keep_peak``: trackers that judge loudness against the recording's peak (Praat) see the
    global peak in every window (one margin sample is set to it). ``tick(frac)`` is called
    after each window (on the calling thread). ``lanes``: windows analysed in parallel.
    """
    cfg = cfg or PieceConfig()
    n = fe.n_frames(len(wav)) if n is None else n
    window, margin = cfg.analysis_frames()
    if n <= window + 2 * margin:
        return fn(wav, n)
    peak = float(np.max(np.abs(wav))) if keep_peak else 0.0

    def window_part(a: int) -> np.ndarray:
        b = min(a + window, n)
        s0 = max(a - margin, 0)
        s1 = min(b + margin, n)
        seg = wav[s0 * fe.HOP: len(wav) if s1 == n else (s1 - 1) * fe.HOP + 1]
        if keep_peak and float(np.max(np.abs(seg))) < peak:
            seg = np.array(seg)
            seg[0 if s0 < a else -1] = peak    # in the margin that is dropped
        return fn(seg, s1 - s0)[a - s0: b - s0]

    out = None
    starts = range(0, n, window)
    for a, part in zip(starts, (lanes or Lanes(1)).ordered(window_part, starts)):
        b = min(a + window, n)
        if out is None:
            out = np.zeros((n,) + part.shape[1:], dtype=part.dtype)
        out[a:b] = part
        if tick is not None:
            tick(b / n)
    return out


def spectral_stats(wav: np.ndarray, block: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Frame energy in dB [T] and mel-cepstra c0..c13 [T, 14] (float32) of [N] audio, block by block."""
    return _stats(wav, block, False)[:2]


def spectral_stats_and_mel_energy(wav: np.ndarray, block: int = 8192) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """spectral_stats and mel_energy of [N] audio from one STFT pass: -> [T], [T, 14], [T] float32."""
    return _stats(wav, block, True)


def _stats(wav: np.ndarray, block: int, with_mel: bool):
    n = fe.n_frames(len(wav))
    energy = np.empty(n, dtype=np.float32)
    ceps = np.empty((n, fe.ALIGN_N_CEPS + 1), dtype=np.float32)
    mel = np.empty(n, dtype=np.float32) if with_mel else None
    for a in range(0, n, block):
        b = min(a + block, n)
        mag = fe.stft_magnitude_frames(wav, a, b)
        energy[a:b] = fe.frame_energy_db(mag)
        ceps[a:b] = fe.cepstra(mag)
        if with_mel:
            mel[a:b] = fe.mel_energy(fe.log_mel_from_magnitude(mag))
    return energy, ceps, mel


def mel_energy(wav: np.ndarray, n: int | None = None, block: int = 8192) -> np.ndarray:
    """The front-end's frame energy (``frontend.mel_energy(log_mel(wav))``) block by block: -> [n] float32."""
    n = fe.n_frames(len(wav)) if n is None else n
    out = np.empty(n, dtype=np.float32)
    for a in range(0, n, block):
        b = min(a + block, n)
        out[a:b] = fe.mel_energy(fe.log_mel_from_magnitude(fe.stft_magnitude_frames(wav, a, b)))
    return out


def loudness_db(wav: np.ndarray, n: int | None = None) -> np.ndarray:
    """``frontend.loudness_db(log_mel(wav))`` block by block: -> [n] float32."""
    return (20.0 * np.log10(mel_energy(wav, n).astype(np.float64) + 1e-12)).astype(np.float32)


def apply_frame_gain(wav: np.ndarray, gain: np.ndarray, block: int = 1 << 20) -> None:
    """Multiply [N] float32 audio in place by a frame-rate gain [T] interpolated to samples."""
    centres = np.arange(len(gain)) * fe.HOP
    for a in range(0, len(wav), block):
        b = min(a + block, len(wav))
        wav[a:b] *= np.interp(np.arange(a, b), centres, gain).astype(np.float32)


# ----------------------------------------------------------------------------- synthesis
CROSSFADE = 8     # frames (43 ms) of raised-cosine crossfade at each join
WARM_UP = 12      # frames synthesised before/after the crossfade: WORLD responses span +-512 samples
PHASE_SEARCH = 48  # frames over which a piece's first frame is chosen to match WORLD's pulse phase
MIN_PIECE = 4 * (CROSSFADE + WARM_UP + PHASE_SEARCH)


def join_cost(energy_db: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """How bad a join at each frame would be: [T] dB, [T] bool -> [T].

    The loudest frame within the crossfade, plus 60 dB if any of it is voiced: joins go into
    pauses, else into unvoiced sounds, else into the quietest voiced stretch.
    """
    from .dsp import maximum_filter1d_nearest

    e = maximum_filter1d_nearest(np.asarray(energy_db, np.float64), CROSSFADE + 1)
    v = maximum_filter1d_nearest(np.asarray(voiced, np.uint8), CROSSFADE + 1)
    return e + 60.0 * v


def plan_pieces(m: int, piece: int, cost: np.ndarray | None = None) -> list[int]:
    """Piece boundaries [0, b1, ..., m] for ``m`` output frames, about ``piece`` frames apart.

    Each join is put at the cheapest frame (``cost`` [m], e.g. ``join_cost``) within
    +-25 % of the nominal length; outputs up to 1.5 pieces stay whole.
    """
    piece = max(int(piece), MIN_PIECE)
    bounds = [0]
    while m - bounds[-1] > piece * 3 // 2:
        lo = bounds[-1] + piece * 3 // 4
        hi = min(bounds[-1] + piece * 5 // 4, m - piece // 2)
        b = bounds[-1] + piece if cost is None else lo + int(np.argmin(cost[lo:hi]))
        bounds.append(b)
    bounds.append(m)
    return bounds


# WORLD's synthesis (synthesis.cpp) places a pulse wherever its accumulated phase
# 2 pi sum(f0[i] / fs) wraps; f0 is interpolated from the frames to samples (through 0 at
# voicing changes, 500 Hz where unvoiced). A piece started at sample s accumulates from 0
# there, so its pulses coincide with a one-piece synthesis when the one-piece phase
# before s is a multiple of 2 pi. This reproduces that phase, with WORLD's arithmetic.
_WORLD_DEFAULT_F0 = 500.0


def world_phase_before_frames(f0: np.ndarray, n_samples: int, frames: np.ndarray) -> np.ndarray:
    """WORLD's accumulated pulse phase (mod 2 pi) before the first sample of each of ``frames``
    (sorted) for synthesis of ``f0`` [T] into ``n_samples``: -> [len(frames)] in [0, 2 pi)."""
    from .world import fft_size

    f0 = np.asarray(f0, dtype=np.float64)
    t_len = len(f0)
    lowest = fe.SAMPLE_RATE / fft_size() + 1.0
    coarse = np.where(f0 < lowest, 0.0, f0)
    vuv = (coarse != 0.0).astype(np.float64)
    if t_len >= 2:  # WORLD extrapolates one frame past the end
        coarse = np.append(coarse, coarse[-1] * 2 - coarse[-2])
        vuv = np.append(vuv, vuv[-1] * 2 - vuv[-2])
    else:
        coarse, vuv = np.append(coarse, coarse[-1:]), np.append(vuv, vuv[-1:])
    period = fe.FRAME_PERIOD_MS / 1000.0
    x = np.arange(t_len + 1) * period
    h = np.diff(x)
    targets = np.asarray(frames, dtype=np.int64) * fe.HOP
    out = np.zeros(len(targets))
    total = 0.0
    done = 0
    two_pi = 2.0 * np.pi
    block = 1 << 20
    for k, s in enumerate(targets):
        s = min(int(s), n_samples)
        while done < s:
            i = np.arange(done, min(done + block, s))
            xi = i / float(fe.SAMPLE_RATE)
            idx = np.clip(np.searchsorted(x, xi, side="right") - 1, 0, t_len - 1)
            w = (xi - x[idx]) / h[idx]
            fi = coarse[idx] + w * (coarse[idx + 1] - coarse[idx])
            vi = vuv[idx] + w * (vuv[idx + 1] - vuv[idx])
            fi = np.where(vi > 0.5, fi, _WORLD_DEFAULT_F0)
            inc = two_pi * fi / fe.SAMPLE_RATE
            inc[0] += total
            total = float(np.cumsum(inc)[-1])
            done = int(i[-1]) + 1
        out[k] = np.fmod(total, two_pi)
    return out


def _wrap(phase: float) -> float:
    """Phase difference into (-pi, pi]."""
    return float(np.angle(np.exp(1j * phase)))


def _match_phase(f0: np.ndarray, k: int, target: float) -> np.ndarray:
    """F0 [T] of a piece with its first ``k`` frames (the warm-up, never heard) scaled by a
    hair so that WORLD's pulse phase before frame k equals ``target`` (the one-piece phase
    there, mod 2 pi). Unvoiced warm-ups are left alone. -> [T]."""
    f0 = np.asarray(f0, dtype=np.float64)

    def err(factor: float) -> float:
        g = f0.copy()
        g[:k] *= factor
        return _wrap(world_phase_before_frames(g, k * fe.HOP, [k])[0] - target)

    e0 = err(1.0)
    voiced_phase = 2.0 * np.pi * float(np.sum(f0[:k][f0[:k] > 0])) * fe.HOP / fe.SAMPLE_RATE
    if abs(e0) < 1e-4 or voiced_phase < 4.0 * np.pi:
        return f0
    best = (abs(e0), 1.0)
    f1 = 1.0 - e0 / voiced_phase
    e1 = err(f1)
    best = min(best, (abs(e1), f1))
    if e1 != e0:
        f2 = f1 - e1 * (f1 - 1.0) / (e1 - e0)
        if abs(f2 - 1.0) < 0.05:
            best = min(best, (abs(err(f2)), f2))
    out = f0.copy()
    out[:k] *= best[1]
    return out


def _fade(length: int, rising: bool) -> np.ndarray:
    t = (np.arange(length) + 0.5) / length
    ramp = 0.5 - 0.5 * np.cos(np.pi * t)
    return (ramp if rising else 1.0 - ramp).astype(np.float32)


def synthesize_in_pieces(f0: np.ndarray, n_samples: int, features: Callable[[int, int], tuple],
                         bounds: list[int], tick: Callable[[float], None] | None = None,
                         lanes: Lanes | None = None) -> np.ndarray:
    """WORLD synthesis of f0 [T] piece by piece: -> [n_samples] float32.

    ``features(lo, hi)`` returns (sp, ap) [hi-lo, K] for frames lo..hi-1; ``bounds`` from
    ``plan_pieces``. One piece gives exactly ``world.synthesize`` of the whole. Each further
    piece is synthesised from a phase-matched frame before its join and crossfaded over
    CROSSFADE frames centred on the join. ``tick(frac)`` is called after each piece (on the
    calling thread). ``lanes``: pieces synthesised in parallel (``features`` must then be safe
    to call from several threads at once); the result is the same.
    """
    from .world import WorldFeatures, synthesize

    m = len(f0)
    y = np.zeros(n_samples, dtype=np.float32)
    half = CROSSFADE // 2
    # each later piece starts at the frame (of PHASE_SEARCH) where WORLD's one-piece phase is
    # closest to a multiple of 2 pi; the rest is absorbed in its warm-up (_match_phase)
    starts, targets = [0], [0.0]
    if len(bounds) > 2:
        cands = [np.arange(max(a - half - WARM_UP - PHASE_SEARCH, 0), max(a - half - WARM_UP, 0) + 1)
                 for a in bounds[1:-1]]
        frames = np.concatenate([np.append(c, a - half) for c, a in zip(cands, bounds[1:-1])])
        phase = world_phase_before_frames(f0, n_samples, frames)
        pos = 0
        for c in cands:
            err = np.minimum(phase[pos:pos + len(c)], 2.0 * np.pi - phase[pos:pos + len(c)])
            starts.append(int(c[np.argmin(err)]))
            targets.append(float(phase[pos + len(c)]))
            pos += len(c) + 1
    xf = CROSSFADE * fe.HOP

    def piece(j: int) -> tuple[int, np.ndarray]:
        """Piece j, faded: (its first sample in the output, samples [L] float32)."""
        a, b = bounds[j], bounds[j + 1]
        last = b >= m
        lo = starts[j]
        hi = m if last else min(b + half + WARM_UP, m)
        sp, ap = features(lo, hi)
        s0 = lo * fe.HOP
        length = (n_samples - s0) if last else (hi - lo - 1) * fe.HOP + 1
        f0_piece = f0[lo:hi] if j == 0 else _match_phase(f0[lo:hi], a - half - lo, targets[j])
        wav = synthesize(WorldFeatures(f0_piece, sp, ap), n_samples=length)
        del sp, ap
        a_s = 0 if j == 0 else a * fe.HOP - xf // 2
        b_s = n_samples if last else min(b * fe.HOP + xf // 2, n_samples)
        seg = wav[a_s - s0: b_s - s0]
        if j > 0:
            seg[:xf] *= _fade(xf, rising=True)[:len(seg[:xf])]
        if not last:
            seg[len(seg) - xf:] *= _fade(xf, rising=False)[-len(seg[len(seg) - xf:]):]
        return a_s, seg

    pieces = range(len(bounds) - 1)
    for j, (a_s, seg) in zip(pieces, (lanes or Lanes(1)).ordered(piece, pieces)):
        y[a_s: a_s + len(seg)] += seg
        if tick is not None:
            tick(bounds[j + 1] / m)
    return y
