"""DTW: optimality against a brute-force reference, path validity, recovery of a known warp."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from alignsts.align import dtw
from alignsts.align.speech_to_sung import source_per_frame


def _assert_valid_path(path, n, m):
    path = np.asarray(path)
    assert path.ndim == 2 and path.shape[1] == 2
    assert tuple(path[0]) == (0, 0)
    assert tuple(path[-1]) == (n - 1, m - 1)
    steps = {tuple(s) for s in np.diff(path, axis=0)}
    assert steps <= {(1, 1), (1, 0), (0, 1)}, steps


def _euclid(x, y):
    return np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1))


def _reference_dtw_cost(cost, row_weight=None, pen_i=0.0, pen_j=0.0):
    """Plain-Python symmetric DTW (diagonal x2; row weights scale only the (1, 0) moves)."""
    n, m = cost.shape
    w = np.ones(n) if row_weight is None else row_weight
    acc = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(m):
            c = cost[i, j]
            if i == 0 and j == 0:
                acc[i, j] = c
                continue
            best = np.inf
            if i and j:
                best = min(best, acc[i - 1, j - 1] + 2 * c)
            if i:
                best = min(best, acc[i - 1, j] + c * w[i] + pen_i)
            if j:
                best = min(best, acc[i, j - 1] + c + pen_j)
            acc[i, j] = best
    return acc[-1, -1]


def _path_cost(path, cost, row_weight=None, pen_i=0.0, pen_j=0.0):
    w = np.ones(cost.shape[0]) if row_weight is None else row_weight
    total = cost[path[0, 0], path[0, 1]]
    for (i0, j0), (i, j) in zip(path[:-1], path[1:]):
        c = cost[i, j]
        if i > i0 and j > j0:
            total += 2 * c
        elif i > i0:
            total += c * w[i] + pen_i
        else:
            total += c + pen_j
    return total


def _smooth_random(n, dim, seed, sigma=4.0):
    rng = np.random.default_rng(seed)
    x = gaussian_filter1d(rng.standard_normal((n, dim)), sigma, axis=0)
    return x / x.std(axis=0)


def _warp(x, rates, knots_frac):
    """Resample x [N, D] along a piecewise-linear monotone map; rates = output frames per input frame.

    Returns (y [M, D], g [M]) with y[j] = x(g[j]).
    """
    n = len(x)
    knots_x = np.asarray(knots_frac) * (n - 1)
    knots_y = np.concatenate([[0.0], np.cumsum(np.diff(knots_x) * np.asarray(rates))])
    m = int(knots_y[-1]) + 1
    g = np.interp(np.arange(m), knots_y, knots_x)
    y = np.stack([np.interp(g, np.arange(n), x[:, k]) for k in range(x.shape[1])], axis=1)
    return y, g


# ---------------------------------------------------------------- exact small cases
@pytest.mark.parametrize("seed", range(6))
def test_dtw_full_is_optimal_and_valid(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(2, 25, size=2)
    cost = rng.random((n, m))
    path = dtw.dtw_full(cost)
    _assert_valid_path(path, n, m)
    assert _path_cost(path, cost) == pytest.approx(_reference_dtw_cost(cost), rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_banded_with_full_band_equals_dtw_full(seed):
    rng = np.random.default_rng(100 + seed)
    n, m = rng.integers(2, 30, size=2)
    x, y = rng.standard_normal((n, 5)), rng.standard_normal((m, 5))
    full = dtw.dtw_full(_euclid(x, y))
    banded = dtw.banded_dtw(x, y, np.zeros(n, np.int64), np.full(n, m, np.int64))
    np.testing.assert_array_equal(banded, full)
    # and multiscale without any halving (everything fits) is the same
    np.testing.assert_array_equal(dtw.multiscale_dtw(x, y, max_full_cells=n * m), full)


def test_banded_row_weight_and_penalties_are_optimal():
    rng = np.random.default_rng(7)
    n, m = 18, 27
    x, y = rng.standard_normal((n, 4)), rng.standard_normal((m, 4))
    w = rng.uniform(0.2, 1.5, n)
    cost = _euclid(x, y)
    path = dtw.banded_dtw(x, y, np.zeros(n, np.int64), np.full(n, m, np.int64), w, pen_i=0.3, pen_j=0.7)
    _assert_valid_path(path, n, m)
    assert _path_cost(path, cost, w, 0.3, 0.7) == pytest.approx(_reference_dtw_cost(cost, w, 0.3, 0.7))


def test_stretch_penalty_reduces_horizontal_steps():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((40, 3)), rng.standard_normal((60, 3))
    free = dtw.multiscale_dtw(x, y)
    pen = dtw.multiscale_dtw(x, y, pen_j=10.0, pen_i=10.0)
    n_free = np.sum(np.any(np.diff(free, axis=0) != [1, 1], axis=1))
    n_pen = np.sum(np.any(np.diff(pen, axis=0) != [1, 1], axis=1))
    assert n_pen == 20 < n_free     # only the unavoidable 60 - 40 single steps remain


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (2, 2), (3, 50), (50, 3)])
def test_degenerate_shapes(shape):
    n, m = shape
    rng = np.random.default_rng(n * 100 + m)
    path = dtw.multiscale_dtw(rng.standard_normal((n, 2)), rng.standard_normal((m, 2)), max_full_cells=4)
    _assert_valid_path(path, n, m)


def test_identical_sequences_give_diagonal():
    x = _smooth_random(300, 6, seed=5)
    path = dtw.multiscale_dtw(x, x, max_full_cells=500, radius=3)
    np.testing.assert_array_equal(path, np.stack([np.arange(300)] * 2, axis=1))


@pytest.mark.parametrize("radius", [0, 1, 2, 12])
def test_multiscale_paths_are_valid_for_random_inputs(radius):
    rng = np.random.default_rng(radius)
    for _ in range(15):
        n, m = rng.integers(1, 250, size=2)
        path = dtw.multiscale_dtw(rng.standard_normal((n, 3)), rng.standard_normal((m, 3)), radius=radius,
                                  max_full_cells=int(rng.integers(1, 3000)))
        _assert_valid_path(path, n, m)


# ---------------------------------------------------------------- bands
def test_band_from_path_covers_projection_and_is_monotone():
    coarse = dtw.dtw_full(np.random.default_rng(0).random((20, 31)))
    n, m = 40, 61
    lo, hi = dtw.band_from_path(coarse, n, m, radius=2)
    assert lo[0] == 0 and hi[-1] == m
    assert np.all(np.diff(lo) >= 0) and np.all(np.diff(hi) >= 0)
    assert np.all(lo < hi) and np.all(lo[1:] <= hi[:-1])           # connected
    for i, j in coarse:                                              # projected cells inside the band
        for di in (0, 1):
            r = min(2 * i + di, n - 1)
            assert lo[r] <= min(2 * j, m - 1) and min(2 * j + 1, m - 1) < hi[r]


# ---------------------------------------------------------------- known warp, multi-level
@pytest.mark.parametrize("seed", [1, 2])
def test_multiscale_recovers_known_nonlinear_warp(seed, monkeypatch):
    x = _smooth_random(600, 8, seed=seed)
    # stretch some parts 2-3x, compress others 2-2.5x
    y, g = _warp(x, rates=[1.0, 3.0, 0.5, 2.0, 0.4, 2.5], knots_frac=[0, 0.17, 0.3, 0.5, 0.63, 0.8, 1.0])
    n, m = len(x), len(y)

    calls = []
    real = dtw.banded_dtw

    def spy(a, b, lo, hi, *args, **kwargs):
        calls.append((len(a), len(b), int(np.max(hi - lo))))
        return real(a, b, lo, hi, *args, **kwargs)

    monkeypatch.setattr(dtw, "banded_dtw", spy)
    path = dtw.multiscale_dtw(x, y, radius=4, max_full_cells=3000)

    # the banded multi-level refinement was really exercised
    assert len(calls) >= 4
    assert calls[0][0] * calls[0][1] <= 3000
    assert calls[-1][:2] == (n, m)
    assert calls[-1][2] < m // 4
    _assert_valid_path(path, n, m)

    err = np.abs(source_per_frame(path, m) - g)
    assert np.median(err) <= 1.0
    assert np.percentile(err, 95) <= 2.0
    assert err.max() <= 5.0


def test_multiscale_recovers_warp_in_the_other_direction():
    """Warp the *second* sequence's time axis the other way round (speech longer than the song)."""
    y = _smooth_random(500, 6, seed=11)
    x, g = _warp(y, rates=[0.5, 2.0, 0.4, 1.0], knots_frac=[0, 0.3, 0.5, 0.8, 1.0])   # x[i] = y(g[i])
    path = dtw.multiscale_dtw(x, y, radius=5, max_full_cells=2000)
    _assert_valid_path(path, len(x), len(y))
    # per x frame, the median y frame on the path
    est = source_per_frame(path[:, ::-1], len(x))
    err = np.abs(est - g)
    assert np.median(err) <= 1.0 and np.percentile(err, 95) <= 2.0


def test_multiscale_matches_full_dtw_cost_on_easy_warp():
    x = _smooth_random(300, 6, seed=21)
    y, _ = _warp(x, rates=[2.0, 0.5, 1.5], knots_frac=[0, 0.3, 0.7, 1.0])
    cost = _euclid(x, y)
    full = dtw.dtw_full(cost)
    ms = dtw.multiscale_dtw(x, y, radius=6, max_full_cells=1000)
    assert _path_cost(ms, cost) <= 1.01 * _path_cost(full, cost)


@pytest.mark.parametrize("seed", range(6))
def test_numpy_rows_equal_the_compiled_loop(seed, monkeypatch):
    """Small bands are filled in numpy, large ones by numba: both give the same path (random
    continuous costs: no ties), full and banded, with row weights and penalties."""
    rng = np.random.default_rng(seed)
    n, m, d = int(rng.integers(2, 70)), int(rng.integers(2, 70)), int(rng.integers(1, 6))
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    w = rng.uniform(0.2, 2.0, n)
    pen_i, pen_j = rng.uniform(0.0, 1.0, 2)
    coarse = dtw.banded_dtw(dtw._halve(x), dtw._halve(y), np.zeros((n + 1) // 2, np.int64),
                            np.full((n + 1) // 2, (m + 1) // 2, np.int64))
    bands = [(np.zeros(n, np.int64), np.full(n, m, np.int64)), dtw.band_from_path(coarse, n, m, 2)]
    for lo, hi in bands:
        monkeypatch.setattr(dtw, "NUMPY_BAND_CELLS", 10 ** 9)
        by_numpy = dtw.banded_dtw(x, y, lo, hi, w, pen_i, pen_j)
        monkeypatch.setattr(dtw, "NUMPY_BAND_CELLS", -1)
        by_numba = dtw.banded_dtw(x, y, lo, hi, w, pen_i, pen_j)
        np.testing.assert_array_equal(by_numpy, by_numba)


def test_a_short_alignment_does_not_import_numba(fresh_python):
    code = ("import sys, numpy as np\n"
            "from alignsts.align import dtw\n"
            "rng = np.random.default_rng(0)\n"
            "dtw.multiscale_dtw(rng.normal(size=(300, 8)), rng.normal(size=(280, 8)))\n"
            "assert 'numba' not in sys.modules\n")
    fresh_python(code)
