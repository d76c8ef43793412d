"""Figures of a conversion (matplotlib, written atomically as PNG)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .audio import frontend as fe
from .audio.io import atomic_path


def _masked(f0: np.ndarray) -> np.ndarray:
    out = np.asarray(f0, dtype=float).copy()
    out[out <= 0] = np.nan
    return out


def plot_conversion(result, path: str | os.PathLike) -> Path:
    """Two panels: F0 of speech / reference / output over output time; the alignment path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = result.analysis
    out_f0 = fe.f0_praat(result.wav, official_shift=False) if result.sr == fe.SAMPLE_RATE else None
    t_out = fe.frame_times(len(a.target_f0))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 7), gridspec_kw={"height_ratios": [3, 2]})
    ax1.plot(fe.frame_times(len(a.speech_f0)), _masked(a.speech_f0), color="0.6", lw=1,
             label="speech F0 (its own time)")
    ax1.plot(t_out, _masked(a.reference_f0), color="tab:blue", lw=1.2, label="reference F0")
    if a.transpose:
        ax1.plot(t_out, _masked(a.target_f0), color="tab:green", lw=1, ls="--",
                 label=f"target F0 ({a.transpose:+g} st)")
    if out_f0 is not None:
        ax1.plot(fe.frame_times(len(out_f0)), _masked(out_f0), color="tab:red", lw=0.9, label="output F0")
    ax1.set_yscale("log")
    ax1.set_ylabel("F0 (Hz)")
    ax1.set_xlabel("time (s)")
    ax1.legend(loc="upper right", fontsize=8)
    ax1.set_title("Pitch")
    dt = fe.HOP / fe.SAMPLE_RATE
    ax2.plot(a.path[:, 1] * dt, a.path[:, 0] * dt, color="0.7", lw=1, label="DTW path")
    ax2.plot(t_out, a.source * dt, color="tab:purple", lw=1, label="speech frame used")
    ax2.set_xlabel("output (reference) time (s)")
    ax2.set_ylabel("speech time (s)")
    ax2.legend(loc="upper left", fontsize=8)
    ax2.set_title("Alignment")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(path)
