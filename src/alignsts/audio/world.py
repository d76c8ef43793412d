"""WORLD vocoder analysis/synthesis on the front-end's frame grid (hop 128 at 24 kHz)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frontend import F0_CEIL, FRAME_PERIOD_MS, SAMPLE_RATE, fit_length, load_pyworld, n_frames

WORLD_F0_FLOOR = 71.0     # also fixes CheapTrick's FFT size (1024 at 24 kHz)


@dataclass
class WorldFeatures:
    """f0 [T] Hz (0 = unvoiced), sp [T, K] power envelope, ap [T, K] aperiodicity in 0..1."""
    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray

    def __len__(self) -> int:
        return len(self.f0)


def fft_size() -> int:
    pyworld = load_pyworld()

    return pyworld.get_cheaptrick_fft_size(SAMPLE_RATE, WORLD_F0_FLOOR)


def analyze(wav: np.ndarray, f0: np.ndarray | None = None, n: int | None = None,
            d4c_threshold: float = 0.85) -> WorldFeatures:
    """WORLD analysis of 24 kHz audio [N] into ``n`` (default n_frames(N)) frames.

    F0 by dio + stonemask unless given ([n] Hz, 0 = unvoiced). D4C marks voiced frames whose
    periodicity score is below ``d4c_threshold`` fully aperiodic (0: trust the F0 everywhere).
    """
    pyworld = load_pyworld()

    x = np.asarray(wav, dtype=np.float64)
    if n is None:
        n = n_frames(len(x))
    t = np.arange(n) * FRAME_PERIOD_MS / 1000.0
    if f0 is None:
        f0_raw, t_raw = pyworld.dio(x, SAMPLE_RATE, f0_floor=WORLD_F0_FLOOR, f0_ceil=F0_CEIL,
                                    frame_period=FRAME_PERIOD_MS)
        f0 = pyworld.stonemask(x, f0_raw, t_raw, SAMPLE_RATE)
        f0 = fit_length(f0, n)
    f0 = np.ascontiguousarray(f0, dtype=np.float64)
    sp = pyworld.cheaptrick(x, f0, t, SAMPLE_RATE, f0_floor=WORLD_F0_FLOOR)
    ap = pyworld.d4c(x, f0, t, SAMPLE_RATE, threshold=d4c_threshold)
    return WorldFeatures(f0=f0, sp=sp, ap=ap)


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
    """CheapTrick envelope of frames start..stop-1 for a known F0 [T]: -> [stop-start, fft_size()//2+1]."""
    pyworld = load_pyworld()
    stop = len(f0) if stop is None else stop
    f0 = np.ascontiguousarray(f0[start:stop], dtype=np.float64)
    t = np.arange(start, stop) * FRAME_PERIOD_MS / 1000.0
    return pyworld.cheaptrick(np.asarray(wav, dtype=np.float64), f0, t, SAMPLE_RATE, f0_floor=WORLD_F0_FLOOR)


def envelope_frames(wav: np.ndarray, f0: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """CheapTrick envelope at chosen frames only: F0 [T] Hz, frame indices [F] -> [F, fft_size()//2+1]."""
    pyworld = load_pyworld()
    frames = np.asarray(frames, dtype=np.int64)
    f0_at = np.ascontiguousarray(f0[frames], dtype=np.float64)
    t = frames * FRAME_PERIOD_MS / 1000.0
    return pyworld.cheaptrick(np.asarray(wav, dtype=np.float64), f0_at, np.ascontiguousarray(t),
                              SAMPLE_RATE, f0_floor=WORLD_F0_FLOOR)


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
    """``factor`` as a float when inside FORMANT_RANGE, else an AlignSTSError naming the range."""
    from ..errors import InvalidValueError

    try:
        value = float(factor)
    except (TypeError, ValueError):
        raise InvalidValueError(f"formant must be a number (e.g. 1.1), got {factor!r}") from None
    lo, hi = FORMANT_RANGE
    if not lo <= value <= hi:
        raise InvalidValueError(f"formant must be between {lo} and {hi} (1 = your own voice), got {factor!r}")
    return value
