"""Reading, checking, resampling and atomically writing audio."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_path  # noqa: F401  (re-exported: io.atomic_path)
from ..errors import AudioInputError, OutputError
from .frontend import SAMPLE_RATE

MIN_DURATION_S = 0.3
SILENCE_PEAK = 1e-4       # about -80 dBFS: quieter than this is treated as silence


def read_audio(path: str | os.PathLike, name: str | None = None) -> tuple[np.ndarray, int]:
    """Read any libsndfile format (WAV/FLAC/OGG/MP3...), any channel count, as mono float32.

    Returns (wav [N], sample_rate). Raises AudioInputError with a one-line reason that
    starts with ``name`` (default: the path).
    """
    import soundfile as sf

    p = Path(path)
    who = name or str(p)
    if not p.exists():
        raise AudioInputError(f"{who}: no such file")
    if p.is_dir():
        raise AudioInputError(f"{who}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioInputError(f"{who}: file is empty")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception as e:  # libsndfile's messages are long and multi-line
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AudioInputError(f"{who}: not a readable audio file ({reason})") from None
    wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return np.ascontiguousarray(wav, dtype=np.float32), int(sr)


def check_audio(wav: np.ndarray, sr: int, name: str = "audio",
                min_duration: float = MIN_DURATION_S) -> np.ndarray:
    """Validate a mono waveform [N]; returns it as float32 or raises AudioInputError."""
    wav = np.asarray(wav)
    if wav.ndim == 2:
        wav = wav.mean(axis=1) if wav.shape[1] <= 8 else wav.mean(axis=0)
    if wav.ndim != 1:
        raise AudioInputError(f"{name}: expected a mono waveform, got shape {wav.shape}")
    if sr is None or int(sr) <= 0:
        raise AudioInputError(f"{name}: invalid sample rate {sr!r}")
    if wav.size == 0:
        raise AudioInputError(f"{name}: contains no samples")
    if not np.all(np.isfinite(wav)):
        bad = int(np.count_nonzero(~np.isfinite(wav)))
        raise AudioInputError(f"{name}: contains {bad} NaN/inf samples")
    dur = wav.size / sr
    if dur < min_duration:
        raise AudioInputError(f"{name}: too short ({dur:.2f} s; at least {min_duration} s needed)")
    if np.max(np.abs(wav)) < SILENCE_PEAK:
        raise AudioInputError(f"{name}: is silent")
    return wav.astype(np.float32, copy=False)


def resample(wav: np.ndarray, sr_in: int, sr_out: int = SAMPLE_RATE) -> np.ndarray:
    """High-quality (soxr) resampling: [N] -> [N * sr_out / sr_in]."""
    if sr_in == sr_out:
        return np.asarray(wav, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(wav, dtype=np.float32), sr_in, sr_out, quality="HQ").astype(np.float32)


def load(path: str | os.PathLike, sr: int = SAMPLE_RATE, name: str | None = None) -> np.ndarray:
    """Read, validate and resample a file to ``sr``: -> [N] float32."""
    wav, file_sr = read_audio(path, name)
    wav = check_audio(wav, file_sr, name or str(path))
    return resample(wav, file_sr, sr)


def peak_safe(wav: np.ndarray, ceiling: float = 0.99) -> np.ndarray:
    """Scale down (never up) so that |wav| <= ceiling; integer formats then cannot wrap."""
    peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    if peak > ceiling:
        wav = wav * (ceiling / peak)
    return wav


OUTPUT_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}


def check_output_path(path: str | os.PathLike) -> Path:
    """Fail early (before any work) when ``path`` cannot take an audio file."""
    p = Path(path)
    if p.suffix.lower() not in OUTPUT_FORMATS:
        raise OutputError(f"{p}: unsupported output format {p.suffix or '(none)'}; use .wav, .flac or .ogg")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{p}: output folder {parent} does not exist")
    if p.is_dir():
        raise OutputError(f"{p}: is a directory")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{p}: cannot write in {parent}")
    return p


def write_audio(path: str | os.PathLike, wav: np.ndarray, sr: int = SAMPLE_RATE,
                out_sr: int | None = None, subtype: str | None = None) -> Path:
    """Write [N] audio atomically (temp file + rename). Format from the suffix (.wav/.flac/.ogg)."""
    import soundfile as sf

    p = check_output_path(path)
    fmt = OUTPUT_FORMATS[p.suffix.lower()]
    if out_sr and out_sr != sr:
        wav = resample(wav, sr, out_sr)
        sr = out_sr
    wav = peak_safe(np.asarray(wav, dtype=np.float32))
    if subtype is None:
        subtype = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS"}[fmt]
    with atomic_path(p) as tmp:
        sf.write(str(tmp), wav, sr, format=fmt, subtype=subtype)
    return p
