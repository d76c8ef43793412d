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


@functools.lru_cache(maxsize=8)
def dct_matrix(size: int, count: int) -> np.ndarray:
    """The first ``count`` rows of the orthonormal DCT-II matrix of ``size`` points: [count, size]."""
    k = np.arange(count)[:, None]
    m = np.sqrt(2.0 / size) * np.cos(np.pi * k * (2 * np.arange(size)[None, :] + 1) / (2 * size))
    m[0] /= np.sqrt(2.0)
    return m


# Up to this many coefficients a matrix product is cheaper than the FFT of a 1025-point envelope.
MATRIX_MAX_COEFFS = 96


def dct(x: np.ndarray, axis: int = -1, count: int | None = None) -> np.ndarray:
    """Orthonormal DCT-II along ``axis`` (scipy.fft.dct(x, type=2, norm='ortho')), float64; with
    ``count``, only its first ``count`` coefficients (the rest are not computed).

    Makhoul's reordering: v = (x0, x2, x4, ..., x5, x3, x1), X[k] = Re(exp(-i pi k / 2n) FFT(v)[k]) x 2.
    """
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    n = x.shape[-1]
    if count is not None and count <= MATRIX_MAX_COEFFS:
        return np.moveaxis(x @ dct_matrix(n, min(count, n)).T, -1, axis)
    v = np.concatenate([x[..., 0::2], x[..., 1::2][..., ::-1]], axis=-1)
    out = np.real(np.fft.fft(v, axis=-1) * _dct_twiddle(n))
    return np.moveaxis(out if count is None else out[..., :count], -1, axis)


def idct_first(c: np.ndarray, size: int) -> np.ndarray:
    """``idct`` of [..., L] coefficients followed by zeros up to ``size``: -> [..., size] (last axis)."""
    c = np.asarray(c, dtype=np.float64)
    if c.shape[-1] > MATRIX_MAX_COEFFS:
        full = np.zeros(c.shape[:-1] + (size,))
        full[..., : c.shape[-1]] = c
        return idct(full)
    return c @ dct_matrix(size, c.shape[-1])


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


def median_filter1d_nearest(x: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage.median_filter(x, size, mode='nearest') of a 1-D array, ``size`` odd: [N] -> [N]."""
    if size % 2 == 0:
        raise ValueError("median_filter1d_nearest needs an odd size")
    x = np.asarray(x)
    if size <= 1 or len(x) == 0:
        return x.copy()
    half = size // 2
    padded = np.concatenate([np.repeat(x[:1], half), x, np.repeat(x[-1:], half)])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, size), axis=1).astype(x.dtype)


def uniform_filter1d_nearest(x: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage.uniform_filter1d(x, size, mode='nearest') of a 1-D array: the mean of
    x[i - size // 2 .. i - size // 2 + size - 1], edges repeated: [N] -> [N] float64."""
    x = np.asarray(x, dtype=np.float64)
    if size <= 1 or len(x) == 0:
        return x.copy()
    before = size // 2
    padded = np.concatenate([np.repeat(x[:1], before), x, np.repeat(x[-1:], size - 1 - before)])
    return np.lib.stride_tricks.sliding_window_view(padded, size).mean(axis=1)


# --- IIR filters for frame-rate contours (thousands of samples: a plain loop is fast enough) ---

def _normalised(b, a) -> tuple[np.ndarray, np.ndarray, int]:
    """(b, a) padded to one length ``order`` and divided by a[0]: -> (b [order], a [order], order)."""
    b = np.asarray(b, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    order = max(len(a), len(b))
    return (np.concatenate([b, np.zeros(order - len(b))]) / a[0],
            np.concatenate([a, np.zeros(order - len(a))]) / a[0], order)


def lfilter(b, a, x: np.ndarray, zi: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scipy.signal.lfilter(b, a, x, zi=zi) (direct form II transposed): [N] -> ([N], final state
    [max(len(a), len(b)) - 1]). A loop per sample: meant for contours, not audio."""
    b, a, order = _normalised(b, a)
    z = [0.0] * (order - 1) if zi is None else [float(v) for v in np.asarray(zi, dtype=np.float64)]
    bl, al = b.tolist(), a.tolist()
    out = np.empty(len(x))
    for n, v in enumerate(np.asarray(x, dtype=np.float64).tolist()):
        y = bl[0] * v + (z[0] if order > 1 else 0.0)
        for k in range(order - 2):
            z[k] = bl[k + 1] * v - al[k + 1] * y + z[k + 1]
        if order > 1:
            z[order - 2] = bl[order - 1] * v - al[order - 1] * y
        out[n] = y
    return out, np.array(z)


def lfilter_zi(b, a) -> np.ndarray:
    """scipy.signal.lfilter_zi: the state of a unit step's steady output: [max(len(a), len(b)) - 1]."""
    b, a, order = _normalised(b, a)
    companion = np.zeros((order - 1, order - 1))
    companion[0] = -a[1:]
    companion[np.arange(1, order - 1), np.arange(order - 2)] = 1.0
    return np.linalg.solve(np.eye(order - 1) - companion.T, b[1:] - a[1:] * b[0])


def filtfilt(b, a, x: np.ndarray) -> np.ndarray:
    """scipy.signal.filtfilt(b, a, x) with its defaults (odd extension of 3 x max(len(a), len(b))
    samples, steady-state initial conditions): zero-phase [N] -> [N]."""
    x = np.asarray(x, dtype=np.float64)
    pad = 3 * max(len(a), len(b))
    if len(x) <= pad:
        raise ValueError(f"filtfilt needs more than {pad} samples")
    ext = np.concatenate([2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2:-(pad + 2):-1]])
    zi = lfilter_zi(b, a)
    y, _ = lfilter(b, a, ext, zi=zi * ext[0])
    y, _ = lfilter(b, a, y[::-1], zi=zi * y[-1])
    return y[::-1][pad:-pad]


def bilinear(b, a, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """scipy.signal.bilinear: analog (b, a) (descending powers of s) -> digital (b, a) at ``fs``,
    s = 2 fs (z - 1) / (z + 1)."""
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))
    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    m = max(len(a), len(b)) - 1

    def substitute(p: np.ndarray) -> np.ndarray:
        out = np.zeros(m + 1)
        deg = len(p) - 1
        for i, coef in enumerate(p):          # coef multiplies s^(deg - i)
            power = deg - i
            term = np.array([coef * (2.0 * fs) ** power])
            for _ in range(power):
                term = np.polymul(term, [1.0, -1.0])
            for _ in range(m - power):
                term = np.polymul(term, [1.0, 1.0])
            out += term
        return out

    bz, az = substitute(b), substitute(a)
    return bz / az[0], az / az[0]


def butter2_lowpass(wn: float) -> tuple[np.ndarray, np.ndarray]:
    """scipy.signal.butter(2, wn) (digital low pass, ``wn`` a fraction of Nyquist): (b [3], a [3])."""
    warped = 4.0 * np.tan(np.pi * wn / 2.0)          # pre-warped at fs = 2, as scipy does
    return bilinear([warped * warped], [1.0, np.sqrt(2.0) * warped, warped * warped], fs=2.0)


def convolve_blocks(x: np.ndarray, h: np.ndarray, min_fft: int = 1 << 18):
    """The first len(x) samples of x [N] * h [L] by overlap-add FFT convolution, block by block:
    yields (start, y) with y the finished output samples [start, start + len(y)), in order.
    Memory O(block + L), not O(N): for audio of any length."""
    h = np.asarray(h, dtype=np.float64)
    n_ir = len(h)
    nfft = max(min_fft, 1 << int(np.ceil(np.log2(4 * n_ir))))
    step = nfft - n_ir + 1
    h_f = np.fft.rfft(h, nfft)
    tail = np.zeros(n_ir - 1)
    for s0 in range(0, len(x), step):
        s1 = min(s0 + step, len(x))
        y = np.fft.irfft(np.fft.rfft(np.asarray(x[s0:s1], np.float64), nfft) * h_f, nfft)[: s1 - s0 + n_ir - 1]
        y[: n_ir - 1] += tail
        tail = y[s1 - s0:].copy()
        yield s0, y[: s1 - s0]


def one_pole(x: np.ndarray, pole: float) -> np.ndarray:
    """scipy.signal.lfilter([1], [1, -pole], x) for audio-length x and 0 <= pole < 1, as an FFT
    convolution (convolve_blocks) with pole^n cut where it falls below 1e-17: [N] -> [N] float64."""
    x = np.asarray(x, dtype=np.float64)
    if pole <= 0.0 or len(x) == 0:
        return x.copy()
    out = np.empty(len(x))
    for start, y in one_pole_blocks(x, pole):
        out[start:start + len(y)] = y
    return out


def one_pole_blocks(x, pole: float):
    """one_pole block by block: yields (start, y [block]) in order (convolve_blocks); ``x`` is
    anything of length N read in consecutive slices x[a:b] (e.g. a generator of noise)."""
    h = pole ** np.arange(int(np.ceil(np.log(1e-17) / np.log(pole))) + 1) if pole > 0.0 else np.ones(1)
    return convolve_blocks(x, h)


def find_peaks(x: np.ndarray, prominence: float, distance: int) -> np.ndarray:
    """scipy.signal.find_peaks(x, prominence=prominence, distance=distance)[0]: local maxima (a flat
    top counts once, at its middle), thinned to ``distance`` by height (the highest first), then
    kept when their prominence is at least ``prominence``: [N] -> peak indices [P]."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    peaks = []
    i = 1
    while i < n - 1:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < n - 1 and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                peaks.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    peaks = np.array(peaks, dtype=np.intp)
    if len(peaks) == 0:
        return peaks
    step = int(np.ceil(distance))
    keep = np.ones(len(peaks), bool)
    for j in np.argsort(x[peaks])[::-1]:
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and peaks[j] - peaks[k] < step:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < len(peaks) and peaks[k] - peaks[j] < step:
            keep[k] = False
            k += 1
    peaks = peaks[keep]
    prominent = []
    for p in peaks:
        higher_left = np.flatnonzero(x[:p] > x[p])
        higher_right = np.flatnonzero(x[p + 1:] > x[p])
        left_min = x[(higher_left[-1] + 1 if len(higher_left) else 0): p + 1].min()
        right_min = x[p: (p + 1 + higher_right[0] if len(higher_right) else n)].min()
        prominent.append(x[p] - max(left_min, right_min) >= prominence)
    return peaks[np.array(prominent, bool)]
