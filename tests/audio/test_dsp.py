"""audio.dsp: the numpy primitives equal the scipy calls they replace."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import fft as sfft
from scipy import ndimage

from alignsts.audio import dsp


@pytest.mark.parametrize("n", [1, 2, 3, 8, 41, 80, 513])
def test_dct_and_idct_equal_scipy_orthonormal(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(5, n))
    np.testing.assert_allclose(dsp.dct(x, axis=1), sfft.dct(x, type=2, norm="ortho", axis=1), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dsp.idct(x, axis=1), sfft.idct(x, type=2, norm="ortho", axis=1), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dsp.idct(dsp.dct(x)), x, atol=1e-10)
    np.testing.assert_allclose(dsp.dct(x.T, axis=0), sfft.dct(x.T, type=2, norm="ortho", axis=0), atol=1e-10)
    v = x[0]
    np.testing.assert_allclose(dsp.idct(v), sfft.idct(v, type=2, norm="ortho"), atol=1e-10)


@pytest.mark.parametrize("width", [1, 2, 3, 5, 8, 11])
def test_convolve1d_nearest_equals_scipy(width):
    rng = np.random.default_rng(width)
    kernel = np.hanning(width + 2)[1:-1] * np.linspace(1.0, 2.0, width)   # asymmetric: orientation counts
    for shape in [(1,), (4,), (50,), (50, 7)]:
        x = rng.normal(size=shape)
        np.testing.assert_allclose(dsp.convolve1d_nearest(x, kernel / kernel.sum(), axis=0),
                                   ndimage.convolve1d(x, kernel / kernel.sum(), axis=0, mode="nearest"), atol=1e-12)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 9, 10])
def test_maximum_filter1d_nearest_equals_scipy(size):
    rng = np.random.default_rng(size)
    for n in (1, 2, 5, 60):
        x = rng.normal(size=n)
        np.testing.assert_array_equal(dsp.maximum_filter1d_nearest(x, size),
                                      ndimage.maximum_filter1d(x, size, mode="nearest"))
        b = (rng.random(n) < 0.2).astype(np.uint8)
        np.testing.assert_array_equal(dsp.maximum_filter1d_nearest(b, size),
                                      ndimage.maximum_filter1d(b, size, mode="nearest"))


@pytest.mark.parametrize("width", [1, 2, 3, 4, 7, 10])
def test_binary_dilation1d_equals_scipy(width):
    rng = np.random.default_rng(width)
    for n in (1, 3, 12, 80):
        m = rng.random(n) < 0.1
        np.testing.assert_array_equal(dsp.binary_dilation1d(m, width), ndimage.binary_dilation(m, np.ones(width)))


def test_importing_dsp_imports_no_scipy():
    code = ("import sys\nfrom alignsts.audio import dsp\nimport numpy as np\n"
            "dsp.dct(np.ones((3, 8))); dsp.idct(np.ones(8)); dsp.maximum_filter1d_nearest(np.ones(5), 3)\n"
            "assert not [m for m in sys.modules if m.startswith('scipy')]\n")
    subprocess.run([sys.executable, "-c", code], check=True)
