"""Front-end: frame grid, mel filterbank, log-mel, F0 trackers, rhythm curve, coarse pitch."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import frontend as fe

SR = fe.SAMPLE_RATE


def _cents(a, b):
    return 1200.0 * np.log2(np.asarray(a, float) / np.asarray(b, float))


# ---------------------------------------------------------------- constants and the grid
def test_official_constants():
    assert (fe.SAMPLE_RATE, fe.HOP, fe.WIN, fe.N_FFT, fe.N_MELS) == (24000, 128, 512, 512, 80)
    assert (fe.FMIN, fe.FMAX) == (50.0, 11025.0)
    assert (fe.F0_FLOOR, fe.F0_CEIL, fe.VOICING_THRESHOLD, fe.PRAAT_SHIFT) == (80.0, 750.0, 0.6, 8)


@pytest.mark.parametrize("n", [1, 127, 128, 129, 255, 256, 24000, 36077])
def test_spectral_shapes(n):
    rng = np.random.default_rng(n)
    wav = (0.1 * rng.standard_normal(n)).astype(np.float32)
    t = n // 128 + 1
    assert fe.n_frames(n) == t
    assert fe.stft_magnitude(wav).shape == (t, fe.N_FFT // 2 + 1)
    lm = fe.log_mel(wav)
    assert lm.shape == (t, 80) and lm.dtype == np.float32
    assert np.all(np.isfinite(lm))
    assert fe.rhythm_curve(lm).shape == (t,)
    assert len(fe.pad_to_frames(wav)) == t * 128
    np.testing.assert_array_equal(fe.pad_to_frames(wav)[:n], wav)


@pytest.mark.parametrize("n", [2400, 24000, 24001, 36077])
def test_f0_shapes(n):
    wav = np.zeros(n, np.float32)
    wav[: min(n, 24000)] = np.resize(np.sin(2 * np.pi * 200 * np.arange(n) / SR), min(n, 24000))
    t = fe.n_frames(n)
    assert fe.f0_praat(wav).shape == (t,)
    assert fe.f0_praat(wav, official_shift=False).shape == (t,)
    assert fe.f0_praat(wav, n=t + 7).shape == (t + 7,)
    assert fe.f0_world(wav, method="dio").shape == (t,)


def test_frame_times():
    np.testing.assert_allclose(fe.frame_times(4), [0, 128 / SR, 256 / SR, 384 / SR])


def test_silence_gives_floor():
    lm = fe.log_mel(np.zeros(1000, np.float32))
    np.testing.assert_allclose(lm, np.log10(fe.LOG_FLOOR), atol=1e-5)


def test_fit_length():
    x = np.arange(5.0)
    np.testing.assert_array_equal(fe.fit_length(x, 3), [0, 1, 2])
    np.testing.assert_array_equal(fe.fit_length(x, 7), [0, 1, 2, 3, 4, 0, 0])
    np.testing.assert_array_equal(fe.fit_length(x, 7, edge=True), [0, 1, 2, 3, 4, 4, 4])
    m = np.ones((2, 3))
    assert fe.fit_length(m, 4).shape == (4, 3)


# ---------------------------------------------------------------- mel filterbank
def test_mel_filterbank_equals_librosa():
    librosa = pytest.importorskip("librosa")
    ref = librosa.filters.mel(sr=24000, n_fft=512, n_mels=80, fmin=50, fmax=11025)
    fb = fe.mel_filterbank()
    assert fb.shape == (80, 257)
    np.testing.assert_allclose(fb, ref, rtol=0, atol=1e-6)


def test_alignment_filterbank_equals_librosa():
    librosa = pytest.importorskip("librosa")
    ref = librosa.filters.mel(sr=24000, n_fft=512, n_mels=fe.ALIGN_N_MELS, fmin=fe.ALIGN_FMIN,
                              fmax=fe.ALIGN_FMAX)
    np.testing.assert_allclose(fe.mel_filterbank(24000, 512, fe.ALIGN_N_MELS, fe.ALIGN_FMIN, fe.ALIGN_FMAX),
                               ref, rtol=0, atol=1e-6)


def test_cached_filterbank_is_read_only():
    fb = fe.mel_filterbank()
    assert fb is fe.mel_filterbank()   # shared by the cache...
    assert not fb.flags.writeable       # ...so it must not be writable


def test_log_mel_of_tone_peaks_at_its_frequency():
    librosa = pytest.importorskip("librosa")
    x = np.sin(2 * np.pi * 1000 * np.arange(SR) / SR).astype(np.float32)
    lm = fe.log_mel(x)
    centres = librosa.mel_frequencies(n_mels=82, fmin=50, fmax=11025)[1:-1]
    peak = centres[np.argmax(lm[50])]
    assert abs(_cents(peak, 1000.0)) < 150


# ---------------------------------------------------------------- F0
@pytest.mark.parametrize("official_shift", [True, False])
@pytest.mark.parametrize("pure", [True, False], ids=["sine", "harmonic"])
def test_f0_praat_220hz(tone, official_shift, pure):
    x = (0.5 * np.sin(2 * np.pi * 220 * np.arange(SR) / SR)).astype(np.float32) if pure else tone(220.0)
    f0 = fe.f0_praat(x, official_shift=official_shift)
    voiced = f0[f0 > 0]
    assert len(voiced) > 0.9 * len(f0)
    assert np.all(np.abs(voiced / 220.0 - 1) < 0.01)


@pytest.mark.parametrize("method", ["harvest", "dio"])
def test_f0_world_220hz(tone, method):
    # a harmonic tone: pyworld's harvest reports a pure sinusoid as (almost) entirely unvoiced,
    # a property of the algorithm rather than of this package
    f0 = fe.f0_world(tone(220.0), method=method)
    voiced = f0[f0 > 0]
    assert len(voiced) > 0.8 * len(f0)
    assert abs(np.median(voiced) / 220.0 - 1) < 0.01
    assert np.mean(np.abs(voiced / 220.0 - 1) < 0.01) > 0.95


def test_f0_world_dio_pure_sine():
    x = (0.5 * np.sin(2 * np.pi * 220 * np.arange(SR) / SR)).astype(np.float32)
    f0 = fe.f0_world(x, method="dio")
    assert abs(np.median(f0[f0 > 0]) / 220.0 - 1) < 0.01


def test_f0_track_dispatch_and_bad_method(tone):
    x = tone(300.0)
    for method in ("praat", "harvest", "dio"):
        f0 = fe.f0_track(x, method)
        assert len(f0) == fe.n_frames(len(x))
        assert abs(np.median(f0[f0 > 0]) / 300 - 1) < 0.01
    with pytest.raises(ValueError, match="unknown F0 method"):
        fe.f0_world(x, method="yin")


def test_praat_shift_places_frames_in_time(tone):
    """official_shift=False puts each Praat frame at its true time; the official shift delays by 4 frames."""
    x = np.zeros(int(1.5 * SR), np.float32)
    on, off = int(0.5 * SR), int(1.0 * SR)
    x[on:off] = tone(220.0, dur=0.5)
    true_on, true_off = on / fe.HOP, off / fe.HOP
    v = np.flatnonzero(fe.f0_praat(x, official_shift=False) > 0)
    assert abs(v[0] - true_on) <= 1.5 and abs(v[-1] + 1 - true_off) <= 1.5
    v_off = np.flatnonzero(fe.f0_praat(x, official_shift=True) > 0)
    assert v_off[0] - v[0] == 4 and v_off[-1] - v[-1] == 4


def test_noise_is_unvoiced():
    rng = np.random.default_rng(0)
    assert np.mean(fe.f0_praat((0.3 * rng.standard_normal(SR)).astype(np.float32)) > 0) < 0.05


# ---------------------------------------------------------------- coarse pitch, cents, voicing
def test_f0_to_coarse_known_values():
    f0 = np.array([0.0, 10.0, 50.0, 1100.0, 5000.0, -3.0])
    np.testing.assert_array_equal(fe.f0_to_coarse(f0), [1, 1, 1, 255, 255, 1])
    c = fe.f0_to_coarse(np.geomspace(50, 1100, 500))
    assert c.dtype == np.int64 and np.all(np.diff(c) >= 0) and c.min() >= 1 and c.max() <= 255
    # the formula of the compat README, evaluated independently
    f = np.array([100.0, 220.0, 440.0, 777.0])
    mel = 1127 * np.log(1 + f / 700)
    lo, hi = 1127 * np.log(1 + 50 / 700), 1127 * np.log(1 + 1100 / 700)
    np.testing.assert_array_equal(fe.f0_to_coarse(f), np.floor((mel - lo) * 254 / (hi - lo) + 1 + 0.5))


def test_hz_to_cents_and_voicing():
    np.testing.assert_allclose(fe.hz_to_cents(np.array([10.0, 20.0, 0.0, 40.0])), [0, 1200, 0, 2400])
    np.testing.assert_array_equal(fe.voicing(np.array([0.0, 100.0, -1.0])), [False, True, False])


# ---------------------------------------------------------------- rhythm curve
def test_rhythm_curve_range_and_loudness():
    t = np.arange(SR // 2) / SR
    x = np.sin(2 * np.pi * 300 * t)
    wav = np.concatenate([0.01 * x, 0.5 * x, 0.02 * x]).astype(np.float32)
    r = fe.rhythm_curve(fe.log_mel(wav))
    assert r.dtype == np.float32 and np.all((r >= 0) & (r <= 1))
    n = len(r) // 3
    quiet = np.concatenate([r[5: n - 5], r[2 * n + 5: -5]])
    loud = r[n + 5: 2 * n - 5]
    assert loud.min() > quiet.max()
    assert loud.mean() > 0.9 and quiet.mean() < 0.1


def test_mel_energy_official_formula():
    rng = np.random.default_rng(1)
    lm = rng.uniform(-5, 1, (30, 80)).astype(np.float32)
    np.testing.assert_allclose(fe.mel_energy(lm), np.sqrt(np.sum(np.exp(lm.astype(float)) ** 2, axis=1)),
                               rtol=1e-5)
    e = fe.mel_energy(lm).astype(float)
    ref = 1 / (1 + np.exp(-35 * (e - e.mean()) / (e.std(ddof=1) + 1e-8)))   # torch's std(): N - 1
    np.testing.assert_allclose(fe.rhythm_curve(lm), ref, atol=1e-6)


def _official_rhythm(logmel: np.ndarray, dtype) -> np.ndarray:
    """The official data loader's rhythm curve, with its own torch operations (Tensor.std() is N - 1)."""
    import torch

    mel = torch.tensor(logmel, dtype=dtype)
    energy = (mel.exp() ** 2).sum(-1).sqrt()
    return torch.sigmoid((energy - energy.mean()) / (energy.std() + 1e-8) * 35.0).numpy()


def test_rhythm_curve_equals_the_official_on_a_short_item():
    """Short items are where N vs N - 1 shows: a 20-frame item differs by far more than 1e-5."""
    pytest.importorskip("torch")
    import torch

    lm = np.random.default_rng(3).uniform(-5, 1, (20, 80)).astype(np.float32)
    got = fe.rhythm_curve(lm)
    assert np.max(np.abs(got - _official_rhythm(lm, torch.float64))) < 1e-7
    assert np.max(np.abs(got - _official_rhythm(lm, torch.float32))) < 1e-5
    e = np.sqrt(np.sum(np.exp(lm.astype(float)) ** 2, axis=1))
    biased = 1 / (1 + np.exp(-35 * (e - e.mean()) / (e.std() + 1e-8)))
    assert np.max(np.abs(biased - _official_rhythm(lm, torch.float64))) > 1e-3   # what the fix removed
    assert fe.rhythm_curve(lm[:1]).tolist() == [0.5]                             # one frame: no spread


def test_rhythm_curve_within_1e5_of_the_official_on_real_recordings(sts_pair):
    pytest.importorskip("torch")
    import torch

    from alignsts.audio import io

    for part in sts_pair("en-nhss-2"):
        lm = fe.log_mel(io.load(part))
        assert np.max(np.abs(fe.rhythm_curve(lm) - _official_rhythm(lm, torch.float32))) < 1e-5


# ---------------------------------------------------------------- official vectors
@pytest.fixture(scope="module")
def vectors(compat_dir):
    path = compat_dir / "frontend_vectors.npz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return dict(np.load(path))


@pytest.mark.compat
def test_compat_padding(vectors):
    wav = vectors["in.wav_24k"]
    assert len(vectors["out.log10_mel"]) == fe.n_frames(len(wav))
    np.testing.assert_array_equal(fe.pad_to_frames(wav), vectors["out.wav_padded"])


@pytest.mark.compat
def test_compat_log_mel(vectors):
    out = fe.log_mel(vectors["in.wav_24k"])
    assert out.shape == vectors["out.log10_mel"].shape
    assert np.max(np.abs(out - vectors["out.log10_mel"])) <= 1e-4


@pytest.mark.compat
def test_compat_f0(vectors):
    f0 = fe.f0_praat(vectors["in.wav_24k"])
    ref = vectors["out.f0_hz"]
    assert f0.shape == ref.shape and np.any(ref > 0)
    assert np.max(np.abs(f0 - ref)) <= 1e-3
    np.testing.assert_array_equal(fe.f0_to_coarse(f0), vectors["out.f0_coarse"])


@pytest.mark.compat
def test_compat_coarse(vectors):
    coarse = fe.f0_to_coarse(vectors["out.f0_hz"])
    assert coarse.dtype == np.int64
    np.testing.assert_array_equal(coarse, vectors["out.f0_coarse"])


def test_power_sum_in_blocks_equals_the_direct_sum():
    rng = np.random.default_rng(0)
    mag = rng.random((1000, 257)).astype(np.float32)
    band = np.zeros(257, dtype=bool)
    band[20:60] = True
    np.testing.assert_array_equal(fe.power_sum(mag, block=64), np.sum(mag.astype(np.float64) ** 2, axis=1))
    np.testing.assert_array_equal(fe.power_sum(mag, band, block=7),
                                  np.sum(mag[:, band].astype(np.float64) ** 2, axis=1))
    assert fe.power_sum(mag[:0]).shape == (0,)


def test_pyworld_loads_without_pkg_resources_and_equals_the_package(fresh_python):
    """load_pyworld loads pyworld's compiled module directly (its package __init__ imports
    pkg_resources, ~50 ms); the functions are the package's own."""
    code = ("import sys, numpy as np\n"
            "from alignsts.audio import frontend as fe\n"
            "pw = fe.load_pyworld()\n"
            "x = np.random.default_rng(0).normal(size=24000) * 0.1\n"
            "f0, t = pw.dio(x, 24000, frame_period=5.0)\n"
            "assert 'pkg_resources' not in sys.modules\n"
            "import warnings\n"
            "with warnings.catch_warnings():\n"
            "    warnings.simplefilter('ignore')\n"
            "    import pyworld\n"
            "g0, _ = pyworld.dio(x, 24000, frame_period=5.0)\n"
            "assert np.array_equal(f0, g0)\n")
    fresh_python(code)
