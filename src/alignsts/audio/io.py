"""Reading, checking, resampling and atomically writing audio."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_path  # noqa: F401  (re-exported: io.atomic_path)
from ..errors import AudioInputError, OutputError

log = logging.getLogger("alignsts")
from .frontend import SAMPLE_RATE

MIN_DURATION_S = 0.3
SILENCE_PEAK = 1e-4       # about -80 dBFS: quieter than this is treated as silence


def read_audio(path: str | os.PathLike, name: str | None = None,
               max_duration: float | None = None) -> tuple[np.ndarray, int]:
    """Read any libsndfile format (WAV/FLAC/OGG/MP3...), any channel count, as mono float32.

    Returns (wav [N], sample_rate). The header is checked first (sample rate, length at most
    ``max_duration`` s, default validate.MAX_INPUT_S), so nothing huge is ever allocated.
    Raises AudioInputError with a one-line reason that starts with ``name`` (default: the path).
    """
    import soundfile as sf

    p = Path(path)
    who = name or str(p)
    info = _header(p, who, max_duration)
    if info is None:  # not a libsndfile format: M4A/AAC, Opus/WebM, MP4 video ... via PyAV
        from ..validate import MAX_INPUT_S, input_sample_rate
        from .decode import read_mono_fallback

        wav, sr = read_mono_fallback(p, who, MAX_INPUT_S if max_duration is None else max_duration)
        input_sample_rate(sr, f"{who}: sample rate")
        return wav, sr
    try:
        # 64-bit float files are read as such: their finite 1e300s must not turn into inf
        dtype = "float64" if info.subtype == "DOUBLE" else "float32"
        data, sr = sf.read(str(p), dtype=dtype, always_2d=True)
    except Exception as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AudioInputError(f"{who}: not a readable audio file ({reason})") from None
    wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if wav.dtype == np.float64 and not np.nanmax(np.abs(wav), initial=0.0) > np.finfo(np.float32).max:
        wav = wav.astype(np.float32)   # float64 only while float32 would turn samples into inf
    return np.ascontiguousarray(wav), int(sr)


def _header(p: Path, who: str, max_duration: float | None = None):
    """The checked soundfile header of an audio file, or None for PyAV's formats (decode.header)."""
    from .decode import header

    return header(p, who, max_duration)


STREAM_SAMPLES = 1 << 24    # files of more samples (frames x channels; 2.9 min of 48 kHz stereo) load in blocks
BLOCK_FRAMES = 1 << 18      # frames per block


def _load_blocks(path: str | os.PathLike, sr: int, name: str | None,
                 keep_channels: bool = False, store: bool = True) -> np.ndarray | None:
    """A long file read, downmixed and resampled (soxr ResampleStream) block by block: -> [N] at
    ``sr`` (or [N, C] with ``keep_channels``: a backing track), validated; never holds the file's
    samples at its own rate at once. None when the file is short (or 64-bit float): :func:`load`
    and :func:`load_channels` then read it whole. Without ``store`` the file is only checked
    (nothing kept, nothing resampled) and an empty array is returned."""
    import soundfile as sf

    p = Path(path)
    who = name or str(p)
    if not p.is_file():
        return None
    info = _header(p, who)
    if info is None or info.subtype == "DOUBLE" or info.frames * info.channels < STREAM_SAMPLES:
        return None
    stream = None
    if info.samplerate != sr and store:
        import soxr

        stream = soxr.ResampleStream(info.samplerate, sr, info.channels if keep_channels else 1, dtype="float32",
                                     quality="HQ")
    # the output, allocated once (soxr gives ceil(frames * ratio) samples, give or take a few)
    shape = ((int(np.ceil(info.frames * sr / info.samplerate)) + 64) if store else 0,) + \
        ((info.channels,) if keep_channels else ())
    wav = np.empty(shape, dtype=np.float32)
    n, bad, lo, hi, total, frames = 0, 0, np.inf, -np.inf, 0.0, 0

    def put(chunk: np.ndarray) -> None:
        nonlocal wav, n
        if n + len(chunk) > len(wav):
            grown = np.zeros((n + len(chunk),) + wav.shape[1:], dtype=np.float32)
            grown[:n] = wav[:n]
            wav = grown
        wav[n:n + len(chunk)] = chunk
        n += len(chunk)

    try:
        with sf.SoundFile(str(p)) as fh:
            for block in fh.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
                mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
                bad += int(np.count_nonzero(~np.isfinite(mono)))
                if not bad and len(mono):   # the checks see the file's own samples, as check_audio does
                    lo, hi = min(lo, float(mono.min())), max(hi, float(mono.max()))
                    total += float(mono.sum(dtype=np.float64))
                    frames += len(mono)
                if not bad and store:
                    data = block if keep_channels else mono
                    put(stream.resample_chunk(data) if stream is not None else data)
            if stream is not None and not bad:
                put(stream.resample_chunk(np.zeros((0,) + wav.shape[1:], np.float32), last=True))
    except Exception as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AudioInputError(f"{who}: not a readable audio file ({reason})") from None
    if bad:
        raise AudioInputError(f"{who}: contains {bad} NaN/inf samples")
    wav = wav[:n]
    return _checked_stream(wav, info.samplerate, frames, who, lo, hi, total, scale=not keep_channels and store,
                           need_samples=store)


def _checked_stream(wav: np.ndarray, file_sr: int, frames: int, who: str, lo: float, hi: float,
                    total: float, scale: bool = True, need_samples: bool = True) -> np.ndarray:
    """check_audio's checks for a streamed file, from the running min, max and sum of its own
    ``frames`` mono samples (no full-size temporaries): too short, beyond -1..1 (the resampled
    [N] ``wav`` scaled down in place, with a warning), silent."""
    if frames == 0 or (need_samples and wav.size == 0):
        raise AudioInputError(f"{who}: contains no samples")
    dur = frames / file_sr
    if dur < MIN_DURATION_S:
        raise AudioInputError(f"{who}: too short ({dur:.2f} s; at least {MIN_DURATION_S} s needed)")
    peak = max(abs(lo), abs(hi))
    if peak > 1.0:            # the silence test is on the scaled samples, as in check_audio
        if scale:
            log.warning("%s: samples reach %.3g, beyond the -1..1 of float audio; scaled down by %.3g", who, peak,
                        peak)
            wav /= np.float32(peak)
        lo, hi, total = lo / peak, hi / peak, total / peak
    dc = total / frames
    if max(hi - dc, dc - lo) < SILENCE_PEAK:
        raise AudioInputError(f"{who}: is silent")
    return wav


MAX_CHANNELS = 8


def _mono(wav: np.ndarray, name: str) -> np.ndarray:
    """[N], [N, C] or [C, N] with C <= MAX_CHANNELS (the smaller axis) -> [N]."""
    if wav.ndim == 1:
        return wav
    if wav.ndim == 2 and min(wav.shape) <= MAX_CHANNELS:
        return wav.mean(axis=1) if wav.shape[1] <= wav.shape[0] else wav.mean(axis=0)
    raise AudioInputError(f"{name}: expected a mono waveform [samples] or [samples, channels] with at most "
                          f"{MAX_CHANNELS} channels, got shape {list(wav.shape)}")


def _as_float(wav: np.ndarray, name: str) -> np.ndarray:
    """Samples as floats: integer PCM scaled by its dtype (int16 / 32768 ...), floats as they are."""
    kind = wav.dtype.kind
    if kind == "f":
        return wav if wav.dtype.itemsize >= 4 else wav.astype(np.float32)
    if kind == "i":
        return wav.astype(np.float32) / np.float32(2 ** (8 * wav.dtype.itemsize - 1))
    if kind == "u":
        half = np.float32(2 ** (8 * wav.dtype.itemsize - 1))
        return (wav.astype(np.float32) - half) / half
    what = {"b": "true/false values", "c": "complex numbers", "O": "Python objects",
            "U": "text", "S": "bytes"}.get(kind, f"dtype {wav.dtype}")
    raise AudioInputError(f"{name}: samples must be real numbers (float or integer PCM), got {what}")


def check_audio(wav, sr, name: str = "audio", min_duration: float = MIN_DURATION_S,
                max_duration: float | None = None) -> np.ndarray:
    """Validate a waveform ([N], [N, C] or [C, N]; float in -1..1 or integer PCM) -> mono float32 [N].

    Integer samples are scaled by their dtype; float samples beyond +-1 (un-normalised files)
    are scaled into range with a warning; DC is removed, so a constant signal counts as
    silent. Raises AudioInputError for anything that is not usable audio.
    """
    from ..validate import MAX_INPUT_S, input_sample_rate

    sr = input_sample_rate(sr, f"{name}: sample rate")
    try:
        wav = np.asarray(wav)
    except Exception:
        raise AudioInputError(f"{name}: not an array of samples") from None
    wav = _mono(_as_float(wav, name), name) if wav.ndim else _mono(wav, name)
    if wav.size == 0:
        raise AudioInputError(f"{name}: contains no samples")
    finite = np.isfinite(wav)
    if not np.all(finite):
        bad = int(np.count_nonzero(~finite))
        raise AudioInputError(f"{name}: contains {bad} NaN/inf samples")
    dur = wav.size / sr
    if dur < min_duration:
        raise AudioInputError(f"{name}: too short ({dur:.2f} s; at least {min_duration} s needed)")
    limit = MAX_INPUT_S if max_duration is None else max_duration
    if dur > limit:
        raise AudioInputError(f"{name}: {dur / 60:.1f} minutes long; at most {limit / 60:g} minutes can be "
                              f"converted (cut it into parts)")
    peak = float(np.max(np.abs(wav)))
    if peak > 1.0:
        log.warning("%s: samples reach %.3g, beyond the -1..1 of float audio; scaled down by %.3g", name,
                    peak, peak)
        wav = wav / peak
    dc = float(wav.mean(dtype=np.float64))     # a DC offset is not sound: a constant signal is silent
    if float(np.max(np.abs(wav - dc))) < SILENCE_PEAK:
        raise AudioInputError(f"{name}: is silent")
    return wav.astype(np.float32)


def resample(wav: np.ndarray, sr_in: int, sr_out: int = SAMPLE_RATE) -> np.ndarray:
    """High-quality (soxr) resampling: [N] -> [N * sr_out / sr_in]."""
    if sr_in == sr_out:
        return np.asarray(wav, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(wav, dtype=np.float32), sr_in, sr_out, quality="HQ").astype(np.float32)


def load(path: str | os.PathLike, sr: int = SAMPLE_RATE, name: str | None = None) -> np.ndarray:
    """Read, validate and resample a file to ``sr``: -> [N] float32 (long files in blocks)."""
    streamed = _load_blocks(path, sr, name)
    if streamed is not None:
        return streamed
    wav, file_sr = read_audio(path, name)
    wav = check_audio(wav, file_sr, name or str(path))
    return resample(wav, file_sr, sr)


def peak_safe(wav: np.ndarray, ceiling: float = 0.99) -> np.ndarray:
    """Scale down (never up) so that |wav| <= ceiling; integer formats then cannot wrap."""
    peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    if peak > ceiling:
        wav = wav * (ceiling / peak)
    return wav


OUTPUT_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}


def check_output_path(path: str | os.PathLike, sr: int | None = None) -> Path:
    """Fail early (before any work) when ``path`` cannot take an audio file at ``sr`` Hz.

    Checks the suffix (.wav/.flac/.ogg), the folder (exists, writable), that ``path`` is not a
    folder, and that the format can hold ``sr`` (validate.MIN/MAX_OUTPUT_SR, then a tiny
    in-memory write with libsndfile: its encoders have their own limits).
    """
    p = Path(path)
    if p.suffix.lower() not in OUTPUT_FORMATS:
        raise OutputError(f"{p}: unsupported output format {p.suffix or '(none)'}; use .wav, .flac, .ogg or .mp3")
    check_output_file(p)
    if sr is not None:
        check_format_rate(OUTPUT_FORMATS[p.suffix.lower()], sr, str(p))
    return p


def check_output_file(p: Path, role: str = "output") -> Path:
    """``p`` can be created or replaced: its folder exists and takes a new file, and it is not a
    folder or a device (alignsts.paths.check_writable, the check of every file the package writes)."""
    from ..paths import check_writable

    return check_writable(p, role)


def check_format_rate(fmt: str, sr, where: str) -> int:
    """The output sample rate is a whole number in range that libsndfile's ``fmt`` encoder accepts."""
    import io as _io

    import soundfile as sf

    from ..validate import output_sample_rate

    from ..errors import option

    sr = output_sample_rate(sr, f"{where}: output sample rate ({option('sr')})")
    try:   # 10 ms of silence into memory: the encoder's own limits (Vorbis, FLAC) show here
        with sf.SoundFile(_io.BytesIO(), "w", samplerate=sr, channels=1, format=fmt,
                          subtype=DEFAULT_SUBTYPES[fmt]) as probe:
            probe.write(np.zeros(max(sr // 100, 1), np.float32))
    except Exception as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise OutputError(f"{where}: the {fmt} format cannot be written at {sr} Hz ({reason})") from None
    return sr


DEFAULT_SUBTYPES = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}


def write_audio(path: str | os.PathLike, wav: np.ndarray, sr: int = SAMPLE_RATE,
                out_sr: int | None = None, subtype: str | None = None, before_commit=None) -> Path:
    """Write [N] audio atomically (temp file + rename). Format from the suffix (.wav/.flac/.ogg).

    ``before_commit()`` (optional) runs after the audio is complete and before it replaces
    ``path``; if it raises, the audio is not written either."""
    import soundfile as sf

    p = check_output_path(path, out_sr if out_sr is not None else sr)
    fmt = OUTPUT_FORMATS[p.suffix.lower()]
    if out_sr and out_sr != sr:
        wav = resample(wav, sr, out_sr)
        sr = out_sr
    wav = peak_safe(np.asarray(wav, dtype=np.float32))
    if subtype is None:
        subtype = DEFAULT_SUBTYPES[fmt]
    with atomic_path(p) as tmp:
        sf.write(str(tmp), wav, sr, format=fmt, subtype=subtype)
        if before_commit is not None:
            before_commit()
    return p


def check_channels_file(path: str | os.PathLike, name: str | None = None) -> None:
    """Every check :func:`load_channels` makes (readable, at most MAX_CHANNELS channels, rate,
    length, finite, not silent), without keeping the samples: a long backing track is checked
    before the work and read after it, so it does not sit in memory while the engine runs."""
    import soundfile as sf

    who = name or str(path)
    if Path(path).is_file():
        try:
            channels = sf.info(str(path)).channels
        except Exception:
            channels = 1
        if channels > MAX_CHANNELS:
            raise AudioInputError(f"{who}: {channels} channels; at most {MAX_CHANNELS} are supported")
    if _load_blocks(path, SAMPLE_RATE, who, keep_channels=True, store=False) is None:
        load_channels(path, SAMPLE_RATE, who)     # a short file: read it (cheap) to check it


def load_channels(path: str | os.PathLike, sr: int = SAMPLE_RATE, name: str | None = None) -> np.ndarray:
    """Read, validate and resample a file keeping its channels (a backing track): -> [N, C] float32."""
    import soundfile as sf

    from .decode import read_channels

    who = name or str(path)
    channels = 1              # read_audio names what is wrong with a file that is not one
    if Path(path).is_file():
        try:
            channels = sf.info(str(path)).channels
        except Exception:
            pass
    if channels > MAX_CHANNELS:
        raise AudioInputError(f"{who}: {channels} channels; at most {MAX_CHANNELS} are supported")
    streamed = _load_blocks(path, sr, who, keep_channels=True)
    if streamed is not None:
        return streamed
    data, file_sr = read_channels(path, who)   # libsndfile formats, else PyAV (M4A, Opus, MP4 ...)
    check_audio(data.mean(axis=1), file_sr, who)
    if file_sr == sr:
        return np.ascontiguousarray(data)
    return np.stack([resample(data[:, c], file_sr, sr) for c in range(data.shape[1])], axis=1)
