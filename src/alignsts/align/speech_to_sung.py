"""Align spoken lyrics with a sung rendition of the same words.

The result maps every frame of the sung reference (the output time axis) to a frame
of the speech: ``source[j]`` is the speech frame heard at reference frame ``j``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from ..audio import frontend as fe
from ..validate import Range
from .dtw import multiscale_dtw
from .features import active_frames, features_from_cepstra


@dataclass
class AlignConfig:
    radius: Annotated[int, Range(1, 200)] = 12                # band half-width (frames) at each refinement level
    silence_weight: Annotated[float, Range(0, 10)] = 0.3     # cost scale of silent speech frames: pauses are cheap to skip
    compress_penalty: Annotated[float, Range(0, 100)] = 0.0   # extra cost per step where only the speech advances
    stretch_penalty: Annotated[float, Range(0, 100)] = 0.0    # extra cost per step where only the reference advances
    max_full_cells: Annotated[int, Range(1_000, 50_000_000)] = 4_000_000


@dataclass
class Alignment:
    """path [L, 2] of (speech frame, reference frame); source [M] speech frame per reference frame;
    speech_active [N], reference_active [M] non-silent frame masks."""
    path: np.ndarray
    source: np.ndarray
    speech_active: np.ndarray
    reference_active: np.ndarray
    cost_ratio: float = float("nan")   # see path_cost_ratio


def _core(active: np.ndarray) -> tuple[int, int]:
    """First and last+1 active frame; the whole range when nothing is active."""
    idx = np.flatnonzero(active)
    if len(idx) == 0:
        return 0, len(active)
    return int(idx[0]), int(idx[-1]) + 1


def source_per_frame(path: np.ndarray, m: int) -> np.ndarray:
    """Median speech frame of the path at each reference frame: path [L, 2] -> [m]."""
    order = np.argsort(path[:, 1], kind="stable")
    j = path[order, 1]
    i = path[order, 0]
    starts = np.searchsorted(j, np.arange(m), side="left")
    ends = np.searchsorted(j, np.arange(m), side="right")
    mid = (starts + ends - 1) // 2
    return i[np.clip(mid, 0, len(i) - 1)].astype(np.int64)


def align(speech_mag: np.ndarray, reference_mag: np.ndarray, config: AlignConfig | None = None,
          progress=None) -> Alignment:
    """Align speech [N, K] to a sung reference [M, K] (STFT magnitudes on the front-end grid).

    Leading/trailing silence of both is cut before the DTW and mapped silence to silence.
    """
    return align_stats(fe.frame_energy_db(speech_mag), fe.cepstra(speech_mag),
                       fe.frame_energy_db(reference_mag), fe.cepstra(reference_mag), config, progress)


def align_stats(speech_energy_db: np.ndarray, speech_ceps: np.ndarray, reference_energy_db: np.ndarray,
                reference_ceps: np.ndarray, config: AlignConfig | None = None, progress=None) -> Alignment:
    """``align`` from frame energies [N], [M] (dB) and mel-cepstra [N, 14], [M, 14] (what the
    alignment uses of the spectra; audio.chunks.spectral_stats computes them block by block)."""
    cfg = config or AlignConfig()
    act_s = active_frames(speech_energy_db)
    act_r = active_frames(reference_energy_db)
    fs = features_from_cepstra(speech_ceps, act_s)
    fr = features_from_cepstra(reference_ceps, act_r)
    s0, s1 = _core(act_s)
    r0, r1 = _core(act_r)
    weight = np.where(act_s[s0:s1], 1.0, cfg.silence_weight)
    core = multiscale_dtw(fs[s0:s1], fr[r0:r1], weight, radius=cfg.radius,
                          max_full_cells=cfg.max_full_cells, pen_i=cfg.compress_penalty,
                          pen_j=cfg.stretch_penalty, progress=progress)
    path = core + np.array([s0, r0])
    n, m = len(speech_energy_db), len(reference_energy_db)
    source = np.empty(m, dtype=np.int64)
    source[r0:r1] = source_per_frame(core, r1 - r0) + s0
    # outside the sung core: walk through the speech's own leading/trailing silence
    source[:r0] = np.clip(s0 - (r0 - np.arange(r0)), 0, n - 1)
    source[r1:] = np.clip(s1 + np.arange(m - r1), 0, n - 1)
    return Alignment(path=path, source=source, speech_active=act_s, reference_active=act_r,
                     cost_ratio=path_cost_ratio(fs, fr, path, act_s, act_r))


def path_cost_ratio(fs: np.ndarray, fr: np.ndarray, path: np.ndarray, act_s: np.ndarray,
                    act_r: np.ndarray, pairs: int = 4096, block: int = 65536) -> float:
    """Mean feature distance along the path's active-to-active steps over the mean distance of
    random active frame pairs: fs [N, D], fr [M, D], path [L, 2] -> about 0.6 for the same words,
    near 1 when the recordings have nothing in common (see ALIGN_COST_WARN in engines.reference)."""
    keep = act_s[path[:, 0]] & act_r[path[:, 1]]
    on = path[keep]
    i_s, i_r = np.flatnonzero(act_s), np.flatnonzero(act_r)
    if len(on) < 10 or len(i_s) < 10 or len(i_r) < 10:
        return float("nan")
    total = 0.0
    for a in range(0, len(on), block):
        p = on[a:a + block]
        total += float(np.linalg.norm(fs[p[:, 0]] - fr[p[:, 1]], axis=1).sum())
    rng = np.random.default_rng(0)
    rs, rr = rng.choice(i_s, pairs), rng.choice(i_r, pairs)
    baseline = float(np.linalg.norm(fs[rs] - fr[rr], axis=1).mean())
    return (total / len(on)) / max(baseline, 1e-9)
