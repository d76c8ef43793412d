"""audio.dsp: the numpy primitives equal the scipy calls they replace."""
from __future__ import annotations

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


def test_importing_dsp_imports_no_scipy(fresh_python):
    code = ("import sys\nfrom alignsts.audio import dsp\nimport numpy as np\n"
            "dsp.dct(np.ones((3, 8))); dsp.idct(np.ones(8)); dsp.maximum_filter1d_nearest(np.ones(5), 3)\n"
            "assert not [m for m in sys.modules if m.startswith('scipy')]\n")
    fresh_python(code)


@pytest.mark.parametrize("size", [1, 3, 5, 9])
def test_median_and_uniform_filters_equal_scipy(size):
    rng = np.random.default_rng(size)
    for n in (1, 2, 7, 60):
        x = rng.normal(size=n)
        np.testing.assert_array_equal(dsp.median_filter1d_nearest(x, size), ndimage.median_filter(x, size=size, mode="nearest"))
        for width in (size, size + 1):
            np.testing.assert_allclose(dsp.uniform_filter1d_nearest(x, width),
                                       ndimage.uniform_filter1d(x, size=width, mode="nearest"), atol=1e-12)


def test_iir_helpers_equal_scipy_signal():
    from scipy import signal

    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    for b, a in ([[0.2, 0.3, 0.1], [1.0, -0.5, 0.2]], [[1.0], [1.0, -0.97]], [[0.5, 0.5], [2.0]], [[1.0, 0.2], [1.5, -0.3, 0.1]]):
        zi = signal.lfilter_zi(b, a)
        np.testing.assert_allclose(dsp.lfilter_zi(b, a), zi, atol=1e-12)
        want, want_z = signal.lfilter(b, a, x, zi=zi * 0.7)
        got, got_z = dsp.lfilter(b, a, x, zi=zi * 0.7)
        np.testing.assert_allclose(got, want, atol=1e-10)
        np.testing.assert_allclose(got_z, want_z, atol=1e-10)
        np.testing.assert_allclose(dsp.lfilter(b, a, x)[0], signal.lfilter(b, a, x), atol=1e-10)
        np.testing.assert_allclose(dsp.filtfilt(b, a, x), signal.filtfilt(b, a, x), atol=1e-10)
    for wn in (0.01, 0.085, 0.3, 0.9):
        for got, want in zip(dsp.butter2_lowpass(wn), signal.butter(2, wn)):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    for w, zeta in ((2.0, 0.7), (60.0, 0.3), (400.0, 1.0)):
        for got, want in zip(dsp.bilinear([w * w], [1.0, 2 * zeta * w, w * w], 187.5),
                             signal.bilinear([w * w], [1.0, 2 * zeta * w, w * w], fs=187.5)):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    long = rng.normal(size=50_000)
    np.testing.assert_allclose(dsp.one_pole(long, 0.97), signal.lfilter([1.0], [1.0, -0.97], long), atol=1e-9)


@pytest.mark.parametrize("seed", range(30))
def test_find_peaks_equals_scipy(seed):
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    # integer levels make flat tops and equal heights (the tie rules count)
    x = np.round(np.cumsum(rng.normal(size=n)) * (1 if seed % 2 else 3)) if n else np.zeros(0)
    for prominence in (0.5, 2.0, 6.0):
        for distance in (1, 3, 8):
            want, _ = signal.find_peaks(x, prominence=prominence, distance=distance)
            np.testing.assert_array_equal(dsp.find_peaks(x, prominence, distance), want)


@pytest.mark.parametrize("count", [1, 5, 65, 200])
def test_first_coefficients_and_their_inverse(count):
    rng = np.random.default_rng(count)
    x = rng.normal(size=(7, 1025))
    full = sfft.dct(x, type=2, norm="ortho", axis=1)
    np.testing.assert_allclose(dsp.dct(x, axis=1, count=count), full[:, :count], atol=1e-9)
    kept = np.zeros_like(full)
    kept[:, :count] = full[:, :count]
    np.testing.assert_allclose(dsp.idct_first(full[:, :count], 1025), sfft.idct(kept, type=2, norm="ortho", axis=1),
                               atol=1e-9)


def test_one_pole_across_convolution_blocks_equals_scipy():
    from scipy import signal

    x = np.random.default_rng(1).normal(size=3 * (1 << 18) + 12345)
    np.testing.assert_allclose(dsp.one_pole(x, 0.97), signal.lfilter([1.0], [1.0, -0.97], x), atol=1e-9)
