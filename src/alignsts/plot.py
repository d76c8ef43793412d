"""Figures of a conversion (matplotlib, written atomically as PNG)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .audio import frontend as fe


def _masked(f0: np.ndarray) -> np.ndarray:
    out = np.asarray(f0, dtype=float).copy()
    out[out <= 0] = np.nan
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    _pyplot().close(fig)
    return Path(path)


def key_caption(analysis, width: int = 115) -> str:
    """The key decision (and, for the reference engine, the timbre choice) in at most three lines."""
    import textwrap

    decision = getattr(analysis, "key", None)
    if decision is None:
        return ""
    text = decision.summary()
    balance = getattr(analysis, "balance", None)
    if balance is not None:
        how = {"same": "your own voice: its colour kept", "other": "another voice: its colour not taken",
               "set": "set in the config"}[balance[1]]
        text += f"; spectral balance {balance[0]:g} ({how})"
    return "\n".join(textwrap.wrap(text, width)[:3])


def plot_conversion(result, path: str | os.PathLike) -> Path:
    """PNG of a conversion: plot_reference or plot_score, by the engine that made it."""
    if hasattr(result.analysis, "syllables"):
        return plot_score(result, path)
    return plot_reference(result, path)


def plot_reference(result, path: str | os.PathLike) -> Path:
    """Two panels: F0 of speech / reference / output over output time; the alignment path."""
    plt = _pyplot()
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
    ax1.set_title("Pitch\n" + key_caption(a), fontsize=9)
    dt = fe.HOP / fe.SAMPLE_RATE
    ax2.plot(a.path[:, 1] * dt, a.path[:, 0] * dt, color="0.7", lw=1, label="DTW path")
    ax2.plot(t_out, a.source * dt, color="tab:purple", lw=1, label="speech frame used")
    ax2.set_xlabel("output (reference) time (s)")
    ax2.set_ylabel("speech time (s)")
    ax2.legend(loc="upper left", fontsize=8)
    ax2.set_title("Alignment")
    return _save(fig, path)


def plot_score(result, path: str | os.PathLike) -> Path:
    """Two panels: notes, target and output F0 over output time; speech syllables and the
    speech frame sung at each output frame."""
    plt = _pyplot()
    a = result.analysis
    out_f0 = fe.f0_praat(result.wav, official_shift=False)
    dt = fe.HOP / fe.SAMPLE_RATE
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 7), gridspec_kw={"height_ratios": [3, 2]})
    for k, x in enumerate(a.notes):
        ax1.hlines(x.hz, x.onset, x.offset, color="tab:orange", lw=5, alpha=0.45,
                   label="notes" if k == 0 else None)
    ax1.plot(fe.frame_times(len(a.target_f0)), _masked(a.target_f0), color="tab:green", lw=1, label="target F0")
    ax1.plot(fe.frame_times(len(out_f0)), _masked(out_f0), color="tab:red", lw=0.9, label="output F0")
    ax1.set_yscale("log")
    ax1.set_ylabel("F0 (Hz)")
    ax1.set_xlabel("output time (s)")
    title = "Notes and pitch" + (f" (transposed {a.transpose:+g} st)" if a.transpose else "")
    ax1.set_title(title + (f" — {a.message}" if a.message else "") + "\n" + key_caption(a), fontsize=9)
    ax1.legend(loc="upper right", fontsize=8)
    t_out = fe.frame_times(len(a.source))
    sounding = a.part > 0
    ax2.plot(t_out[sounding], a.source[sounding] * dt, ".", ms=1.5, color="tab:purple", label="speech frame sung")
    for k, syl in enumerate(a.syllables):
        ax2.axhspan(syl.vowel_start * dt, syl.vowel_end * dt, color="tab:blue", alpha=0.12,
                    label="syllable vowels" if k == 0 else None)
        ax2.axhline(syl.start * dt, color="0.75", lw=0.6)
    ax2.set_xlabel("output time (s)")
    ax2.set_ylabel("speech time (s)")
    ax2.legend(loc="upper left", fontsize=8)
    ax2.set_title(f"{len(a.syllables)} syllables on {len(a.notes)} notes")
    return _save(fig, path)
