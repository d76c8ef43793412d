"""F0 contour operations: transposition, gap bridging, blip removal."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.melody import contour


def test_transpose():
    f0 = np.array([0.0, 100.0, 200.0, 0.0, 440.0])
    out = contour.transpose(f0, -12)
    np.testing.assert_allclose(out, [0, 50, 100, 0, 220])
    np.testing.assert_allclose(contour.transpose(f0, 7), np.where(f0 > 0, f0 * 2 ** (7 / 12), 0))
    np.testing.assert_allclose(contour.transpose(f0, 0), f0)
    assert f0[1] == 100.0                                # input untouched


def test_bridge_gaps_fills_short_interior_gaps_only():
    f0 = np.array([0, 0, 100, 100, 0, 0, 400, 400, 0, 0, 0, 0, 0, 0, 200, 0, 0], float)
    out = contour.bridge_gaps(f0, max_gap=3)
    # gap of 2 between 100 and 400: log-linear steps (x2 per frame)
    np.testing.assert_allclose(out[4:6], [100 * 4 ** (1 / 3), 100 * 4 ** (2 / 3)])
    # gap of 6 is longer than max_gap: untouched
    np.testing.assert_array_equal(out[8:14], 0)
    # leading and trailing unvoiced frames are not interior gaps
    np.testing.assert_array_equal(out[:2], 0)
    np.testing.assert_array_equal(out[-2:], 0)
    # voiced frames unchanged, input untouched
    np.testing.assert_array_equal(out[f0 > 0], f0[f0 > 0])
    assert f0[4] == 0


def test_bridge_gaps_boundary_length():
    f0 = np.array([100, 0, 0, 0, 100], float)
    assert np.all(contour.bridge_gaps(f0, max_gap=3)[1:4] == pytest.approx(100.0))
    np.testing.assert_array_equal(contour.bridge_gaps(f0, max_gap=2), f0)


def test_bridge_gaps_allow_mask():
    f0 = np.array([100, 0, 0, 100, 0, 0, 100], float)
    allow = np.array([1, 1, 1, 1, 1, 0, 1], bool)
    out = contour.bridge_gaps(f0, max_gap=5, allow=allow)
    np.testing.assert_allclose(out[1:3], 100)
    np.testing.assert_array_equal(out[4:6], 0)      # one frame of this gap is not allowed


def test_remove_short_voiced():
    f0 = np.array([0, 100, 0, 0, 200, 200, 200, 0, 300, 300], float)
    np.testing.assert_array_equal(contour.remove_short_voiced(f0, 3), [0, 0, 0, 0, 200, 200, 200, 0, 0, 0])
    np.testing.assert_array_equal(contour.remove_short_voiced(f0, 1), f0)
