"""ITU-R BS.1770-4 integrated loudness without scipy.signal or numba: the K-weighting pre-filter
(a high shelf and a high pass, designed for any rate as pyloudnorm designs them: the Audio EQ
Cookbook biquads at 1500 Hz / +4 dB / Q 1/sqrt(2) and 38 Hz / Q 0.5) runs as a block-wise FFT
convolution with its impulse response that also sums the squared output up to the gating blocks'
edges, so memory stays O(block) on long audio.
The gating (400 ms blocks, 75 % overlap, -70 LUFS absolute and -10 LU relative gates, channel
gains 1, 1, 1, 1.41, 1.41) follows pyloudnorm.Meter.integrated_loudness, which tests compare
it with. It imports numpy only.
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


# The K-weighting filter is applied as an FFT convolution with its impulse response: the two
# biquads' response has decayed below 1e-15 of its peak within IR_SECONDS at any rate (the 38 Hz
# high pass, critically damped, falls as t exp(-2 pi 38 t)), so the result equals the recursive
# filter's to rounding, without numba's 0.3 s import or scipy.signal's 0.4 s.
IR_SECONDS = 0.25
MIN_FFT = 1 << 18          # samples per convolution block (memory per block: a few MB)


@functools.lru_cache(maxsize=16)
def k_impulse_response(rate: float) -> np.ndarray:
    """Impulse response [L] of the K-weighting cascade at ``rate`` (L a power of two >= IR_SECONDS),
    read off its frequency response on an L-point grid (time aliasing below 1e-15)."""
    n = 1 << max(int(math.ceil(math.log2(IR_SECONDS * rate))), 4)
    z = np.exp(-2j * np.pi * np.arange(n // 2 + 1) / n)       # z^-1 on the grid
    response = np.ones(n // 2 + 1, complex)
    for b0, b1, b2, a0, a1, a2 in k_weighting(float(rate)):
        response *= (b0 + b1 * z + b2 * z * z) / (a0 + a1 * z + a2 * z * z)
    return np.fft.irfft(response, n)


def weighted_energy_at(x: np.ndarray, rate: float, points: np.ndarray) -> np.ndarray:
    """Sum of the squared K-weighted signal over samples [0, p) for each p of ``points`` (sorted,
    0..N): x [N] -> [P]. Overlap-add convolution in blocks: memory O(block), not O(N)."""
    from .dsp import convolve_blocks

    out = np.zeros(len(points))
    total = 0.0
    for s0, y in convolve_blocks(x, k_impulse_response(float(rate)), MIN_FFT):
        cum = total + np.cumsum(np.square(y))
        sel = (points > s0) & (points <= s0 + len(y))
        out[sel] = cum[points[sel] - s0 - 1]
        total = float(cum[-1])
    return out


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
    points = np.unique(np.concatenate((lo, hi)))
    z = np.zeros((x.shape[1], len(lo)))
    for c in range(x.shape[1]):
        cum = weighted_energy_at(x[:, c], rate, points)
        z[c] = (cum[np.searchsorted(points, hi)] - cum[np.searchsorted(points, lo)]) / (BLOCK_S * rate)
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
