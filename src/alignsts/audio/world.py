"""WORLD vocoder analysis/synthesis on the front-end's frame grid (hop 128 at 24 kHz)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frontend import F0_CEIL, FRAME_PERIOD_MS, HOP, SAMPLE_RATE, fit_length, load_pyworld, n_frames

WORLD_F0_FLOOR = 71.0     # also fixes CheapTrick's FFT size (1024 at 24 kHz)


@dataclass
class WorldFeatures:
    """f0 [T] Hz (0 = unvoiced), sp [T, K] power envelope, ap [T, K] aperiodicity in 0..1."""
    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray

    def __len__(self) -> int:
        return len(self.f0)

    def at(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sp, ap) of the given frame indices: -> [F, K], [F, K] (as FrameAnalyzer.at)."""
        return self.sp[frames], self.ap[frames]


def fft_size() -> int:
    pyworld = load_pyworld()

    return pyworld.get_cheaptrick_fft_size(SAMPLE_RATE, WORLD_F0_FLOOR)


def analyze(wav: np.ndarray, f0: np.ndarray | None = None, n: int | None = None,
            d4c_threshold: float = 0.85) -> WorldFeatures:
    """WORLD analysis of 24 kHz audio [N] into ``n`` (default n_frames(N)) frames.

    F0 by dio + stonemask unless given ([n] Hz, 0 = unvoiced).
    """
    x = np.asarray(wav, dtype=np.float64)
    if n is None:
        n = n_frames(len(x))
    t = np.arange(n) * FRAME_PERIOD_MS / 1000.0
    if f0 is None:
        f0 = f0_dio(x, n)
    f0 = np.ascontiguousarray(f0, dtype=np.float64)
    return WorldFeatures(f0=f0, sp=_cheaptrick(x, f0, t), ap=_d4c(x, f0, t, d4c_threshold))


def _cheaptrick(x: np.ndarray, f0: np.ndarray, t: np.ndarray) -> np.ndarray:
    """CheapTrick envelopes: float64 [N], f0 [T], times [T] s -> [T, fft_size()//2+1]."""
    return load_pyworld().cheaptrick(x, f0, t, SAMPLE_RATE, f0_floor=WORLD_F0_FLOOR)


def _d4c(x: np.ndarray, f0: np.ndarray, t: np.ndarray, threshold: float = 0.85) -> np.ndarray:
    """D4C aperiodicity (``threshold`` 0: trust the F0 everywhere): -> [T, fft_size()//2+1]."""
    return load_pyworld().d4c(x, f0, t, SAMPLE_RATE, threshold=threshold)


def f0_dio(wav: np.ndarray, n: int | None = None) -> np.ndarray:
    """F0 by dio + stonemask (what ``analyze`` uses): [N] -> [n] Hz float64, 0 = unvoiced."""
    pyworld = load_pyworld()

    x = np.asarray(wav, dtype=np.float64)
    n = n_frames(len(x)) if n is None else n
    f0_raw, t_raw = pyworld.dio(x, SAMPLE_RATE, f0_floor=WORLD_F0_FLOOR, f0_ceil=F0_CEIL,
                                frame_period=FRAME_PERIOD_MS)
    return fit_length(pyworld.stonemask(x, f0_raw, t_raw, SAMPLE_RATE), n)


# CheapTrick reads about +-1.5 periods of the F0 floor around a frame, D4C about +-2 periods of
# its own 47 Hz floor (~1000 samples); this many samples around a frame cover both.
ANALYSIS_PAD = 2048


def _frame_segments(frames: np.ndarray, max_gap: int = 64):
    """Split sorted frame indices into runs whose gaps are at most ``max_gap``: -> [(i0, i1)]."""
    cut = np.flatnonzero(np.diff(frames) > max_gap) + 1
    edges = np.concatenate([[0], cut, [len(frames)]])
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


# Frame statistics of long recordings are estimated from at most this many frames.
STAT_FRAMES = 8192


def spread(idx: np.ndarray, limit: int = STAT_FRAMES) -> np.ndarray:
    """At most ``limit`` of the indices ``idx``, evenly spread (all of them when there are fewer)."""
    if len(idx) <= limit:
        return idx
    return idx[np.linspace(0, len(idx) - 1, limit).round().astype(np.int64)]


class FrameAnalyzer:
    """CheapTrick envelope and D4C aperiodicity of any frames of a waveform with a known F0.

    wav [N] (24 kHz), f0 [T] Hz on the front-end grid. ``at(frames)`` analyses only the
    samples around the frames asked for, so memory depends on how many frames are asked
    at once, not on the length of the recording; the values equal those of ``analyze``.
    With ``keep_all`` everything is analysed once up front (short inputs: no repeated work);
    given parallel ``lanes`` (alignsts.lanes.Lanes) the envelope and the aperiodicity are
    analysed on two other threads, and the first use waits for them (a task started on the
    lanes after them may wait too: the lanes start their tasks in order).
    """

    def __init__(self, wav: np.ndarray, f0: np.ndarray, keep_all: bool = False, lanes=None):
        self.wav = wav
        self.f0 = np.ascontiguousarray(f0, dtype=np.float64)
        self._whole: WorldFeatures | None = None
        self._jobs = None
        if keep_all and lanes is not None and lanes.parallel:
            x = np.asarray(wav, dtype=np.float64)
            t = np.arange(len(self.f0)) * FRAME_PERIOD_MS / 1000.0
            # each job is one pyworld call, which runs without the GIL: it goes on while this
            # thread holds the GIL in a long call of its own (pocketsphinx's decoding does)
            self._jobs = (lanes.start(_cheaptrick, x, self.f0, t), lanes.start(_d4c, x, self.f0, t))
        elif keep_all:
            self._whole = analyze(wav, self.f0, len(self.f0))

    @property
    def whole(self) -> WorldFeatures | None:
        """The whole recording's features (keep_all), None otherwise."""
        if self._jobs is not None:
            sp, ap = (job.result() for job in self._jobs)
            self._whole, self._jobs = WorldFeatures(f0=self.f0, sp=sp, ap=ap), None
        return self._whole

    def __len__(self) -> int:
        return len(self.f0)

    def at(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sp, ap) of the given frame indices (any order, repeats allowed): -> [F, K], [F, K] float64."""
        frames = np.asarray(frames, dtype=np.int64)
        if self.whole is not None:
            return self.whole.sp[frames], self.whole.ap[frames]
        uniq, inverse = np.unique(frames, return_inverse=True)
        sp, ap = self.unique_frames(uniq)
        return sp[inverse], ap[inverse]

    def unique_frames(self, frames: np.ndarray, aperiodicity: bool = True):
        """(sp, ap) of sorted, distinct frame indices: [F] -> [F, K], [F, K] float64
        (ap is None without ``aperiodicity``)."""
        pyworld = load_pyworld()
        k = fft_size() // 2 + 1
        sp = np.empty((len(frames), k))
        ap = np.empty((len(frames), k)) if aperiodicity else None
        for i0, i1 in _frame_segments(frames):
            fr = frames[i0:i1]
            s0 = max(0, int(fr[0]) * HOP - ANALYSIS_PAD)
            s1 = min(len(self.wav), int(fr[-1]) * HOP + ANALYSIS_PAD)
            x = np.asarray(self.wav[s0:s1], dtype=np.float64)
            t = (fr * HOP - s0) / SAMPLE_RATE
            f0 = np.ascontiguousarray(self.f0[fr])
            sp[i0:i1] = pyworld.cheaptrick(x, f0, t, SAMPLE_RATE, f0_floor=WORLD_F0_FLOOR)
            if aperiodicity:
                ap[i0:i1] = pyworld.d4c(x, f0, t, SAMPLE_RATE)
        return sp, ap

    def median_voiced_aperiodicity(self) -> np.ndarray | None:
        """Median aperiodicity of the voiced frames [K] (of at most STAT_FRAMES of them spread
        over the recording); None when nothing is voiced."""
        voiced = np.flatnonzero(self.f0 > 0)
        if not len(voiced):
            return None
        if self.whole is not None:
            return np.median(self.whole.ap[voiced], axis=0)
        return np.median(self.unique_frames(spread(voiced))[1], axis=0)

    def envelope_at(self, frames: np.ndarray) -> np.ndarray:
        """CheapTrick envelope of sorted, distinct frame indices: [F] -> [F, K] float64."""
        return self.unique_frames(np.asarray(frames, dtype=np.int64), aperiodicity=False)[0]


def synthesize(feats: WorldFeatures, n_samples: int | None = None) -> np.ndarray:
    """WORLD synthesis -> [n_samples] float32 (default: frames * hop)."""
    pyworld = load_pyworld()

    f0 = np.asarray(feats.f0, dtype=np.float64)
    # WORLD corrupts its heap on absurd F0 (e.g. 1e25 Hz); callers validate, this is the last guard
    if f0.ndim != 1 or not np.all(np.isfinite(f0)) or np.any(f0 < 0) or np.any(f0 > SAMPLE_RATE / 4):
        from ..errors import MelodyError

        raise MelodyError(f"cannot synthesise an F0 outside 0-{SAMPLE_RATE // 4} Hz "
                          f"(got up to {float(np.nanmax(np.abs(f0))) if f0.size else 0:.3g} Hz)")
    y = pyworld.synthesize(np.ascontiguousarray(feats.f0, dtype=np.float64),
                           np.ascontiguousarray(feats.sp, dtype=np.float64),
                           np.ascontiguousarray(feats.ap, dtype=np.float64),
                           SAMPLE_RATE, FRAME_PERIOD_MS)
    if n_samples is not None:
        y = fit_length(y, n_samples)
    return y.astype(np.float32)


def envelope(wav: np.ndarray, f0: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
    """CheapTrick envelope of frames start..stop-1 for a known F0 [T]: -> [stop-start, fft_size()//2+1].

    Only the samples around those frames are read (and converted to float64).
    """
    pyworld = load_pyworld()
    stop = len(f0) if stop is None else stop
    f0 = np.ascontiguousarray(f0[start:stop], dtype=np.float64)
    s0 = max(0, start * HOP - ANALYSIS_PAD)
    s1 = min(len(wav), max(stop - 1, start) * HOP + ANALYSIS_PAD)
    t = (np.arange(start, stop) * HOP - s0) / SAMPLE_RATE
    return pyworld.cheaptrick(np.asarray(wav[s0:s1], dtype=np.float64), f0, t, SAMPLE_RATE,
                              f0_floor=WORLD_F0_FLOOR)


def envelope_frames(wav: np.ndarray, f0: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """CheapTrick envelope at chosen frames only: F0 [T] Hz, frame indices [F] (any order) ->
    [F, fft_size()//2+1]. Only the samples around those frames are read."""
    uniq, inverse = np.unique(np.asarray(frames, dtype=np.int64), return_inverse=True)
    return FrameAnalyzer(wav, f0).envelope_at(uniq)[inverse]


FORMANT_RANGE = (0.8, 1.25)   # formant factors the engines accept (beyond, voices turn cartoonish)


def warp_formants(sp: np.ndarray, factor: float) -> np.ndarray:
    """Move every spectral-envelope feature from frequency f to f * ``factor``: [T, K] -> [T, K].

    ``factor`` > 1 raises the formants (a shorter vocal tract: brighter, more "female"),
    < 1 lowers them; the pitch is untouched (it is WORLD's F0, not part of the envelope).
    Interpolates the log envelope along frequency; bins read from beyond the top hold the
    last bin's value.
    """
    sp = np.asarray(sp, dtype=np.float64)
    if factor == 1.0:
        return sp.copy()
    k = sp.shape[-1]
    src = np.arange(k) / float(factor)            # output bin b reads input bin b / factor
    lo = np.clip(np.floor(src).astype(np.int64), 0, k - 1)
    hi = np.clip(lo + 1, 0, k - 1)
    w = np.clip(src - lo, 0.0, 1.0)
    log_sp = np.log(np.maximum(sp, 1e-300))
    return np.exp(log_sp[..., lo] * (1.0 - w) + log_sp[..., hi] * w)


def shift_formants(wav: np.ndarray, factor: float, f0: np.ndarray | None = None) -> np.ndarray:
    """Re-synthesise 24 kHz audio [N] with its formants moved by ``factor`` (pitch kept):
    for engines whose output is not a WORLD envelope (the neural vocoder). ``f0`` [T] (its
    known F0) saves and steadies the F0 analysis. -> [N] float32."""
    if factor == 1.0:
        return np.asarray(wav, dtype=np.float32)
    feats = analyze(wav, f0=None if f0 is None else fit_length(np.asarray(f0, np.float64), n_frames(len(wav))),
                    d4c_threshold=0.0)   # the F0 is known (or just tracked): keep voiced frames voiced
    feats.sp = warp_formants(feats.sp, factor)
    return synthesize(feats, n_samples=len(wav))


def check_formant(factor) -> float:
    """``factor`` as a float when inside FORMANT_RANGE, else an AlignSTSError naming the range
    (bools, NaN/inf and non-numbers included)."""
    from ..validate import number

    lo, hi = FORMANT_RANGE
    from ..errors import option

    return float(number(factor, f"{option('formant')} (1 = your own voice colour)", lo, hi))
