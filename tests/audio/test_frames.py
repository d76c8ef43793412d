"""Frame-grid helpers shared by align/ and melody/: runs of a mask, smoothing, ms -> frames."""
from __future__ import annotations

import numpy as np

from alignsts.audio import frames
from alignsts.audio import frontend as fe
from alignsts.melody import contour


def test_runs():
    mask = np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], bool)
    assert frames.runs(mask) == [(0, 2), (4, 5), (6, 9)]
    assert frames.runs(np.zeros(4, bool)) == []
    assert frames.runs(np.ones(3, bool)) == [(0, 3)]


def test_ms_to_frames():
    assert frames.ms_to_frames(fe.FRAME_PERIOD_MS * 15) == 15
    assert frames.ms_to_frames(80.0) == 15
    assert frames.ms_to_frames(0.0) == 0


def test_smooth_frames_keeps_constants_and_edges():
    x = np.r_[np.zeros(20), np.ones(20)]
    y = frames.smooth_frames(x, 5)
    assert y.shape == x.shape and y[0] == 0.0 and y[-1] == 1.0
    assert np.all(np.diff(y) >= 0) and 0.0 < y[20] < 1.0           # the step is blurred, not moved
    np.testing.assert_allclose(frames.smooth_frames(np.full((9, 2), 3.0), 4), 3.0)
    assert frames.smooth_frames(x, 1) is x


def test_contour_still_offers_them():
    assert (contour.runs, contour.ms_to_frames, contour.smooth_frames) == (
        frames.runs, frames.ms_to_frames, frames.smooth_frames)
