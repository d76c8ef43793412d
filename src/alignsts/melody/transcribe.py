"""Note transcription of a monophonic F0 contour (pitch-change and voicing based)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio import frontend as fe
from ..audio.frames import ms_to_frames, runs
from .notes import Note, hz_to_midi


@dataclass
class TranscribeConfig:
    smooth_ms: float = 50.0       # median window that hides jitter
    vibrato_ms: float = 170.0     # note changes are found on a moving average this long
    #                               (one vibrato period), so vibrato does not split notes
    jump_semitones: float = 0.5   # a sustained change this large starts a new note
    hold_ms: float = 25.0         # ... when it lasts this long
    min_note_ms: float = 80.0     # shorter segments (glides) merge into a neighbour
    min_voiced_ms: float = 50.0   # shorter voiced runs are ignored
    bridge_ms: float = 40.0       # unvoiced gaps this short do not end a note of equal pitch
    quantize: bool = False        # round to semitones (after estimating the tuning offset);
    #                               off by default: sung pitch is not equal-tempered


def _split_run(m: np.ndarray, jump: float, hold: int) -> list[int]:
    """Split points (relative indices) of one voiced run of smoothed MIDI values [L]."""
    cuts = []
    start = 0
    k = 0
    while k < len(m):
        ref = np.median(m[start:k + 1]) if k > start else m[start]
        if abs(m[k] - ref) > jump and k + hold <= len(m) and np.all(np.abs(m[k:k + hold] - ref) > jump):
            cuts.append(k)
            start = k
        k += 1
    return cuts


def _steady(m: np.ndarray, width: int) -> np.ndarray:
    """Moving average over ``width`` frames (edges held): vibrato averages out, steps remain."""
    from ..audio.dsp import uniform_filter1d_nearest

    if width <= 1 or len(m) < 3:
        return m
    return uniform_filter1d_nearest(m, min(width, len(m)))


def _refine_cuts(m: np.ndarray, cuts: list[int], reach: int) -> list[int]:
    """Move each cut to the steepest point of ``m`` within ``reach`` frames of it (the moving
    average notices a step up to half its width early or late), keeping the cuts ordered."""
    out = []
    slope = np.abs(np.gradient(m)) if len(m) > 1 else np.zeros(len(m))
    for k, c in enumerate(cuts):
        lo = max(out[-1] + 1 if out else 1, c - reach)
        hi = min(len(m) - 1, c + reach + 1, cuts[k + 1] if k + 1 < len(cuts) else len(m))
        out.append(int(lo + np.argmax(slope[lo:hi])) if hi > lo else c)
    return out


def transcribe(f0: np.ndarray, cfg: TranscribeConfig | None = None) -> list[Note]:
    """Notes of an F0 contour [T] Hz on the front-end grid (0 = unvoiced)."""
    from ..audio.dsp import median_filter1d_nearest

    cfg = cfg or TranscribeConfig()
    f0 = np.asarray(f0, dtype=np.float64)
    voiced = f0 > 0
    midi = np.zeros_like(f0)
    midi[voiced] = hz_to_midi(f0[voiced])
    smooth = midi.copy()
    win = max(1, ms_to_frames(cfg.smooth_ms)) | 1
    segments: list[tuple[int, int]] = []
    for a, b in runs(voiced):
        if b - a < ms_to_frames(cfg.min_voiced_ms):
            continue
        smooth[a:b] = median_filter1d_nearest(midi[a:b], min(win, (b - a) | 1))
        cuts = _split_run(_steady(smooth[a:b], ms_to_frames(cfg.vibrato_ms)), cfg.jump_semitones,
                          ms_to_frames(cfg.hold_ms))
        cuts = _refine_cuts(smooth[a:b], cuts, ms_to_frames(cfg.vibrato_ms) // 2)
        edges = [a] + [a + c for c in cuts] + [b]
        segments.extend(zip(edges[:-1], edges[1:]))
    segments = _merge_short(segments, smooth, ms_to_frames(cfg.min_note_ms))
    pitches = [float(np.median(midi[a:b])) for a, b in segments]
    if cfg.quantize and pitches:
        frac = np.array(pitches) - np.round(pitches)
        tuning = float(np.angle(np.mean(np.exp(2j * np.pi * frac))) / (2 * np.pi))
        pitches = [round(p - tuning) + tuning for p in pitches]
    notes = []
    dt = fe.HOP / fe.SAMPLE_RATE
    for (a, b), p in zip(segments, pitches):
        if notes and abs(notes[-1].pitch - p) < 0.5 and a * dt - notes[-1].offset <= cfg.bridge_ms / 1000 + 1e-9:
            notes[-1] = Note(notes[-1].onset, b * dt, notes[-1].pitch)
        else:
            notes.append(Note(a * dt, b * dt, p))
    return notes


def _merge_short(segments: list[tuple[int, int]], smooth: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """Merge segments shorter than ``min_len`` into the adjacent one closest in pitch."""
    segs = [list(s) for s in segments]
    changed = True
    while changed:
        changed = False
        for k, (a, b) in enumerate(segs):
            if b - a >= min_len:
                continue
            p = np.median(smooth[a:b])
            cands = []
            if k > 0 and segs[k - 1][1] == a:
                cands.append((abs(np.median(smooth[segs[k - 1][0]:segs[k - 1][1]]) - p), k - 1))
            if k + 1 < len(segs) and segs[k + 1][0] == b:
                cands.append((abs(np.median(smooth[segs[k + 1][0]:segs[k + 1][1]]) - p), k + 1))
            if not cands:
                continue
            _, j = min(cands)
            segs[j] = [min(segs[j][0], a), max(segs[j][1], b)]
            del segs[k]
            changed = True
            break
    return [tuple(s) for s in segs]
