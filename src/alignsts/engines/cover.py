"""A whole song in, your cover out: separate the lead vocal, sing it with your voice, mix it back.

song [N, C] ─ separator ─ vocals ──────── reference engine (your speech) ─ you singing [N]
                        └ instrumental ─────────────────────────────────┴ mix [N, C]

The output is on the song's timeline and exactly as long as the song; the mix puts your vocal at
the loudness the song's own vocal had (measured on the separated stem, BS.1770), scaled down as
a whole if its peak would pass -1 dBFS (never clipping).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..audio import level
from ..audio import separate as sep
from ..errors import InvalidValueError, option

SEPARATORS = ("classic", "demucs")   # or demucs:NAME, or a path to demucs model files


@dataclass
class SongStems:
    """The song's stems at ``sr``: ``vocals`` and ``instrumental`` [N, C] (classic: they sum to the song;
    demucs: its vocals stem and the sum of its other stems),
    ``f0`` the separator's vocal F0 [frames] (hop ``hop``; 0 = no vocal; empty for learned ones)."""
    vocals: np.ndarray
    instrumental: np.ndarray
    sr: int
    f0: np.ndarray
    hop: int

    def vocal_f0(self, n: int, hop: int) -> np.ndarray | None:
        """The separator's vocal F0 on ``n`` frames of ``hop`` samples (at ``sr``, frame t at
        sample t·hop): [n] Hz, 0 = no vocal; None when it tracked none (learned separators)."""
        if not np.any(self.f0 > 0):
            return None
        idx = np.minimum(np.round(np.arange(n) * hop / self.hop).astype(int), len(self.f0) - 1)
        return self.f0[idx].astype(np.float64)


def check_separator(value) -> str:
    """'classic', 'demucs', 'demucs:NAME' or a demucs model file/folder: checked before any work (the
    learned ones installed, their files on disk: nothing is ever downloaded). No torch."""
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise InvalidValueError(f"{option('separator')}: expected 'classic', 'demucs' or a model folder, got {value!r}")
    value = str(value)
    if value == "classic":
        return value
    from ..models import separator as learned

    learned.check(value)
    return value


def separate_song(song: np.ndarray, sr: int, separator: str = "classic", progress=None,
                  learned_cfg=None, threads: int = 0) -> SongStems:
    """``song`` [N, C] float32 -> SongStems (classic: audio.separate, training-free, on ``threads``
    threads; otherwise a demucs model from disk, models.separator, configured by ``learned_cfg``
    (a DemucsConfig))."""
    separator = check_separator(separator)
    if separator == "classic":
        st = sep.separate(song, sr, sep.SeparatorConfig(threads=threads), progress=progress)
        return SongStems(vocals=st.vocals, instrumental=st.instrumental, sr=st.sr, f0=st.f0, hop=st.hop)
    from ..models import separator as learned

    model = learned.load_model(learned.find_model(separator))
    vocals, inst = learned.separate(song, sr, model, learned_cfg, progress=progress)
    return SongStems(vocals=vocals, instrumental=inst, sr=sr, f0=np.zeros(0), hop=sep.f0_hop(sep.SeparatorConfig()))


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
