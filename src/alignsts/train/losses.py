"""Mel losses of the acoustic model: L1 and SSIM over the non-padded frames (as the official
FastSpeech2 task computes them)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def frame_weights(target: torch.Tensor) -> torch.Tensor:
    """1 where a frame of ``target [B, T, M]`` is not all zeros (padding), broadcast to ``[B, T, M]``."""
    return target.abs().sum(-1, keepdim=True).ne(0).float().expand_as(target)


def masked_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    w = frame_weights(target)
    return (F.l1_loss(pred, target, reduction="none") * w).sum() / w.sum().clamp_min(1.0)


def _gaussian_window(size: int = 11, sigma: float = 1.5, device=None, dtype=None) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=torch.float64) - size // 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] @ g[None, :]).to(dtype)[None, None]


def ssim_map(a: torch.Tensor, b: torch.Tensor, size: int = 11) -> torch.Tensor:
    """Per-element SSIM of two ``[B, 1, T, M]`` images (11x11 Gaussian window, sigma 1.5,
    C1 = 0.01^2, C2 = 0.03^2, zero padding): ``[B, T, M]``."""
    w = _gaussian_window(size, device=a.device, dtype=a.dtype)
    pad = size // 2
    mu_a, mu_b = F.conv2d(a, w, padding=pad), F.conv2d(b, w, padding=pad)
    var_a = F.conv2d(a * a, w, padding=pad) - mu_a ** 2
    var_b = F.conv2d(b * b, w, padding=pad) - mu_b ** 2
    cov = F.conv2d(a * b, w, padding=pad) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s[:, 0]


def masked_ssim_loss(pred: torch.Tensor, target: torch.Tensor, bias: float = 6.0) -> torch.Tensor:
    """1 - SSIM of log10 mels ``[B, T, M]`` shifted by ``bias`` (so they are mostly positive),
    averaged over non-padded frames."""
    w = frame_weights(target)
    s = ssim_map(pred[:, None] + bias, target[:, None] + bias)
    return ((1 - s) * w).sum() / w.sum().clamp_min(1.0)


def finite_or_raise(value: torch.Tensor, name: str, step: int) -> None:
    if not math.isfinite(float(value.detach())):
        from ..errors import TrainError
        raise TrainError(f"step {step}: the {name} loss is {float(value.detach())}; lower the learning rate or check the data")
