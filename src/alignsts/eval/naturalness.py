"""Does a sung output behave like a sung phrase? Artefact counts that need no model, and the
DNSMOS P.835 overall score (a speech-trained proxy, via the ``speechmos`` package's bundled
ONNX models).

All functions take mono float audio at the front-end rate (24 kHz) unless they say otherwise.

- ``digital_silence_share``: share of the samples between the first and the last sound that
  lie in runs of exact zeros (at least ``min_run_ms`` long); real recordings carry room tone.
- ``hard_offs_per_s``: ends of voiced segments where the level (within 30 dB of the loud
  level) drops by more than ``drop_db`` within ``within_ms``: a note cut off, where a voice
  decays over tens of ms. (A stop consonant's closure after an unvoiced burst is not a
  note-off.)
- ``unvoiced_peak_db``: the loudest unvoiced stretch (consonant, breath, noise burst; power
  mean without its edge frames) against the median voiced (vowel) frame level, in dB.
- ``unvoiced_note_share``: share of the frames inside notes that are unvoiced.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio import frontend as fe
from ..audio.frames import runs

LEVEL_WIN_MS = 5.0
LEVEL_HOP_MS = 2.5


def levels_db(wav: np.ndarray, sr: int = fe.SAMPLE_RATE, win_ms: float = LEVEL_WIN_MS,
              hop_ms: float = LEVEL_HOP_MS) -> np.ndarray:
    """Short-time RMS level in dBFS: [N] -> [T] (frame k covers samples k*hop .. k*hop+win)."""
    wav = np.asarray(wav, dtype=np.float64)
    win, hop = max(1, int(round(sr * win_ms / 1000))), max(1, int(round(sr * hop_ms / 1000)))
    if len(wav) < win:
        return np.full(1, -200.0)
    c = np.concatenate([[0.0], np.cumsum(wav * wav)])
    starts = np.arange(0, len(wav) - win + 1, hop)
    power = (c[starts + win] - c[starts]) / win
    return 10.0 * np.log10(power + 1e-20)


def sound_span(wav: np.ndarray, below_peak_db: float = 50.0) -> tuple[int, int]:
    """[first, last] sample (inclusive, exclusive) whose magnitude is within ``below_peak_db``
    of the peak: where the sound starts and ends. (0, 0) for silence."""
    a = np.abs(np.asarray(wav))
    peak = float(a.max()) if a.size else 0.0
    if peak <= 0:
        return 0, 0
    idx = np.flatnonzero(a >= peak * 10.0 ** (-below_peak_db / 20.0))
    return int(idx[0]), int(idx[-1]) + 1


def digital_silence_share(wav: np.ndarray, sr: int = fe.SAMPLE_RATE, min_run_ms: float = 1.0) -> float:
    """Share (0..1) of the samples between the first and last sound that are exact zeros in
    runs of at least ``min_run_ms``."""
    a, b = sound_span(wav)
    if b <= a:
        return 0.0
    zero = np.asarray(wav[a:b]) == 0
    least = max(1, int(round(sr * min_run_ms / 1000)))
    total = sum(e - s for s, e in runs(zero) if e - s >= least)
    return total / (b - a)


def hard_offs(wav: np.ndarray, sr: int = fe.SAMPLE_RATE, drop_db: float = 30.0, within_ms: float = 10.0,
              loud_range_db: float = 30.0, merge_ms: float = 50.0, voiced: np.ndarray | None = None) -> int:
    """Number of hard note-offs: a voiced moment (``voiced`` [n] on the front-end frames, by
    default ``voicing(wav)`` at 24 kHz; the frame or the one before it voiced) within
    ``loud_range_db`` of the loud level (95th percentile of the sounding frames) from which
    the level falls by more than ``drop_db`` within ``within_ms``. Events closer than
    ``merge_ms`` count once."""
    lev = levels_db(wav, sr)
    if voiced is None:
        voiced = voicing(wav) if sr == fe.SAMPLE_RATE else np.ones(1, dtype=bool)
    voiced = np.asarray(voiced, dtype=bool)
    if len(lev) < 3:
        return 0
    sounding = lev > lev.max() - 60.0
    loud = np.percentile(lev[sounding], 95) if sounding.any() else lev.max()
    ahead = max(1, int(round(within_ms / LEVEL_HOP_MS)))
    # the lowest level within the next `ahead` frames
    pad = np.concatenate([lev, np.full(ahead, lev[-1])])
    lowest = np.min(np.stack([pad[k:k + len(lev)] for k in range(1, ahead + 1)]), axis=0)
    hit = (lev >= loud - loud_range_db) & (lev - lowest > drop_db)
    if len(voiced) > 1:
        # level frame k covers [k*hop, k*hop + win): the front-end frame at its end
        frame = np.minimum(((np.arange(len(lev)) * LEVEL_HOP_MS + LEVEL_WIN_MS) / 1000 * fe.SAMPLE_RATE
                            / fe.HOP).round().astype(np.int64), len(voiced) - 1)
        hit &= voiced[frame] | voiced[np.maximum(frame - 1, 0)]
    events, last = 0, -np.inf
    merge = merge_ms / LEVEL_HOP_MS
    for k in np.flatnonzero(hit):
        if k - last > merge:
            events += 1
        last = k
    return events


def hard_offs_per_s(wav: np.ndarray, sr: int = fe.SAMPLE_RATE, **kw) -> float:
    """``hard_offs`` per second of the span between the first and last sound."""
    a, b = sound_span(wav)
    return hard_offs(wav, sr, **kw) / max((b - a) / sr, 1e-9) if b > a else 0.0


def frame_levels_db(wav: np.ndarray, n: int) -> np.ndarray:
    """RMS level in dB of the front-end frames (hop 128, centred window of 2 hops): [N] -> [n]."""
    wav = np.asarray(wav, dtype=np.float64)
    pad = np.pad(wav, (fe.HOP, max(0, (n + 1) * fe.HOP - len(wav) - fe.HOP)))
    c = np.concatenate([[0.0], np.cumsum(pad * pad)])
    starts = np.arange(n) * fe.HOP          # frame k centred at sample k*HOP (= pad index k*HOP + HOP)
    power = (c[starts + 2 * fe.HOP] - c[starts]) / (2 * fe.HOP)
    return 10.0 * np.log10(power + 1e-20)


def voicing(wav: np.ndarray) -> np.ndarray:
    """Voiced frames (Praat autocorrelation F0 > 0, frames placed in time): [N] -> bool [n]."""
    return fe.f0_praat(np.asarray(wav, dtype=np.float64), official_shift=False) > 0


def unvoiced_peak_db(wav: np.ndarray, voiced: np.ndarray | None = None, min_ms: float = 20.0,
                     edge_frames: int = 2) -> float:
    """Loudest unvoiced stretch against the vowels, in dB: the power mean of each run of
    unvoiced frames (at least ``min_ms`` long, ``edge_frames`` dropped at each end, which a
    pitch tracker leaves of the neighbouring vowels) minus the median level of the voiced
    frames. ``voiced`` [n] defaults to ``voicing(wav)``. -inf when nothing is unvoiced."""
    voiced = voicing(wav) if voiced is None else np.asarray(voiced, dtype=bool)
    lev = frame_levels_db(wav, len(voiced))
    if not voiced.any():
        return float("nan")
    vowel = float(np.median(lev[voiced]))
    least = max(1, int(round(min_ms / 1000 * fe.SAMPLE_RATE / fe.HOP)))
    best = -np.inf
    for a, b in runs(~voiced):
        a, b = a + edge_frames, b - edge_frames
        if b - a < least:
            continue
        best = max(best, float(10.0 * np.log10(np.mean(10.0 ** (lev[a:b] / 10.0)))))
    return best - vowel


def unvoiced_note_share(voiced: np.ndarray, notes) -> float:
    """Share of the frames inside ``notes`` (objects with onset/offset in seconds) that are
    unvoiced: voiced [n] bool -> 0..1 (nan without note frames)."""
    t = fe.frame_times(len(voiced))
    inside = np.zeros(len(voiced), dtype=bool)
    for x in notes:
        inside[(t >= x.onset) & (t < x.offset)] = True
    return float(np.mean(~voiced[inside])) if inside.any() else float("nan")


def dnsmos_ovrl(wav: np.ndarray, sr: int = fe.SAMPLE_RATE) -> float:
    """DNSMOS P.835 overall (OVRL) score of [N] audio (resampled to 16 kHz, peak-scaled into
    [-1, 1] only if it exceeds it). Needs ``speechmos`` and ``onnxruntime`` (the dev extra)."""
    from scipy.signal import resample_poly
    from speechmos import dnsmos

    x = np.asarray(wav, dtype=np.float64)
    if sr != 16000:
        g = np.gcd(int(sr), 16000)
        x = resample_poly(x, 16000 // g, int(sr) // g)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 1.0:
        x = x / peak
    return float(dnsmos.run(x.astype(np.float32), 16000)["ovrl_mos"])


@dataclass
class Naturalness:
    silence: float            # digital silence share between the first and last sound (0..1)
    hard_offs_per_s: float
    unvoiced_peak_db: float   # loudest unvoiced stretch minus the median vowel level
    unvoiced_notes: float     # share of note frames unvoiced (nan without notes)
    ovrl: float | None = None


def measure(wav: np.ndarray, notes=None, with_dnsmos: bool = True) -> Naturalness:
    """All the measures of [N] 24 kHz audio (``notes`` for the unvoiced share of note time)."""
    voiced = voicing(wav)
    return Naturalness(silence=digital_silence_share(wav), hard_offs_per_s=hard_offs_per_s(wav, voiced=voiced),
                       unvoiced_peak_db=unvoiced_peak_db(wav, voiced),
                       unvoiced_notes=unvoiced_note_share(voiced, notes) if notes else float("nan"),
                       ovrl=dnsmos_ovrl(wav) if with_dnsmos else None)
