"""Audio that libsndfile cannot read: M4A/AAC, Opus/WebM, the audio track of MP4/MKV/MOV videos
(and any other container FFmpeg knows), decoded with PyAV, whose wheel bundles FFmpeg.

``read_channels`` is the one reader every input goes through when channels matter (a song, a
backing track): libsndfile first (WAV, FLAC, OGG, MP3, ...), PyAV for the rest. Lengths are
checked against the container's header before decoding, and again while decoding (a header may
lie), so nothing longer than the limit is ever held in memory.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import AudioInputError

MAX_DECODE_CHANNELS = 8


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def av_available() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def read_av(path: str | os.PathLike, who: str, limit_s: float, mono: bool = False) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of ``path`` with PyAV -> (float32 [N, C], sample rate);
    with ``mono``, [N, 1], each frame downmixed as it is decoded.

    Bounded whatever the file holds: the rate and channel count are checked before (and while)
    decoding, decoding stops at ``limit_s`` seconds, and at what the container's header claims
    (plus 10 %, at least 10 s), so a file that decodes to far more than it says (a forged or
    endless stream) is refused after about its claimed length, not after an hour of samples.
    With a header the samples go into one buffer of that size (no second copy at the end).
    Raises AudioInputError (one line) when PyAV is missing, the file has no audio stream,
    cannot be decoded, or is too long.
    """
    from ..validate import input_sample_rate

    try:
        import av
    except ImportError:
        raise AudioInputError(f"{who}: not a format libsndfile reads; for M4A/AAC/Opus/WebM/MP4 "
                              f"install PyAV (pip install av)") from None
    try:
        container = av.open(str(path), mode="r")
    except Exception as e:
        raise AudioInputError(f"{who}: not a readable audio file ({_first_line(e)})") from None
    try:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise AudioInputError(f"{who}: has no audio track")
        stream = streams[0]
        sr = int(stream.codec_context.sample_rate or stream.rate or 0)
        if sr <= 0:
            raise AudioInputError(f"{who}: audio track without a sample rate")
        input_sample_rate(sr, f"{who}: sample rate")
        _check_channels(int(getattr(stream.codec_context, "channels", 0) or 0), who)
        head = _header_seconds(container, stream)
        if head is not None and head > limit_s:
            raise AudioInputError(f"{who}: {head / 60:.1f} minutes long; at most {limit_s / 60:g} minutes can be "
                                  f"converted (cut it into parts)")
        data = _decode_bounded(container, stream, who, sr, limit_s, head, mono)
    except AudioInputError:
        raise
    except Exception as e:
        raise AudioInputError(f"{who}: cannot decode its audio ({_first_line(e)})") from None
    finally:
        container.close()
    return data, sr


def _check_channels(channels: int, who: str) -> None:
    if channels > MAX_DECODE_CHANNELS:
        raise AudioInputError(f"{who}: {channels} channels; at most {MAX_DECODE_CHANNELS} are read")


def _decode_bounded(container, stream, who: str, sr: int, limit_s: float, head: float | None,
                    mono: bool) -> np.ndarray:
    """The stream's samples -> float32 [N, C] ([N, 1] with ``mono``), refused past ``limit_s`` s or
    past the header's ``head`` s (+10 %, at least +10 s)."""
    max_samples = int(limit_s * sr) + sr
    claimed = None
    if head is not None and head > 0:
        claimed = min(max_samples, int((head + max(0.1 * head, 10.0)) * sr))
    buf, filled, chunks, channels = None, 0, [], None
    for frame in container.decode(stream):
        block = _frame_array(frame)                     # [n, C] float32
        _check_channels(block.shape[1], who)
        if mono:
            block = block.mean(axis=1, keepdims=True) if block.shape[1] > 1 else block
        channels = block.shape[1] if channels is None else max(channels, block.shape[1])
        end = filled + block.shape[0]
        if end > max_samples:
            raise AudioInputError(f"{who}: longer than {limit_s / 60:g} minutes; at most that can be "
                                  f"converted (cut it into parts)")
        if claimed is not None and end > claimed:
            raise AudioInputError(f"{who}: decodes to more than the {head:.1f} s its header gives; a broken "
                                  f"or forged file")
        if claimed is not None:
            if buf is None or block.shape[1] > buf.shape[1]:
                wider = np.empty((claimed, block.shape[1]), np.float32)
                if buf is not None:
                    wider[:filled] = buf[:filled, :1] if buf.shape[1] == 1 else buf[:filled]
                buf = wider
            buf[filled:end] = block if block.shape[1] == buf.shape[1] else block[:, :1]
        else:
            chunks.append(block)
        filled = end
    if filled == 0:
        raise AudioInputError(f"{who}: its audio track holds no samples")
    if buf is not None:   # a header that over-states the length: keep only what was decoded
        return buf[:filled] if filled > buf.shape[0] // 2 else buf[:filled].copy()
    return np.concatenate([c if c.shape[1] == channels else np.repeat(c[:, :1], channels, axis=1)
                           for c in chunks])


def _header_seconds(container, stream) -> float | None:
    """The duration the container claims (None when it does not say)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000.0
    return None


def _frame_array(frame) -> np.ndarray:
    """A PyAV AudioFrame -> float32 [samples, channels], whatever its sample format."""
    arr = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        arr = arr.reshape(channels, -1).T
    else:
        arr = arr.reshape(-1, channels)
    kind = arr.dtype.kind
    if kind == "i":
        arr = arr.astype(np.float32) / np.float32(2 ** (8 * arr.dtype.itemsize - 1))
    elif kind == "u":
        half = np.float32(2 ** (8 * arr.dtype.itemsize - 1))
        arr = (arr.astype(np.float32) - half) / half
    return arr.astype(np.float32, copy=False)


def header(p: Path, who: str, max_duration: float | None = None):
    """The soundfile header of an audio file, checked (exists, a file, not empty, readable, sample
    rate, at most ``max_duration`` s): AudioInputError in one line otherwise. None when libsndfile
    does not read the file (M4A, Opus/WebM, MP4 ...: read_av reads those with PyAV)."""
    import soundfile as sf

    from ..validate import MAX_INPUT_S, input_sample_rate

    if not p.exists():
        raise AudioInputError(f"{who}: no such file")
    if p.is_dir():
        raise AudioInputError(f"{who}: is a directory, not an audio file")
    if not p.is_file():
        raise AudioInputError(f"{who}: is not a regular file (a device, pipe or socket)")
    if p.stat().st_size == 0:
        raise AudioInputError(f"{who}: file is empty")
    limit = MAX_INPUT_S if max_duration is None else max_duration
    try:
        info = sf.info(str(p))
    except Exception:
        return None
    input_sample_rate(info.samplerate, f"{who}: sample rate")
    if info.frames > 0 and info.frames / info.samplerate > limit:
        raise AudioInputError(f"{who}: {info.frames / info.samplerate / 60:.1f} minutes long; at most "
                              f"{limit / 60:g} minutes can be converted (cut it into parts)")
    return info


def read_channels(path: str | os.PathLike, who: str | None = None,
                  max_duration: float | None = None) -> tuple[np.ndarray, int]:
    """Any audio file (libsndfile formats, else PyAV/FFmpeg ones) -> (float32 [N, C], sample rate).

    The same first checks as io.read_audio (exists, not a folder, not empty, rate and length
    limits); raises AudioInputError with one line.
    """
    import soundfile as sf

    from ..validate import MAX_INPUT_S, input_sample_rate

    p = Path(path)
    who = who or str(p)
    info = header(p, who, max_duration)
    if info is None:   # not a libsndfile format
        data, sr = read_av(p, who, MAX_INPUT_S if max_duration is None else max_duration)
        input_sample_rate(sr, f"{who}: sample rate")
        return data, sr
    if info.channels > MAX_DECODE_CHANNELS:
        raise AudioInputError(f"{who}: {info.channels} channels; at most {MAX_DECODE_CHANNELS} are read")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception as e:
        raise AudioInputError(f"{who}: not a readable audio file ({_first_line(e)})") from None
    return data, int(sr)


def read_mono_fallback(path: str | os.PathLike, who: str, limit_s: float) -> tuple[np.ndarray, int]:
    """PyAV decode of a file libsndfile refused, as mono: -> (float32 [N], sample rate)."""
    data, sr = read_av(path, who, limit_s, mono=True)
    return np.ascontiguousarray(data[:, 0], dtype=np.float32), sr


def duration_seconds(path: str | os.PathLike, who: str) -> float:
    """The duration a container's header claims (PyAV; nothing decoded), 0 when it does not say."""
    try:
        import av
    except ImportError:
        raise AudioInputError(f"{who}: not a format libsndfile reads; for M4A/AAC/Opus/WebM/MP4 "
                              f"install PyAV (pip install av)") from None
    try:
        with av.open(str(path), mode="r") as container:
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                raise AudioInputError(f"{who}: has no audio track")
            return _header_seconds(container, streams[0]) or 0.0
    except AudioInputError:
        raise
    except Exception as e:
        raise AudioInputError(f"{who}: not a readable audio file ({_first_line(e)})") from None
