"""Operations on F0 contours [T] in Hz on the front-end grid (0 = unvoiced)."""
from __future__ import annotations

import numpy as np

from ..audio.frames import ms_to_frames, runs, smooth_frames  # noqa: F401  (part of this module's API)


def check_sung_range(melody_f0: np.ndarray, semitones: float) -> None:
    """MelodyError unless the voiced melody [T] Hz moved by ``semitones`` stays singable."""
    from ..errors import MelodyError, option
    from ..validate import MAX_SUNG_HZ, MIN_SUNG_HZ

    voiced = np.asarray(melody_f0, dtype=np.float64)
    voiced = voiced[voiced > 0]
    if not len(voiced):
        return
    lo, hi = float(voiced.min()) * 2.0 ** (semitones / 12), float(voiced.max()) * 2.0 ** (semitones / 12)
    if hi > MAX_SUNG_HZ or lo < MIN_SUNG_HZ:
        raise MelodyError(f"transposed by {semitones:+g} semitones the melody spans {lo:.0f}-{hi:.0f} Hz, outside "
                          f"the {MIN_SUNG_HZ:g}-{MAX_SUNG_HZ:g} Hz a voice can sing; use a smaller {option('transpose')}")


def transpose(f0: np.ndarray, semitones: float) -> np.ndarray:
    """Shift the voiced frames by ``semitones``: [T] -> [T]."""
    out = np.asarray(f0, dtype=np.float64).copy()
    out[out > 0] *= 2.0 ** (semitones / 12.0)
    return out


def bridge_gaps(f0: np.ndarray, max_gap: int, allow: np.ndarray | None = None) -> np.ndarray:
    """Fill interior unvoiced gaps of at most ``max_gap`` frames by log-linear interpolation.

    ``allow`` [T] (optional) restricts bridging to gaps whose frames are all allowed.
    """
    out = np.asarray(f0, dtype=np.float64).copy()
    for a, b in runs(out <= 0):
        if a == 0 or b == len(out) or b - a > max_gap:
            continue
        if allow is not None and not np.all(allow[a:b]):
            continue
        lo, hi = np.log(out[a - 1]), np.log(out[b])
        out[a:b] = np.exp(np.linspace(lo, hi, b - a + 2)[1:-1])
    return out


def remove_short_voiced(f0: np.ndarray, min_len: int) -> np.ndarray:
    """Unvoice isolated voiced blips shorter than ``min_len`` frames (tracker glitches)."""
    out = np.asarray(f0, dtype=np.float64).copy()
    for a, b in runs(out > 0):
        if b - a < min_len:
            out[a:b] = 0.0
    return out
