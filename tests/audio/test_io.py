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


def test_long_files_load_in_blocks_as_they_load_whole(tmp_path, monkeypatch):
    """Issue 17: a long 48 kHz stereo file is read, downmixed and resampled block by block; the
    result matches reading it whole (soxr's streaming and one-shot resamplers share one filter)."""
    from alignsts.audio import io as aio

    rng = np.random.default_rng(3)
    n = 48000 * 12
    t = np.arange(n) / 48000
    left = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(n)
    sf.write(tmp_path / "long.wav", np.stack([left, 0.5 * left], axis=1), 48000, subtype="FLOAT")
    monkeypatch.setattr(aio, "STREAM_SAMPLES", 48000)       # 12 s counts as long here
    monkeypatch.setattr(aio, "BLOCK_FRAMES", 10007)          # many odd-sized blocks
    streamed = aio.load(tmp_path / "long.wav", 24000)
    wav, sr = aio.read_audio(tmp_path / "long.wav")
    whole = aio.resample(aio.check_audio(wav, sr, "x"), sr, 24000)
    assert abs(len(streamed) - len(whole)) <= 2
    k = min(len(streamed), len(whole))
    assert np.max(np.abs(streamed[100:k - 100] - whole[100:k - 100])) < 1e-3
    sf.write(tmp_path / "nan.wav", np.stack([left, np.where(t > 5, np.nan, left)], axis=1), 48000, subtype="FLOAT")
    with pytest.raises(AudioInputError, match="NaN"):
        aio.load(tmp_path / "nan.wav", 24000)
    sf.write(tmp_path / "quiet.wav", np.full((n, 2), 0.2), 48000, subtype="FLOAT")
    with pytest.raises(AudioInputError, match="silent"):
        aio.load(tmp_path / "quiet.wav", 24000)
    sf.write(tmp_path / "loud.wav", np.stack([4 * left, 4 * left], axis=1), 48000, subtype="FLOAT")
    assert np.max(np.abs(aio.load(tmp_path / "loud.wav", 24000))) <= 1.0 + 1e-6


def test_long_backing_tracks_load_in_blocks_with_their_channels(tmp_path, monkeypatch):
    from alignsts.audio import io as aio

    n = 48000 * 8
    t = np.arange(n) / 48000
    data = np.stack([0.3 * np.sin(2 * np.pi * f * t) for f in (110, 220, 330, 440, 550, 660)], axis=1)
    sf.write(tmp_path / "six.wav", data, 48000, subtype="FLOAT")
    whole = aio.load_channels(tmp_path / "six.wav", 24000)
    monkeypatch.setattr(aio, "STREAM_SAMPLES", 48000)
    monkeypatch.setattr(aio, "BLOCK_FRAMES", 9001)
    streamed = aio.load_channels(tmp_path / "six.wav", 24000)
    assert streamed.shape[1] == 6 and abs(len(streamed) - len(whole)) <= 2
    k = min(len(streamed), len(whole))
    assert np.max(np.abs(streamed[100:k - 100] - whole[100:k - 100])) < 1e-3
    sf.write(tmp_path / "quiet.wav", np.zeros((n, 2)), 48000)
    with pytest.raises(AudioInputError, match="silent"):
        aio.load_channels(tmp_path / "quiet.wav", 24000)


def test_backing_track_check_keeps_nothing_and_finds_what_load_finds(tmp_path, monkeypatch):
    from alignsts.audio import io as aio

    monkeypatch.setattr(aio, "STREAM_SAMPLES", 48000)
    n = 48000 * 4
    t = np.arange(n) / 48000
    good = np.stack([0.3 * np.sin(2 * np.pi * 220 * t)] * 2, axis=1)
    sf.write(tmp_path / "good.wav", good, 48000, subtype="FLOAT")
    assert aio.check_channels_file(tmp_path / "good.wav") is None
    bad = good.copy()
    bad[1000, 1] = np.inf
    sf.write(tmp_path / "bad.wav", bad, 48000, subtype="FLOAT")
    sf.write(tmp_path / "silent.wav", np.zeros((n, 2)), 48000)
    sf.write(tmp_path / "nine.wav", np.zeros((4800, 9)) + 0.1, 48000)
    for name, needle in (("bad.wav", "NaN/inf"), ("silent.wav", "silent"), ("nine.wav", "9 channels"),
                         ("missing.wav", "no such file")):
        with pytest.raises(AudioInputError, match=needle):
            aio.check_channels_file(tmp_path / name)
