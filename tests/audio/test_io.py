"""Audio I/O: reading formats and rates, validation, peak-safe atomic writing."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from alignsts.audio import frontend as fe
from alignsts.audio import io
from alignsts.errors import AudioInputError, OutputError

SR = 24000


def _sine(f=440.0, dur=0.7, sr=SR, amp=0.5):
    return (amp * np.sin(2 * np.pi * f * np.arange(int(dur * sr)) / sr)).astype(np.float32)


def _peak_hz(wav, sr):
    spec = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
    return np.argmax(spec) * sr / len(wav)


def _leftovers(folder, keep=()):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# ---------------------------------------------------------------- reading
@pytest.mark.parametrize("fmt,subtype,ext,tol", [
    ("WAV", "PCM_U8", "wav", 1e-2),      # 8-bit WAV is unsigned
    ("WAV", "PCM_16", "wav", 1e-4),
    ("WAV", "PCM_24", "wav", 1e-6),
    ("WAV", "PCM_32", "wav", 1e-6),
    ("WAV", "FLOAT", "wav", 0.0),
    ("WAV", "DOUBLE", "wav", 0.0),
    ("FLAC", "PCM_16", "flac", 1e-4),
    ("FLAC", "PCM_24", "flac", 1e-6),
])
def test_read_lossless_formats(tmp_path, write_wav, fmt, subtype, ext, tol):
    x = _sine()
    path = write_wav(tmp_path / f"x.{ext}", x, SR, subtype=subtype, format=fmt)
    wav, sr = io.read_audio(path)
    assert sr == SR and wav.dtype == np.float32 and wav.ndim == 1
    assert len(wav) == len(x)
    assert np.max(np.abs(wav - x)) <= tol


def test_read_ogg_vorbis(tmp_path):
    x = _sine()
    path = tmp_path / "x.ogg"
    sf.write(str(path), x, SR, format="OGG", subtype="VORBIS")
    wav, sr = io.read_audio(path)
    assert sr == SR and wav.dtype == np.float32
    assert abs(len(wav) - len(x)) <= 1
    n = min(len(wav), len(x))
    assert np.corrcoef(wav[:n], x[:n])[0, 1] > 0.99


def test_read_stereo_is_downmixed(tmp_path, write_wav):
    x = _sine()
    path = write_wav(tmp_path / "st.wav", np.stack([x, 0.5 * x], axis=1), SR, subtype="FLOAT")
    wav, sr = io.read_audio(path)
    assert wav.shape == (len(x),)
    np.testing.assert_allclose(wav, 0.75 * x, atol=1e-6)


def test_read_multichannel_is_downmixed(tmp_path):
    x = _sine()
    path = tmp_path / "6ch.wav"
    sf.write(str(path), np.stack([x] * 3 + [np.zeros_like(x)] * 3, axis=1), SR, subtype="FLOAT")
    wav, _ = io.read_audio(path)
    np.testing.assert_allclose(wav, 0.5 * x, atol=1e-6)


@pytest.mark.parametrize("sr", [8000, 11025, 16000, 22050, 44100, 48000])
def test_load_resamples_to_24k_preserving_duration(tmp_path, write_wav, sr):
    n = int(0.7 * sr) + 3
    x = (0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / sr)).astype(np.float32)
    y = io.load(write_wav(tmp_path / f"x{sr}.wav", x, sr, subtype="FLOAT"))
    assert y.dtype == np.float32
    assert abs(len(y) - n * SR / sr) <= 1            # duration kept to one output sample
    assert abs(_peak_hz(y, SR) - 440.0) < 3.0        # the content is at the same frequency
    core = y[len(y) // 4: 3 * len(y) // 4]
    assert 0.45 < np.max(np.abs(core)) < 0.55        # and the same level


def test_load_24k_is_untouched(tmp_path):
    x = _sine()
    path = tmp_path / "x.wav"
    sf.write(str(path), x, SR, subtype="FLOAT")
    np.testing.assert_array_equal(io.load(path), x)


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "text"])
def test_read_errors(tmp_path, case):
    path = tmp_path / "in.wav"
    if case == "directory":
        path.mkdir()
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("this is a text file, not audio\n" * 20)
    with pytest.raises(AudioInputError) as e:
        io.read_audio(path)
    msg = str(e.value)
    assert "in.wav" in msg and "\n" not in msg
    expected = {"missing": "no such file", "directory": "directory", "empty": "empty", "text": "not a readable audio"}
    assert expected[case] in msg


# ---------------------------------------------------------------- validation
def test_check_audio_accepts_and_returns_float32():
    x = _sine().astype(np.float64)
    out = io.check_audio(x, SR, "speech")
    assert out.dtype == np.float32 and out.shape == x.shape


def test_check_audio_downmixes_frames_by_channels():
    x = _sine()
    out = io.check_audio(np.stack([x, x], axis=1), SR, "speech")
    np.testing.assert_allclose(out, x, atol=1e-7)


@pytest.mark.parametrize("case,needle", [
    ("empty", "no samples"),
    ("nan", "NaN"),
    ("inf", "NaN/inf"),
    ("short", "too short"),
    ("silent", "silent"),
    ("nearly_silent", "silent"),
    ("bad_sr", "sample rate"),
    ("3d", "mono"),
])
def test_check_audio_errors(case, needle):
    x, sr = _sine(), SR
    if case == "empty":
        x = np.zeros(0, np.float32)
    elif case == "nan":
        x[100] = np.nan
    elif case == "inf":
        x[100] = np.inf
    elif case == "short":
        x = _sine(dur=0.29)
    elif case == "silent":
        x = np.zeros(SR, np.float32)
    elif case == "nearly_silent":
        x = _sine(amp=5e-5)
    elif case == "bad_sr":
        sr = 0
    elif case == "3d":
        x = np.zeros((10, 10, 10), np.float32)
    with pytest.raises(AudioInputError) as e:
        io.check_audio(x, sr, "my speech")
    msg = str(e.value)
    assert msg.startswith("my speech") and needle in msg and "\n" not in msg


def test_check_audio_minimum_duration_boundary():
    io.check_audio(_sine(dur=0.3), SR)          # exactly 0.3 s is enough
    io.check_audio(_sine(dur=0.3, sr=8000), 8000)


def test_load_validates(tmp_path):
    path = tmp_path / "nan.wav"
    x = _sine()
    x[10:20] = np.nan
    sf.write(str(path), x, SR, subtype="FLOAT")
    with pytest.raises(AudioInputError, match="10 NaN/inf"):
        io.load(path, name="speech")


# ---------------------------------------------------------------- writing
def test_write_audio_is_peak_safe_and_keeps_sign(tmp_path):
    x = 3.0 * _sine(amp=1.0)
    x[:50] = np.linspace(-3.0, 3.0, 50)
    out = io.write_audio(tmp_path / "loud.wav", x)
    y, sr = sf.read(str(out), dtype="float32")
    assert sr == SR and len(y) == len(x)
    assert np.max(np.abs(y)) <= 1.0
    big = np.abs(x) > 0.1
    assert np.all(np.sign(y[big]) == np.sign(x[big]))      # no integer wrap-around
    np.testing.assert_allclose(y, x * (np.max(np.abs(y)) / 3.0), atol=2e-4)   # scaled, not clipped


def test_write_audio_does_not_amplify_quiet_input(tmp_path):
    x = _sine(amp=0.1)
    y, _ = sf.read(str(io.write_audio(tmp_path / "q.wav", x)), dtype="float32")
    np.testing.assert_allclose(y, x, atol=1e-4)


def test_peak_safe():
    x = np.array([0.0, -2.0, 1.0])
    np.testing.assert_allclose(io.peak_safe(x), [0.0, -0.99, 0.495])
    np.testing.assert_array_equal(io.peak_safe(np.array([0.5, -0.2])), [0.5, -0.2])
    assert io.peak_safe(np.zeros(0)).size == 0


@pytest.mark.parametrize("ext,subtype", [(".wav", "PCM_16"), (".flac", "PCM_16"), (".ogg", "VORBIS"),
                                         (".WAV", "PCM_16")])
def test_write_formats_by_suffix(tmp_path, ext, subtype):
    path = tmp_path / f"out{ext}"
    io.write_audio(path, _sine())
    info = sf.info(str(path))
    assert info.samplerate == SR and info.subtype == subtype
    assert _leftovers(tmp_path) == [path.name]


def test_write_out_sr_resamples(tmp_path):
    x = _sine(dur=1.0)
    path = io.write_audio(tmp_path / "x.wav", x, out_sr=16000)
    y, sr = sf.read(str(path))
    assert sr == 16000 and abs(len(y) - 16000) <= 1
    assert abs(_peak_hz(y, 16000) - 440) < 3


def test_write_success_leaves_no_temp_and_normal_permissions(tmp_path):
    path = io.write_audio(tmp_path / "x.wav", _sine())
    assert _leftovers(tmp_path) == ["x.wav"]
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_write_replaces_existing_file(tmp_path):
    path = tmp_path / "x.wav"
    io.write_audio(path, _sine(amp=0.1))
    io.write_audio(path, _sine(amp=0.2, dur=1.0))
    y, _ = sf.read(str(path))
    assert len(y) == SR and abs(np.max(np.abs(y)) - 0.2) < 1e-3
    assert _leftovers(tmp_path) == ["x.wav"]


def test_write_into_missing_folder_raises_output_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        io.write_audio(tmp_path / "nope" / "x.wav", _sine())
    assert _leftovers(tmp_path) == []


def test_write_unsupported_suffix(tmp_path):
    for name in ("x.m4a", "x"):
        with pytest.raises(OutputError, match="unsupported output format"):
            io.write_audio(tmp_path / name, _sine())
    assert _leftovers(tmp_path) == []


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "x.wav"
    io.write_audio(path, _sine(amp=0.1))
    before = path.read_bytes()
    with pytest.raises(Exception):
        io.write_audio(path, _sine(amp=0.3), subtype="NOT_A_SUBTYPE")   # fails inside the temp write
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == ["x.wav"]


def test_failed_write_of_new_file_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sf, "write", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        io.write_audio(tmp_path / "new.wav", _sine())
    assert _leftovers(tmp_path) == []


def test_atomic_path_context(tmp_path):
    target = tmp_path / "f.bin"
    with io.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and tmp.exists()
        tmp.write_bytes(b"abc")
        assert not target.exists()
    assert target.read_bytes() == b"abc"
    with pytest.raises(KeyError):
        with io.atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise KeyError("x")
    assert target.read_bytes() == b"abc"
    assert _leftovers(tmp_path) == ["f.bin"]


def test_roundtrip_through_write_and_load(tmp_path):
    x = _sine(dur=1.0)
    path = io.write_audio(tmp_path / "x.flac", x, out_sr=44100)
    y = io.load(path)
    assert abs(len(y) - len(x)) <= 1
    n = min(len(x), len(y))
    assert np.max(np.abs(y[100:n - 100] - x[100:n - 100])) < 5e-3
    assert fe.n_frames(len(y)) in (fe.n_frames(len(x)), fe.n_frames(len(x)) + 1, fe.n_frames(len(x)) - 1)
