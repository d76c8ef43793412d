"""ProDiff decoder (x0-predicting, few-step) with the DiffNet (WaveNet-style) denoiser.

Noise is injectable: every sampler/training call takes ``noise_fn(shape, like_tensor) -> Tensor``;
:func:`zero_noise` reproduces the official vectors (all randomness switched off).
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

NoiseFn = Callable[[Sequence[int], torch.Tensor], torch.Tensor]


def gaussian_noise(shape, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(tuple(shape), device=like.device, dtype=like.dtype)


def zero_noise(shape, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros(tuple(shape), device=like.device, dtype=like.dtype)


def vpsde_betas(n: int, min_beta: float = 0.1, max_beta: float = 40.0) -> np.ndarray:
    """beta_t = 1 - exp(-min/n - (max - min)(2t - 1) / (2 n^2)), t = 1..n (float64)."""
    t = np.arange(1, n + 1, dtype=np.float64)
    return 1.0 - np.exp(-min_beta / n - 0.5 * (max_beta - min_beta) * (2 * t - 1) / n ** 2)


def noise_schedule(kind: str, n: int) -> np.ndarray:
    if kind == "vpsde":
        return vpsde_betas(n)
    if kind == "linear":
        return np.linspace(0.000001, 0.01, n)
    if kind == "cosine":
        s = 0.008
        x = np.linspace(0, n + 1, n + 1)
        ac = np.cos(((x / (n + 1)) + s) / (1 + s) * np.pi * 0.5) ** 2
        ac = ac / ac[0]
        return np.clip(1 - ac[1:] / ac[:-1], 0, 0.999)
    raise ValueError(f"schedule_type {kind!r} is not supported")


class Mish(nn.Module):
    def forward(self, x):
        return x * torch.tanh(F.softplus(x))


def step_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of diffusion steps ``t [B] -> [B, dim]`` (sin half, cos half)."""
    half = dim // 2
    k = math.log(10000) / (half - 1)
    freqs = torch.exp(torch.arange(half, device=t.device) * -k)
    ang = t[:, None] * freqs[None, :]
    return torch.cat((ang.sin(), ang.cos()), dim=-1)


class ResidualBlock(nn.Module):
    """Gated dilated-conv block: ``x [B, C, T]``, cond ``[B, H, T]``, step ``[B, C]`` -> (res, skip)."""

    def __init__(self, cond_hidden: int, channels: int, dilation: int):
        super().__init__()
        self.dilated_conv = nn.Conv1d(channels, 2 * channels, 3, padding=dilation, dilation=dilation)
        self.diffusion_projection = nn.Linear(channels, channels)
        self.conditioner_projection = nn.Conv1d(cond_hidden, 2 * channels, 1)
        self.output_projection = nn.Conv1d(channels, 2 * channels, 1)

    def forward(self, x, cond, step):
        y = x + self.diffusion_projection(step).unsqueeze(-1)
        y = self.dilated_conv(y) + self.conditioner_projection(cond)
        gate, filt = torch.chunk(y, 2, dim=1)
        y = self.output_projection(torch.sigmoid(gate) * torch.tanh(filt))
        res, skip = torch.chunk(y, 2, dim=1)
        return (x + res) / math.sqrt(2.0), skip


class DiffNet(nn.Module):
    """Denoiser: ``x_t [B, 1, M, T]``, ``t [B]``, ``cond [B, H, T]`` -> ``[B, 1, M, T]``."""

    def __init__(self, mel_bins: int, cond_hidden: int, residual_layers: int, residual_channels: int,
                 dilation_cycle_length: int):
        super().__init__()
        c = residual_channels
        self.channels = c
        self.input_projection = nn.Conv1d(mel_bins, c, 1)
        self.mlp = nn.Sequential(nn.Linear(c, 4 * c), Mish(), nn.Linear(4 * c, c))
        self.residual_layers = nn.ModuleList(
            ResidualBlock(cond_hidden, c, 2 ** (i % dilation_cycle_length)) for i in range(residual_layers))
        self.skip_projection = nn.Conv1d(c, c, 1)
        self.output_projection = nn.Conv1d(c, mel_bins, 1)

    def forward(self, x_t, t, cond):
        x = torch.relu(self.input_projection(x_t[:, 0]))
        step = self.mlp(step_embedding(t, self.channels))
        skips = []
        for layer in self.residual_layers:
            x, s = layer(x, cond, step)
            skips.append(s)
        x = torch.sum(torch.stack(skips), dim=0) / math.sqrt(len(self.residual_layers))
        x = self.output_projection(torch.relu(self.skip_projection(x)))
        return x[:, None]


def _gather(a: torch.Tensor, t: torch.Tensor, ndim: int) -> torch.Tensor:
    return a.gather(-1, t).reshape(t.shape[0], *((1,) * (ndim - 1)))


class ProDiff(nn.Module):
    """x0-predicting diffusion decoder.

    The schedule buffers are stored in the checkpoint and used as loaded (never recomputed).
    forward(cond ``[B, T, H]``, ref_mels ``[B, T, M]`` or None, infer) -> mel ``[B, T, M]``.
    """

    def __init__(self, denoise_fn: DiffNet, mel_bins: int, timesteps: int, timescale: float = 1.0,
                 schedule_type: str = "vpsde", spec_min: Optional[Sequence[float]] = None,
                 spec_max: Optional[Sequence[float]] = None, keep_bins: Optional[int] = None):
        super().__init__()
        self.denoise_fn = denoise_fn
        self.mel_bins = mel_bins
        self.num_timesteps = int(timesteps)
        betas = noise_schedule(schedule_type, timesteps + 1)
        alphas = 1.0 - betas
        ac = np.cumprod(alphas)
        ac_prev = np.append(1.0, ac[:-1])
        post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
        f = lambda v: torch.tensor(v, dtype=torch.float32)
        keep = keep_bins or mel_bins
        smin = list(spec_min or [0.0] * keep)[:keep]
        smax = list(spec_max or [0.0] * keep)[:keep]
        for name, val in [
            ("timesteps", f(self.num_timesteps)), ("timescale", f(timescale)), ("betas", f(betas)),
            ("alphas_cumprod", f(ac)), ("alphas_cumprod_prev", f(ac_prev)),
            ("sqrt_alphas_cumprod", f(np.sqrt(ac))), ("sqrt_one_minus_alphas_cumprod", f(np.sqrt(1.0 - ac))),
            ("log_one_minus_alphas_cumprod", f(np.log(1.0 - ac))),
            ("sqrt_recip_alphas_cumprod", f(np.sqrt(1.0 / ac))),
            ("sqrt_recipm1_alphas_cumprod", f(np.sqrt(1.0 / ac - 1))),
            ("posterior_variance", f(post_var)),
            ("posterior_log_variance_clipped", f(np.log(np.maximum(post_var, 1e-20)))),
            ("posterior_mean_coef1", f(betas * np.sqrt(ac_prev) / (1.0 - ac))),
            ("posterior_mean_coef2", f((1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac))),
            ("spec_min", f(smin)[None, None, :]), ("spec_max", f(smax)[None, None, :]),
        ]:
            self.register_buffer(name, val)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(ac_t) x0 + sqrt(1 - ac_t) noise; ``x0 [B, 1, M, T]``."""
        return (_gather(self.sqrt_alphas_cumprod, t, x0.ndim) * x0
                + _gather(self.sqrt_one_minus_alphas_cumprod, t, x0.ndim) * noise)

    def posterior_sample(self, x0, x_t, t, noise):
        """Sample q(x_{t-1} | x_t, x0) (no noise where t == 0)."""
        n = x_t.ndim
        mean = _gather(self.posterior_mean_coef1, t, n) * x0 + _gather(self.posterior_mean_coef2, t, n) * x_t
        log_var = _gather(self.posterior_log_variance_clipped, t, n)
        nonzero = (1 - (t == 0).float()).reshape(t.shape[0], *((1,) * (n - 1)))
        return mean + nonzero * (0.5 * log_var).exp() * noise

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, noise_fn: NoiseFn = gaussian_noise) -> torch.Tensor:
        """``cond [B, H, T]`` -> x0 ``[B, 1, M, T]`` after ``timesteps`` reverse steps from x_T ~ noise."""
        b, _, t_len = cond.shape
        shape = (b, 1, self.mel_bins, t_len)
        x = noise_fn(shape, cond)
        for i in reversed(range(self.num_timesteps)):
            t = torch.full((b,), i, device=cond.device, dtype=torch.long)
            x0 = self.denoise_fn(x, t, cond)
            x = self.posterior_sample(x0, x, t, noise_fn(shape, cond))
        return x

    def forward(self, cond: torch.Tensor, ref_mels: Optional[torch.Tensor] = None, infer: bool = True,
                noise_fn: NoiseFn = gaussian_noise, t: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``cond [B, T, H]`` -> mel ``[B, T, M]``. Teacher forcing (``infer=False``): x_t from
        ``ref_mels`` at step ``t [B]`` (random in [0, timesteps] when None), masked by the
        non-zero frames of ``cond``; returns the predicted x0."""
        b = cond.shape[0]
        nonpad = (1 - cond.abs().sum(-1).eq(0).float()).unsqueeze(1).unsqueeze(1)  # [B, 1, 1, T]
        c = cond.transpose(1, 2)
        if infer:
            return self.sample(c, noise_fn)[:, 0].transpose(1, 2)
        if ref_mels is None:
            raise ValueError("teacher forcing needs ref_mels")
        if t is None:
            t = torch.randint(0, self.num_timesteps + 1, (b,), device=cond.device)
        t = t.to(device=cond.device, dtype=torch.long)
        x0 = ref_mels.transpose(1, 2)[:, None]
        x_t = self.q_sample(x0, t, noise_fn(x0.shape, x0)) * nonpad
        return (self.denoise_fn(x_t, t, c) * nonpad)[:, 0].transpose(1, 2)
