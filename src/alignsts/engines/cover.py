"""A whole song in, your cover out: separate the lead vocal, sing it with your voice, mix it back.

song [N, C] ─ separator ─ vocals ──────── reference engine (your speech) ─ you singing [N]
                        └ instrumental ─────────────────────────────────┴ mix [N, C]

The output is on the song's timeline and exactly as long as the song; the mix puts your vocal at
the loudness the song's own vocal had (measured on the separated stem, BS.1770), scaled down as
a whole if its peak would pass -1 dBFS (never clipping).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import level
from ..audio import separate as sep
from ..errors import AlignSTSError, InvalidValueError, option

SEPARATORS = ("classic", "demucs")


@dataclass
class SongStems:
    """The song's stems at ``sr``: ``vocals`` and ``instrumental`` [N, C] (they sum to the song),
    ``f0`` the separator's vocal F0 [frames] (hop ``hop``; 0 = no vocal; empty for learned ones)."""
    vocals: np.ndarray
    instrumental: np.ndarray
    sr: int
    f0: np.ndarray
    hop: int


def check_separator(value) -> str:
    """'classic', 'demucs' or a folder of model files: checked before any work. A learned separator
    must be installed with its files on disk: nothing is ever downloaded."""
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise InvalidValueError(f"{option('separator')}: expected 'classic', 'demucs' or a model folder, got {value!r}")
    value = str(value)
    if value == "classic":
        return value
    have_demucs = importlib.util.find_spec("demucs") is not None
    have_uvr = importlib.util.find_spec("audio_separator") is not None
    if value != "demucs" and not Path(value).exists():
        raise InvalidValueError(f"{option('separator')} {value}: no such model file or folder (use classic, demucs or a path)")
    if not (have_demucs or have_uvr):
        raise AlignSTSError(f"{option('separator')} {value}: needs a learned separator installed with its model files on disk "
                            f"(pip install demucs, or pip install audio-separator; models are never downloaded "
                            f"here); use {option('separator')} classic (the default, no weights)")
    raise AlignSTSError(f"{option('separator')} {value}: learned separators are not wired in this version; use {option('separator')} "
                        f"classic (the default, no weights)")


def separate_song(song: np.ndarray, sr: int, separator: str = "classic", progress=None) -> SongStems:
    """``song`` [N, C] float32 -> SongStems (classic: audio.separate, training-free)."""
    check_separator(separator)
    st = sep.separate(song, sr, progress=progress)
    return SongStems(vocals=st.vocals, instrumental=st.instrumental, sr=st.sr, f0=st.f0, hop=st.hop)


def fit_length(wav: np.ndarray, n: int) -> np.ndarray:
    """[M] -> [n]: cut, or padded with silence at the end."""
    wav = np.asarray(wav, dtype=np.float32)
    if len(wav) >= n:
        return wav[:n].copy()
    return np.concatenate([wav, np.zeros(n - len(wav), np.float32)])


def cover_mix(vocal: np.ndarray, stems: SongStems, peak_dbfs_max: float = level.PEAK_DBFS) -> np.ndarray:
    """Your vocal [N] over the instrumental [N, C] at the original vocal's integrated loudness
    (both measured as heard on every channel), the sum scaled down if its peak passes
    ``peak_dbfs_max``: -> [N, C]."""
    inst = stems.instrumental
    channels = inst.shape[1]
    vocal = fit_length(vocal, inst.shape[0])
    on_all = np.repeat(vocal[:, None], channels, axis=1)
    target = level.integrated_loudness(stems.vocals, stems.sr)
    have = level.integrated_loudness(on_all, stems.sr)
    gain = level.db_to_gain(target - have) if np.isfinite(target) and np.isfinite(have) else 1.0
    out = inst + on_all * np.float32(gain)
    ceiling = level.db_to_gain(peak_dbfs_max)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > ceiling:
        out = out * np.float32(ceiling / peak)
    return out.astype(np.float32)
