"""Operations on F0 contours [T] in Hz on the front-end grid (0 = unvoiced)."""
from __future__ import annotations

import numpy as np

from ..audio.frames import ms_to_frames, runs, smooth_frames  # noqa: F401  (part of this module's API)

# How far above their own speaking median (semitones) people sing, with the melody
# left where it is. Measured on the real pairs (Praat medians): -0.4 to +15.8.
# Auto transposition moves the melody by whole octaves only when it falls outside
# this window, e.g. a male speaker with a female singer's reference.
SUNG_ABOVE_SPOKEN_RANGE = (-5.0, 19.0)


def median_semitones(f0: np.ndarray) -> float:
    """Median of the voiced frames in semitones re 440 Hz (nan when nothing is voiced)."""
    v = f0[f0 > 0]
    if len(v) == 0:
        return float("nan")
    return float(np.median(12.0 * np.log2(v / 440.0)))


def auto_transpose(speech_f0: np.ndarray, melody_f0: np.ndarray) -> int:
    """Whole octaves (in semitones) that put the melody where this speaker can sing it.

    0 while the melody's median lies within SUNG_ABOVE_SPOKEN_RANGE of the speaker's
    speaking median (a same-speaker reference), else the nearest octave shift into it.
    """
    s, m = median_semitones(speech_f0), median_semitones(melody_f0)
    if np.isnan(s) or np.isnan(m):
        return 0
    low, high = SUNG_ABOVE_SPOKEN_RANGE
    shift = 0
    while m - s + shift >= high:
        shift -= 12
    while m - s + shift < low:
        shift += 12
    return shift


def resolve_transpose(setting, speech_f0: np.ndarray, melody_f0: np.ndarray) -> float:
    """Semitones to apply for a --transpose setting: 'auto' (see auto_transpose) or a number.

    Raises MelodyError when the transposed melody leaves the range a voice (and WORLD) can
    synthesise, validate.MIN_SUNG_HZ..MAX_SUNG_HZ, so no absurd F0 reaches the vocoder.
    """
    from ..validate import transpose as check_transpose

    if setting is None or (isinstance(setting, str) and setting.lower() == "auto"):
        semitones = float(auto_transpose(speech_f0, melody_f0))
    else:
        semitones = float(check_transpose(setting))
    check_sung_range(melody_f0, semitones)
    return semitones


def check_sung_range(melody_f0: np.ndarray, semitones: float) -> None:
    """MelodyError unless the voiced melody [T] Hz moved by ``semitones`` stays singable."""
    from ..errors import MelodyError
    from ..validate import MAX_SUNG_HZ, MIN_SUNG_HZ

    voiced = np.asarray(melody_f0, dtype=np.float64)
    voiced = voiced[voiced > 0]
    if not len(voiced):
        return
    lo, hi = float(voiced.min()) * 2.0 ** (semitones / 12), float(voiced.max()) * 2.0 ** (semitones / 12)
    if hi > MAX_SUNG_HZ or lo < MIN_SUNG_HZ:
        raise MelodyError(f"transposed by {semitones:+g} semitones the melody spans {lo:.0f}-{hi:.0f} Hz, outside "
                          f"the {MIN_SUNG_HZ:g}-{MAX_SUNG_HZ:g} Hz a voice can sing; use a smaller --transpose")


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
