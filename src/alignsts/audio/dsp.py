"""Small signal-processing primitives in numpy alone.

The reference engine's path used to import scipy.fft and scipy.ndimage for five calls (a DCT,
its inverse, a real FFT, a moving average and two 1-D maximum filters); importing them costs
about 0.16 s a process, more than all five calls together on an 8 s conversion. These give the
same numbers to rounding (tests/audio/test_dsp.py compares each with scipy).
"""
from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=8)
def _dct_twiddle(n: int) -> np.ndarray:
    """Orthonormal DCT-II post-twiddle [n]: 2 exp(-i pi k / 2n), scaled by sqrt(1/4n) (k = 0) or sqrt(1/2n)."""
    k = np.arange(n)
    scale = np.full(n, np.sqrt(1.0 / (2.0 * n)))
    scale[0] = np.sqrt(1.0 / (4.0 * n))
    return 2.0 * scale * np.exp(-1j * np.pi * k / (2.0 * n))


def dct(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Orthonormal DCT-II along ``axis`` (scipy.fft.dct(x, type=2, norm='ortho')), float64.

    Makhoul's reordering: v = (x0, x2, x4, ..., x5, x3, x1), X[k] = Re(exp(-i pi k / 2n) FFT(v)[k]) x 2.
    """
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    n = x.shape[-1]
    v = np.concatenate([x[..., 0::2], x[..., 1::2][..., ::-1]], axis=-1)
    out = np.real(np.fft.fft(v, axis=-1) * _dct_twiddle(n))
    return np.moveaxis(out, -1, axis)


def idct(c: np.ndarray, axis: int = -1) -> np.ndarray:
    """Inverse of ``dct`` (scipy.fft.idct(c, type=2, norm='ortho')), float64."""
    c = np.moveaxis(np.asarray(c, dtype=np.float64), axis, -1)
    n = c.shape[-1]
    # undo the twiddle: FFT(v)[k] = V[k] with V[k] + conj(V[n-k]) known from c[k] and c[n-k]
    tw = _dct_twiddle(n)
    rev = np.concatenate([np.zeros(c.shape[:-1] + (1,)), c[..., :0:-1]], axis=-1)   # c[n-k], 0 at k = 0
    spec = (c - 1j * rev) / tw            # = FFT(v)[k] for a real v
    v = np.real(np.fft.ifft(spec, axis=-1))
    out = np.empty_like(v)
    half = (n + 1) // 2
    out[..., 0::2] = v[..., :half]
    out[..., 1::2] = v[..., half:][..., ::-1]
    return np.moveaxis(out, -1, axis)


def convolve1d_nearest(x: np.ndarray, weights: np.ndarray, axis: int = 0) -> np.ndarray:
    """scipy.ndimage.convolve1d(x, weights, axis, mode='nearest'): out[t] = sum_j w[j] x[t + L//2 - j]
    for a kernel of length L, edges repeating the end samples: float64 of x's shape."""
    w = np.asarray(weights, dtype=np.float64)
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    before = (len(w) - 1) // 2
    padded = np.concatenate([np.repeat(x[:1], before, axis=0), x, np.repeat(x[-1:], len(w) - 1 - before, axis=0)])
    out = np.zeros_like(x)
    for i, wi in enumerate(w[::-1]):
        out += wi * padded[i: i + len(x)]
    return np.moveaxis(out, 0, axis)


def maximum_filter1d_nearest(x: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage.maximum_filter1d(x, size, mode='nearest') of a 1-D array: [N] -> [N]."""
    x = np.asarray(x)
    if size <= 1 or len(x) == 0:
        return x.copy()
    before = size // 2
    after = size - 1 - before
    padded = np.concatenate([np.repeat(x[:1], before), x, np.repeat(x[-1:], after)])
    return np.lib.stride_tricks.sliding_window_view(padded, size).max(axis=1)


def binary_dilation1d(mask: np.ndarray, width: int) -> np.ndarray:
    """scipy.ndimage.binary_dilation(mask, np.ones(width)) of a 1-D bool array (outside counted
    False): out[i] is True when a True lies in mask[i - width + 1 + width // 2 .. i + width // 2]
    (for odd widths: within width // 2 either side): [N] -> [N] bool."""
    mask = np.asarray(mask, dtype=bool)
    if width <= 1 or not mask.any():
        return mask.copy()
    after = width // 2                    # the window reaches this far ahead
    before = width - 1 - after
    padded = np.concatenate([np.zeros(before, bool), mask, np.zeros(after, bool)])
    return np.lib.stride_tricks.sliding_window_view(padded, width).any(axis=1)
