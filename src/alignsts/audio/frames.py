"""Helpers on the front-end's frame grid (hop 128 at 24 kHz): runs of a mask, smoothing, ms -> frames.

Shared by ``align`` (syllables) and ``melody`` (contours, transcription) from below both.
"""
from __future__ import annotations

import numpy as np

from . import frontend as fe


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True as (start, end) with end exclusive."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def smooth_frames(x: np.ndarray, width: int) -> np.ndarray:
    """Hann-weighted moving average over ``width`` frames along axis 0 (edges held): [T, ...]."""
    from .dsp import convolve1d_nearest

    if width <= 1 or len(x) < 2:
        return x
    kernel = np.hanning(width + 2)[1:-1]
    return convolve1d_nearest(x, kernel / kernel.sum(), axis=0)


def ms_to_frames(ms: float) -> int:
    return int(round(ms / fe.FRAME_PERIOD_MS))
