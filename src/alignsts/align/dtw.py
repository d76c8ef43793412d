"""Dynamic time warping: full for small inputs, multiscale banded for long ones.

Path convention: an int array [L, 2] of (i, j) pairs, i indexing the first sequence
(the speech), j the second (the sung reference), from (0, 0) to (N-1, M-1), each step
one of (1, 1), (1, 0), (0, 1).
"""
from __future__ import annotations

import functools

import numpy as np

# moves: 0 = diagonal, 1 = i advances only (speech moves, reference holds: speech is
# compressed), 2 = j advances only (reference moves, speech holds: speech is stretched)
_INF = np.inf

# A band of at most this many cells and rows is filled in numpy, a row at a time (its left moves
# as one prefix-minimum scan): about 0.1 s for 8 s against 8 s (1500 x 1500 frames), less than
# numba's import (about 0.3 s a process) costs; each row costs some 40 us of numpy calls, hence the
# row limit. Larger bands (long inputs) go to numba's compiled loop, which is imported only then.
NUMPY_BAND_CELLS = 6_000_000
NUMPY_BAND_ROWS = 4_000


def _numpy_band(offsets: np.ndarray) -> bool:
    """Whether a band with these row offsets [N + 1] is filled in numpy (else by numba)."""
    return len(offsets) - 1 <= NUMPY_BAND_ROWS and offsets[-1] <= NUMPY_BAND_CELLS


@functools.lru_cache(maxsize=None)
def _compiled(name: str):
    """numba-compiled version (cached on disk) of one of this module's loops, compiled on first use."""
    from numba import njit

    return njit(cache=True)(globals()[name])


def compile_loops() -> None:
    """Compile (or load from numba's cache) the loops long alignments use: run by
    scripts/warm_caches.py at install, so a user's first long conversion does not compile them."""
    x = np.zeros((3, 2))
    lo, hi = np.zeros(3, np.int64), np.full(3, 3, np.int64)
    offsets = np.arange(4, dtype=np.int64) * 3
    acc, back = np.full(9, _INF), np.zeros(9, np.int8)
    _compiled("_accumulate_rows")(x, x, lo, hi, np.ones(3), 0.0, 0.0, offsets, acc, back, 0, 3)
    _compiled("_backtrack")(back, offsets, lo, 3, 3)


def _accumulate_rows(X, Y, lo, hi, row_weight, pen_i, pen_j, offsets, acc, back, i0, i1):
    """Accumulated symmetric cost of band rows i0..i1-1 (rows before i0 already done), in place
    into the flat ``acc`` and backpointers ``back`` laid out by ``offsets``."""
    dim = X.shape[1]
    for i in range(i0, i1):
        base = offsets[i]
        pbase = offsets[i - 1] if i > 0 else 0
        plo = lo[i - 1] if i > 0 else 0
        phi = hi[i - 1] if i > 0 else 0
        w = row_weight[i]
        for j in range(lo[i], hi[i]):
            d = 0.0
            for k in range(dim):
                t = X[i, k] - Y[j, k]
                d += t * t
            c = np.sqrt(d)
            if i == 0 and j == 0:
                acc[base] = c
                back[base] = -1
                continue
            best = _INF
            move = 0
            if i > 0 and j > 0 and plo <= j - 1 < phi:
                v = acc[pbase + j - 1 - plo] + 2.0 * c
                if v < best:
                    best = v
                    move = 0
            if i > 0 and plo <= j < phi:
                v = acc[pbase + j - plo] + c * w + pen_i
                if v < best:
                    best = v
                    move = 1
            if j > lo[i]:
                v = acc[base + j - 1 - lo[i]] + c + pen_j
                if v < best:
                    best = v
                    move = 2
            acc[base + j - lo[i]] = best
            back[base + j - lo[i]] = move


# cells per call into numba: a long band is filled in pieces of about this size, so the
# interpreter regains control (progress, Ctrl-C) every fraction of a second
BAND_CELLS_PER_CALL = 4_000_000


def _accumulate_band(X, Y, lo, hi, row_weight, pen_i, pen_j):
    """Accumulated symmetric cost over a band; returns flat acc, backpointers and row offsets."""
    n = X.shape[0]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(hi - lo, out=offsets[1:])
    acc = np.full(offsets[n], _INF)
    back = np.zeros(offsets[n], dtype=np.int8)
    if _numpy_band(offsets):
        _accumulate_rows_numpy(X, Y, lo, hi, row_weight, pen_i, pen_j, offsets, acc, back)
        return acc, back, offsets
    accumulate_rows = _compiled("_accumulate_rows")
    i0 = 0
    while i0 < n:
        i1 = int(np.searchsorted(offsets, offsets[i0] + BAND_CELLS_PER_CALL, side="right"))
        i1 = min(max(i1, i0 + 1), n)
        accumulate_rows(X, Y, lo, hi, row_weight, pen_i, pen_j, offsets, acc, back, i0, i1)
        i0 = i1
    return acc, back, offsets


def _accumulate_rows_numpy(X, Y, lo, hi, row_weight, pen_i, pen_j, offsets, acc, back):
    """_accumulate_rows over every row, in numpy: the same moves and costs (up to rounding).

    Within a row, with a[j] the best of the diagonal and vertical moves into column j and
    g[j] = c[j] + pen_j the cost of a horizontal move into it, acc[j] = min(a[j], acc[j-1] + g[j])
    unrolls to S[j] + min_{k<=j} (a[k] - S[k]) with S = cumsum(g): one running minimum."""
    n = X.shape[0]
    width = int(np.max(hi - lo)) if n else 0
    inf_row = np.full(width, _INF)
    prev = None
    for i in range(n):
        l, h = int(lo[i]), int(hi[i])
        w_i = h - l
        base = int(offsets[i])
        diff = Y[l:h] - X[i]
        c = np.sqrt(np.einsum("jk,jk->j", diff, diff))
        a = inf_row[:w_i].copy()
        move = back[base:base + w_i]          # written in place (zeros: diagonal)
        if i == 0:
            a[0] = c[0]          # lo[0] == 0: the path starts at (0, 0)
        else:
            pl, ph = int(lo[i - 1]), int(hi[i - 1])
            # diagonal from (i-1, j-1): columns j with j-1 in [pl, ph) and j >= 1
            d0, d1 = max(l, pl + 1, 1), min(h, ph + 1)
            if d1 > d0:
                np.add(prev[d0 - 1 - pl:d1 - 1 - pl], 2.0 * c[d0 - l:d1 - l], out=a[d0 - l:d1 - l])
            # vertical from (i-1, j): columns j in [pl, ph)
            u0, u1 = max(l, pl), min(h, ph)
            if u1 > u0:
                up = prev[u0 - pl:u1 - pl] + c[u0 - l:u1 - l] * row_weight[i] + pen_i
                better = up < a[u0 - l:u1 - l]
                np.copyto(a[u0 - l:u1 - l], up, where=better)
                move[u0 - l:u1 - l][better] = 1
        g = c + pen_j
        g[0] = 0.0
        s = np.cumsum(g)
        row = s + np.minimum.accumulate(a - s)
        # horizontal where it is strictly better than the diagonal / vertical move into the cell
        left = row[:-1] + g[1:] < a[1:]
        np.copyto(row[1:], a[1:], where=~left)
        row[0] = a[0]
        move[1:][left] = 2
        if i == 0:
            move[0] = -1
        acc[base:base + w_i] = row
        prev = row


def _backtrack(back, offsets, lo, n, m):
    """Path [L, 2] from (0, 0) to (n-1, m-1) through the backpointers (plain Python, or compiled)."""
    path = np.zeros((n + m, 2), dtype=np.int64)
    i = n - 1
    j = m - 1
    k = 0
    while True:
        path[k, 0] = i
        path[k, 1] = j
        k += 1
        if i == 0 and j == 0:
            break
        mv = back[offsets[i] + j - lo[i]]
        if mv == 0:
            i -= 1
            j -= 1
        elif mv == 1:
            i -= 1
        elif mv == 2:
            j -= 1
        else:
            break
    return path[:k][::-1].copy()


def _full_backpointers(cost):
    """Backpointers [N * M] of symmetric DTW over a full cost matrix [N, M]."""
    n, m = cost.shape
    acc = np.full((n, m), _INF)
    back = np.zeros(n * m, dtype=np.int8)
    for i in range(n):
        for j in range(m):
            c = cost[i, j]
            if i == 0 and j == 0:
                acc[0, 0] = c
                back[0] = -1
                continue
            best = _INF
            mv = 0
            if i > 0 and j > 0 and acc[i - 1, j - 1] + 2 * c < best:
                best = acc[i - 1, j - 1] + 2 * c
                mv = 0
            if i > 0 and acc[i - 1, j] + c < best:
                best = acc[i - 1, j] + c
                mv = 1
            if j > 0 and acc[i, j - 1] + c < best:
                best = acc[i, j - 1] + c
                mv = 2
            acc[i, j] = best
            back[i * m + j] = mv
    return back


def dtw_full(cost: np.ndarray) -> np.ndarray:
    """Symmetric DTW over a precomputed cost matrix [N, M] -> path [L, 2]."""
    n, m = cost.shape
    back = _compiled("_full_backpointers")(np.ascontiguousarray(cost, dtype=np.float64))
    return _compiled("_backtrack")(back, np.arange(n + 1, dtype=np.int64) * m, np.zeros(n, dtype=np.int64), n, m)


def banded_dtw(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               row_weight: np.ndarray | None = None, pen_i: float = 0.0,
               pen_j: float = 0.0) -> np.ndarray:
    """DTW of x [N, D] against y [M, D] (Euclidean frame cost) within columns [lo[i], hi[i]).

    ``row_weight`` [N] scales the cost of passing over a row of x while y holds (a move
    (1, 0)); a low weight makes those frames of x cheap to skip. Returns path [L, 2].
    """
    n, m = len(x), len(y)
    if row_weight is None:
        row_weight = np.ones(n)
    _, back, offsets = _accumulate_band(np.ascontiguousarray(x, np.float64),
                                        np.ascontiguousarray(y, np.float64),
                                        lo.astype(np.int64), hi.astype(np.int64),
                                        np.ascontiguousarray(row_weight, np.float64),
                                        float(pen_i), float(pen_j))
    backtrack = _backtrack if _numpy_band(offsets) else _compiled("_backtrack")
    return backtrack(back, offsets, lo.astype(np.int64), n, m)


def _halve(x: np.ndarray) -> np.ndarray:
    """Average consecutive pairs of frames: [N, D] -> [ceil(N/2), D]."""
    if len(x) % 2:
        x = np.concatenate([x, x[-1:]], axis=0)
    return 0.5 * (x[0::2] + x[1::2])


def band_from_path(path: np.ndarray, n: int, m: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Column window per row covering a coarse path projected to twice the resolution.

    path [L, 2] at half resolution -> lo, hi [n] with hi exclusive, monotone, connected.
    """
    lo = np.full(n, m, dtype=np.int64)
    hi = np.zeros(n, dtype=np.int64)
    for di in (0, 1):
        rows = np.minimum(2 * path[:, 0] + di, n - 1)
        np.minimum.at(lo, rows, 2 * path[:, 1])
        np.maximum.at(hi, rows, 2 * path[:, 1] + 2)
    lo = np.maximum(lo - radius, 0)
    hi = np.minimum(hi + radius, m)
    # make the band monotone and connected (row i+1 starts no later than row i ends)
    lo = np.minimum.accumulate(lo[::-1])[::-1]
    hi = np.maximum.accumulate(hi)
    lo[0] = 0
    hi[-1] = m
    return lo, hi


def multiscale_dtw(x: np.ndarray, y: np.ndarray, row_weight: np.ndarray | None = None,
                   radius: int = 12, max_full_cells: int = 4_000_000, pen_i: float = 0.0,
                   pen_j: float = 0.0, progress=None) -> np.ndarray:
    """FastDTW-style alignment with memory O((N + M) * radius): x [N, D], y [M, D] -> path [L, 2].

    Halves both sequences until N * M <= ``max_full_cells``, aligns there without a band,
    then refines level by level inside a band of ``radius`` frames around the projected path.
    """
    if row_weight is None:
        row_weight = np.ones(len(x))
    pyramid = [(np.asarray(x, np.float64), np.asarray(y, np.float64), np.asarray(row_weight, np.float64))]
    while len(pyramid[-1][0]) * len(pyramid[-1][1]) > max_full_cells and min(
            len(pyramid[-1][0]), len(pyramid[-1][1])) > 8:
        a, b, w = pyramid[-1]
        pyramid.append((_halve(a), _halve(b), _halve(w[:, None])[:, 0]))
    a, b, w = pyramid[-1]
    path = banded_dtw(a, b, np.zeros(len(a), np.int64), np.full(len(a), len(b), np.int64), w, pen_i, pen_j)
    levels = len(pyramid) - 1
    for k, (a, b, w) in enumerate(reversed(pyramid[:-1])):
        lo, hi = band_from_path(path, len(a), len(b), radius)
        path = banded_dtw(a, b, lo, hi, w, pen_i, pen_j)
        if progress is not None:
            progress((k + 1) / levels)
    return path
