"""Vocoding: mel spectrograms [T, 80] to waveforms with a loaded HiFi-GAN (:func:`vocode`), or by
Griffin-Lim when there is none (:func:`griffin_lim`). Loading lives in :mod:`alignsts.models.ckpt`.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..audio import frontend as fe
from .hifigan import HifiGan

log = logging.getLogger("alignsts")

__all__ = ["vocode", "griffin_lim"]


def vocode(model: HifiGan, mel: np.ndarray, f0: np.ndarray | None = None, *, noise_scale: float | None = None,
           random_phase: bool | None = None, seed: int | None = None) -> np.ndarray:
    """mel ``[T, 80]`` log10 mel (frames x bins), f0 ``[T]`` Hz (0 = unvoiced) -> wav float32
    ``[T * hop]`` at ``model.config.sample_rate``.

    f0 is used only when the model has the NSF source (as the official vocoder does); an NSF model
    without f0 runs without excitation. ``noise_scale`` / ``random_phase`` override the model's
    defaults (0 / False give deterministic output); ``seed`` seeds the source's randomness.
    """
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[1] != model.config.num_mels:
        raise ValueError(f"mel must be [frames, {model.config.num_mels}], got {mel.shape}")
    f0_t = None
    if f0 is not None and model.config.use_nsf:
        f0 = np.asarray(f0, dtype=np.float32).reshape(-1)
        if f0.shape[0] != mel.shape[0]:
            raise ValueError(f"f0 has {f0.shape[0]} frames, mel has {mel.shape[0]}")
        f0_t = torch.from_numpy(np.nan_to_num(f0, nan=0.0))[None]
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    with torch.no_grad():
        c = torch.from_numpy(mel).T[None].to(device)
        y = model(c, None if f0_t is None else f0_t.to(device), noise_scale=noise_scale,
                  random_phase=random_phase, generator=gen)
    return y.reshape(-1).cpu().numpy().astype(np.float32)


def griffin_lim(log10_mel: np.ndarray, iters: int, seed: int) -> np.ndarray:
    """A vocoder of last resort: mel [T, 80] log10 -> waveform [T * hop] by Griffin-Lim."""
    fb = fe.mel_filterbank()
    mag = np.maximum(np.linalg.pinv(fb) @ (10.0 ** log10_mel.T), 0.0)      # [K, T]
    spec = torch.from_numpy(mag.astype(np.float32))
    window = torch.hann_window(fe.WIN)
    gen = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * np.pi * torch.rand(spec.shape, generator=gen))
    n = (spec.shape[1] - 1) * fe.HOP
    for _ in range(max(1, iters)):
        y = torch.istft(spec * angles, fe.N_FFT, fe.HOP, fe.WIN, window, length=n)
        rebuilt = torch.stft(y, fe.N_FFT, fe.HOP, fe.WIN, window, return_complex=True)
        angles = torch.exp(1j * torch.angle(rebuilt))
    y = torch.istft(spec * angles, fe.N_FFT, fe.HOP, fe.WIN, window, length=len(log10_mel) * fe.HOP)
    return y.numpy().astype(np.float32)
