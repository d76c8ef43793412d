"""Content, F0 and rhythm encoders: Conv1d + GroupNorm + ReLU stacks.

GroupNorm statistics are taken over the whole (padded) length, as in the official model.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import ConvStackConfig

# official utils/pitch_utils.py constants
F0_BIN = 256
F0_MIN_HZ = 50.0
F0_MAX_HZ = 1100.0
_MEL_MIN = 1127.0 * math.log(1.0 + F0_MIN_HZ / 700.0)
_MEL_MAX = 1127.0 * math.log(1.0 + F0_MAX_HZ / 700.0)


def f0_to_coarse_torch(f0_hz: torch.Tensor) -> torch.Tensor:
    """F0 in Hz ``[...]`` (0 = unvoiced) -> coarse pitch bins 1..255, int64 ``[...]``.

    Computed in the input's float dtype with the official rounding ``floor(x + 0.5)``
    (``(x + 0.5).long()`` on positive values).
    """
    f0 = f0_hz if f0_hz.is_floating_point() else f0_hz.float()
    mel = 1127.0 * (1.0 + f0 / 700.0).log()
    scaled = (mel - _MEL_MIN) * (F0_BIN - 2) / (_MEL_MAX - _MEL_MIN) + 1.0
    mel = torch.where(mel > 0, scaled, mel)
    mel = torch.where(mel <= 1, torch.ones_like(mel), mel)
    mel = torch.where(mel > F0_BIN - 1, torch.full_like(mel, F0_BIN - 1), mel)
    return (mel + 0.5).long()


class ConvGNStack(nn.Module):
    """``[B, T, inp] -> [B, T', hidden]`` (T' = T for stride 1; ceil-ish T/stride per layer).

    State-dict layout: ``convolutions.<i>.0`` (Conv1d), ``convolutions.<i>.1`` (GroupNorm).
    """

    def __init__(self, cfg: ConvStackConfig):
        super().__init__()
        self.convolutions = nn.ModuleList()
        for i in range(cfg.layers):
            self.convolutions.append(nn.Sequential(
                nn.Conv1d(cfg.inp if i == 0 else cfg.hidden, cfg.hidden, cfg.kernel, cfg.stride,
                          cfg.padding, cfg.dilation),
                nn.GroupNorm(cfg.hidden // cfg.gn_chs_grp, cfg.hidden)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)
        for block in self.convolutions:
            h = torch.relu(block(h))
        return h.transpose(1, 2)


class ContentEncoder(ConvGNStack):
    """Content features ``[B, T2, content_enc_inp] -> [B, T2, H]``."""


class RhythmEncoder(ConvGNStack):
    """Reference rhythm curve ``[B, T1, 1] -> [B, ~T1/scale, H]`` (strided convs)."""


class F0Encoder(nn.Module):
    """F0 in Hz ``[B, T1]`` -> coarse pitch -> embedding -> conv stack -> ``[B, T1, H]``."""

    def __init__(self, cfg: ConvStackConfig, embed_rows: int = 300):
        super().__init__()
        self.pitch_embed = nn.Embedding(embed_rows, cfg.inp)
        self.convolutions = ConvGNStack(cfg).convolutions

    def forward(self, f0_hz: torch.Tensor) -> torch.Tensor:
        h = self.pitch_embed(f0_to_coarse_torch(f0_hz)).transpose(1, 2)
        for block in self.convolutions:
            h = torch.relu(block(h))
        return h.transpose(1, 2)
