"""One reader for every input: M4A/AAC, Opus/WebM, the audio of MP4 videos (PyAV), MP3 in and out."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import decode, io
from alignsts.errors import AudioInputError, OutputError

av = pytest.importorskip("av")
SR = 48000


def tone(seconds=1.0, f=440.0, sr=SR, channels=2) -> np.ndarray:
    """[N, C] float32: a sine at f (left) and 1.5 f (right)."""
    t = np.arange(int(seconds * sr)) / sr
    chans = [0.5 * np.sin(2 * np.pi * f * (1 + 0.5 * c) * t) for c in range(channels)]
    return np.stack(chans, axis=1).astype(np.float32)


def encode(path, wav: np.ndarray, codec: str, sr=SR, video: bool = False) -> None:
    """Write [N, C] audio (and, with ``video``, a few black frames first in the file) with PyAV."""
    with av.open(str(path), "w") as out:
        if video:
            vs = out.add_stream("mpeg4", rate=10)
            vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        st = out.add_stream(codec, rate=sr)
        st.layout = "stereo" if wav.shape[1] == 2 else "mono"
        fmt = st.codec_context.format.name if st.codec_context.format else "fltp"
        if video:
            for i in range(10):
                frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
                frame.pts = i
                for pkt in vs.encode(frame):
                    out.mux(pkt)
        step = 1024
        for a in range(0, len(wav), step):
            block = wav[a:a + step]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block.T), format="fltp", layout=st.layout.name)
            frame.sample_rate = sr
            frame.pts = a
            if fmt != "fltp":
                frame = av.AudioResampler(format=fmt, layout=st.layout.name, rate=sr).resample(frame)[0]
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
        if video:
            for pkt in vs.encode(None):
                out.mux(pkt)


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * sr / len(x))


@pytest.mark.parametrize("suffix,codec,video", [(".m4a", "aac", False), (".webm", "libopus", False),
                                                (".opus", "libopus", False), (".mp4", "aac", True)],
                         ids=["m4a", "webm", "opus", "mp4-video"])
def test_ffmpeg_formats_read(tmp_path, suffix, codec, video):
    wav = tone(1.0)
    path = tmp_path / f"in{suffix}"
    encode(path, wav, codec, video=video)
    data, sr = decode.read_channels(path)
    assert sr == SR and data.shape[1] == 2
    assert abs(len(data) - len(wav)) < 0.06 * SR            # codec priming/padding only
    mid = slice(len(data) // 4, 3 * len(data) // 4)
    assert abs(dominant_hz(data[mid, 0], sr) - 440) < 3
    assert abs(dominant_hz(data[mid, 1], sr) - 660) < 3
    mono, sr2 = io.read_audio(path)                       # the mono reader takes them too
    assert sr2 == SR and mono.ndim == 1 and abs(len(mono) - len(data)) == 0
    loaded = io.load_channels(path, 24000)
    assert loaded.shape[1] == 2 and abs(len(loaded) - len(data) / 2) <= 2


def test_mp3_written_and_read_back(tmp_path):
    wav = tone(1.0, sr=24000, channels=1)[:, 0]
    p = io.write_audio(tmp_path / "out.mp3", wav, 24000)
    back, sr = io.read_audio(p)
    assert sr == 24000 and abs(len(back) - len(wav)) < 0.05 * sr
    assert abs(dominant_hz(back[2000:20000], sr) - 440) < 3


def test_mp3_rate_it_cannot_hold_refused_before_work(tmp_path):
    with pytest.raises(OutputError, match="MP3"):
        io.check_output_path(tmp_path / "x.mp3", 96000)
    assert not (tmp_path / "x.mp3").exists()


def test_garbage_and_video_without_audio_are_one_line_errors(tmp_path):
    junk = tmp_path / "junk.m4a"
    junk.write_bytes(b"\x00\x01 not audio at all" * 100)
    with pytest.raises(AudioInputError, match="junk.m4a") as e:
        io.read_audio(junk)
    assert "\n" not in str(e.value)
    silent_video = tmp_path / "v.mp4"
    with av.open(str(silent_video), "w") as out:
        vs = out.add_stream("mpeg4", rate=10)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
    with pytest.raises(AudioInputError, match="no audio track"):
        decode.read_channels(silent_video)


def test_too_long_refused_from_the_header(tmp_path):
    path = tmp_path / "long.m4a"
    encode(path, tone(2.0), "aac")
    with pytest.raises(AudioInputError, match="minutes"):
        decode.read_channels(path, max_duration=1.0)


def test_header_duration_of_ffmpeg_formats(tmp_path):
    from alignsts import api

    path = tmp_path / "two.m4a"
    encode(path, tone(2.0), "aac")
    assert abs(api.audio_seconds(path) - 2.0) < 0.1
    junk = tmp_path / "junk.webm"
    junk.write_bytes(b"nothing" * 50)
    with pytest.raises(AudioInputError, match="junk.webm"):
        api.audio_seconds(junk)


def test_a_stream_longer_than_its_header_is_refused_at_the_claim(tmp_path, monkeypatch):
    """A forged or endless file: decoding stops soon after the length its header gives."""
    path = tmp_path / "forged.m4a"
    encode(path, tone(14.0, channels=1), "aac")
    full, sr = decode.read_av(path, "x", 60.0)
    assert abs(len(full) / sr - 14.0) < 0.1
    monkeypatch.setattr(decode, "_header_seconds", lambda container, stream: 1.0)   # claims 1 s
    with pytest.raises(AudioInputError, match="more than the 1.0 s its header gives"):
        decode.read_av(path, "x", 60.0)
    monkeypatch.setattr(decode, "_header_seconds", lambda container, stream: None)  # says nothing
    with pytest.raises(AudioInputError, match="longer than"):
        decode.read_av(path, "x", 5.0)


def test_mono_decode_is_downmixed_per_frame(tmp_path):
    path = tmp_path / "st.m4a"
    encode(path, tone(1.0), "aac")
    stereo, sr = decode.read_av(path, "x", 60.0)
    mono, sr2 = decode.read_av(path, "x", 60.0, mono=True)
    assert stereo.shape[1] == 2 and mono.shape == (stereo.shape[0], 1) and sr == sr2
    np.testing.assert_allclose(mono[:, 0], stereo.mean(axis=1), atol=1e-6)
