"""Validation figures for TensorBoard (matplotlib, Agg)."""
from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def mel_figure(gt: np.ndarray, pred: np.ndarray, f0: np.ndarray | None = None):
    """Ground-truth and predicted log10 mels ``[T, 80]`` one above the other (F0 on top)."""
    plt = _plt()
    fig, axes = plt.subplots(3 if f0 is not None else 2, 1, figsize=(10, 7), sharex=True)
    lo, hi = float(min(gt.min(), pred.min())), float(max(gt.max(), pred.max()))
    for ax, m, name in zip(axes, (gt, pred), ("singing (target)", "predicted")):
        ax.imshow(m.T, origin="lower", aspect="auto", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(name)
    if f0 is not None:
        f = np.where(f0 > 0, f0, np.nan)
        axes[2].plot(f)
        axes[2].set_ylabel("F0 (Hz)")
    axes[-1].set_xlabel("frame")
    fig.tight_layout()
    return fig


def alignment_figure(weights: np.ndarray):
    """Cross-attention weights ``[T1, T2]`` (sung frames x content frames)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(weights.T, origin="lower", aspect="auto", interpolation="nearest")
    ax.set_xlabel("sung frame")
    ax.set_ylabel("content frame")
    fig.tight_layout()
    return fig
