"""ITU-R BS.1770-4 integrated loudness without scipy.signal: the K-weighting pre-filter (a high
shelf and a high pass, designed for any rate as pyloudnorm designs them: the Audio EQ Cookbook
biquads at 1500 Hz / +4 dB / Q 1/sqrt(2) and 38 Hz / Q 0.5) runs in one compiled loop that also
sums the squared output over the gating blocks' pieces, so memory stays O(blocks) on long audio.
The gating (400 ms blocks, 75 % overlap, -70 LUFS absolute and -10 LU relative gates, channel
gains 1, 1, 1, 1.41, 1.41) follows pyloudnorm.Meter.integrated_loudness, which tests compare
it with. Importing this module imports numpy only; numba loads on the first measurement.
"""
from __future__ import annotations

import functools
import math

import numpy as np

BLOCK_S = 0.4
OVERLAP = 0.75
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
CHANNEL_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)   # L, R, C, Ls, Rs; further channels count 1


def biquad(kind: str, gain_db: float, q: float, fc: float, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Audio EQ Cookbook biquad ('high_shelf' or 'high_pass'): (b [3], a [3]) normalised by a0."""
    a_ = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * fc / rate
    alpha = math.sin(w0) / (2.0 * q)
    cw = math.cos(w0)
    if kind == "high_shelf":
        sa = 2.0 * math.sqrt(a_) * alpha
        b = [a_ * ((a_ + 1) + (a_ - 1) * cw + sa), -2 * a_ * ((a_ - 1) + (a_ + 1) * cw),
             a_ * ((a_ + 1) + (a_ - 1) * cw - sa)]
        a = [(a_ + 1) - (a_ - 1) * cw + sa, 2 * ((a_ - 1) - (a_ + 1) * cw), (a_ + 1) - (a_ - 1) * cw - sa]
    elif kind == "high_pass":
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    else:
        raise ValueError(f"unknown biquad {kind!r}")
    return np.array(b) / a[0], np.array(a) / a[0]


@functools.lru_cache(maxsize=16)
def k_weighting(rate: float) -> np.ndarray:
    """The two K-weighting biquads at ``rate`` as [2, 6] rows (b0, b1, b2, a0, a1, a2); cached per rate."""
    shelf = biquad("high_shelf", 4.0, 1.0 / math.sqrt(2.0), 1500.0, rate)
    high_pass = biquad("high_pass", 0.0, 0.5, 38.0, rate)
    return np.array([np.concatenate(shelf), np.concatenate(high_pass)])


@functools.lru_cache(maxsize=1)
def _kernel():
    """The compiled filter-and-sum loop (numba, cached on disk: compiled once per machine)."""
    from numba import njit

    @njit(cache=True, nogil=True)
    def filtered_piece_power(x, sos, edges):
        """x [N] through the biquads ``sos`` [S, 6] (direct form II transposed, zero initial state);
        returns the sum of the squared output over each piece edges[k]..edges[k+1]: [K - 1]."""
        n_sec = sos.shape[0]
        z1 = np.zeros(n_sec)
        z2 = np.zeros(n_sec)
        out = np.zeros(len(edges) - 1)
        k = 0
        for i in range(len(x)):
            while k < len(out) and i >= edges[k + 1]:
                k += 1
            v = float(x[i])
            for s in range(n_sec):
                y = sos[s, 0] * v + z1[s]
                z1[s] = sos[s, 1] * v - sos[s, 4] * y + z2[s]
                z2[s] = sos[s, 2] * v - sos[s, 5] * y
                v = y
            if k < len(out):
                out[k] += v * v
        return out

    return filtered_piece_power


def block_bounds(n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample ranges [l, u) of the gating blocks of ``n`` samples, as pyloudnorm counts them."""
    t = n / rate
    step = 1.0 - OVERLAP
    count = int(np.round((t - BLOCK_S) / (BLOCK_S * step))) + 1
    j = np.arange(max(count, 0))
    lo = np.array([int(BLOCK_S * (k * step) * rate) for k in j], dtype=np.int64)
    hi = np.array([int(BLOCK_S * (k * step + 1) * rate) for k in j], dtype=np.int64)
    return np.minimum(lo, n), np.minimum(hi, n)


def block_power(wav: np.ndarray, rate: float) -> np.ndarray:
    """Mean square of the K-weighted signal per gating block and channel: [N] or [N, C] -> [C, J]."""
    x = np.asarray(wav)
    x = x[:, None] if x.ndim == 1 else x
    lo, hi = block_bounds(x.shape[0], rate)
    edges = np.unique(np.concatenate(([0], lo, hi, [x.shape[0]])))
    kernel, sos = _kernel(), k_weighting(float(rate))
    z = np.zeros((x.shape[1], len(lo)))
    for c in range(x.shape[1]):
        piece = kernel(np.ascontiguousarray(x[:, c]), sos, edges)
        cum = np.concatenate(([0.0], np.cumsum(piece)))
        z[c] = (cum[np.searchsorted(edges, hi)] - cum[np.searchsorted(edges, lo)]) / (BLOCK_S * rate)
    return z


def integrated_loudness(wav: np.ndarray, rate: float) -> float:
    """Gated integrated loudness (LUFS) of [N] or [N, C] audio at least one block long; -inf
    when every block is below the absolute gate."""
    z = block_power(wav, rate)
    gains = np.array([CHANNEL_GAINS[c] if c < len(CHANNEL_GAINS) else 1.0 for c in range(z.shape[0])])
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(gains @ z)
        above = block_lufs >= ABSOLUTE_GATE
        if not above.any():
            return float("-inf")
        relative = -0.691 + 10.0 * np.log10(gains @ z[:, above].mean(axis=1)) + RELATIVE_GATE
        gated = (block_lufs > relative) & (block_lufs > ABSOLUTE_GATE)
        if not gated.any():
            return float("-inf")
        return float(-0.691 + 10.0 * np.log10(gains @ z[:, gated].mean(axis=1)))
