"""Python API. The CLI is a thin layer over these functions."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Union

import numpy as np

from .audio import frontend as fe
from .audio import io
from .engines import reference as ref_engine
from .errors import AlignSTSError

AudioInput = Union[str, os.PathLike, tuple]   # a path, or (waveform [N], sample_rate)
Progress = Callable[[str, float], None]       # (stage name, fraction done of that stage)

ENGINES = ("reference",)


@dataclass
class Result:
    """A converted song: ``wav`` [N] at ``sr`` plus the frame-level ``analysis``."""
    wav: np.ndarray
    sr: int
    analysis: ref_engine.Analysis

    def __iter__(self):  # allows ``wav, sr, analysis = alignsts.convert(...)``
        return iter((self.wav, self.sr, self.analysis))


def load_input(audio: AudioInput, name: str) -> np.ndarray:
    """A path or a (waveform, sample_rate) pair -> validated 24 kHz waveform [N]."""
    if isinstance(audio, (str, os.PathLike)):
        return io.load(audio, fe.SAMPLE_RATE, name=f"{name} {audio}")
    if isinstance(audio, tuple) and len(audio) == 2:
        wav, sr = audio
        wav = io.check_audio(np.asarray(wav, dtype=np.float32), sr, name)
        return io.resample(wav, int(sr), fe.SAMPLE_RATE)
    raise AlignSTSError(f"{name}: expected a file path or a (waveform, sample_rate) pair")


def convert(speech: AudioInput, sr: int | None = None, *, reference: AudioInput,
            engine: str = "reference", transpose: str | float = "auto",
            config: ref_engine.ReferenceConfig | None = None, progress: Progress | None = None) -> Result:
    """Sing ``speech`` with the melody and rhythm of a sung ``reference`` of the same words.

    ``speech`` is a path, a (waveform, sr) pair, or a waveform with ``sr`` given;
    ``reference`` is a path or a (waveform, sr) pair. Returns Result(wav [N] at 24 kHz,
    sr, analysis) on the reference's time axis.
    """
    if sr is not None and not isinstance(speech, tuple):
        speech = (speech, sr)
    if engine not in ENGINES:
        raise AlignSTSError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")
    s = load_input(speech, "speech")
    r = load_input(reference, "reference")
    cfg = dataclasses.replace(config) if config is not None else ref_engine.ReferenceConfig()
    if transpose != "auto" or config is None:  # an explicit argument wins over the config file
        cfg.transpose = transpose
    wav, analysis = ref_engine.convert(s, r, cfg, progress=progress)
    return Result(wav=wav, sr=fe.SAMPLE_RATE, analysis=analysis)


def save(result: Result, path: str | os.PathLike, sr: int | None = None) -> Path:
    """Write a Result's audio atomically (.wav/.flac/.ogg), optionally at another rate."""
    return io.write_audio(path, result.wav, result.sr, out_sr=sr)


def demo_files() -> tuple[Path, Path]:
    """Paths of the bundled example: (speech.wav, sing.wav)."""
    base = resources.files("alignsts") / "assets" / "demo"
    return Path(str(base / "speech.wav")), Path(str(base / "sing.wav"))


def demo(out_dir: str | os.PathLike, plot: bool = True, progress: Progress | None = None) -> dict[str, Path]:
    """Convert the bundled example into ``out_dir``; returns the written files by role."""
    import shutil

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AlignSTSError(f"{out}: cannot create output folder ({e.strerror})") from None
    speech, sung = demo_files()
    result = convert(speech, reference=sung, progress=progress)
    files = {"output": save(result, out / "demo_sung.wav")}
    for role, src in (("speech", speech), ("reference", sung)):
        dst = out / f"demo_{role}.wav"
        with io.atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        files[role] = dst
    if plot:
        from .plot import plot_conversion

        files["plot"] = plot_conversion(result, out / "demo_sung.png")
    return files
