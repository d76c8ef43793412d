"""FastSpeech-style (non-diffusion) mel decoder of the official model (``diffvae_decoder: fs2``).

Official layout (``DiffVAE2.__init__``): ``fs2_decoder`` = ``FastspeechDecoder`` (an ``FFTBlocks``
stack of self-attention + conv-FFN layers with learned-scale sinusoidal positions and a final
LayerNorm) and ``mel_out`` = ``Linear(diffvae_hidden, audio_num_mel_bins)``; the mel is
``mel_out(fs2_decoder(decoder_inp))`` directly (no diffusion, no spec_min/max normalisation).

State-dict keys of :class:`FFTDecoder` (relative to ``fs2_decoder.``)::

    pos_embed_alpha                       [1]
    embed_positions._float_tensor         [1]  (buffer, unused by the computation)
    layers.<i>.op.layer_norm1.{weight,bias}
    layers.<i>.op.self_attn.in_proj_weight  [3H, H]   (no biases: bias=False)
    layers.<i>.op.self_attn.out_proj.weight [H, H]
    layers.<i>.op.layer_norm2.{weight,bias}
    layers.<i>.op.ffn.ffn_1.{weight,bias}   [4H, H, K]  ('SAME' padding; 'LEFT': ffn_1.1.*)
    layers.<i>.op.ffn.ffn_2.{weight,bias}   [H, 4H]
    layer_norm.{weight,bias}
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .crossformer import SinusoidalPositions, zero_frame_mask


def _xavier_linear(inp: int, out: int, bias: bool = True) -> nn.Linear:
    """Linear with the official init (xavier-uniform weight, zero bias)."""
    m = nn.Linear(inp, out, bias=bias)
    nn.init.xavier_uniform_(m.weight)
    if bias:
        nn.init.zeros_(m.bias)
    return m


class SelfAttention(nn.Module):
    """Multi-head self-attention with packed, bias-free projections (official ``MultiheadAttention``
    with ``self_attention=True, bias=False``), computed by ``F.multi_head_attention_forward`` as the
    official module does. Input/output ``[T, B, H]``."""

    def __init__(self, hidden: int, num_heads: int):
        super().__init__()
        if hidden % num_heads:
            raise ValueError("hidden size must be divisible by the number of heads")
        self.hidden = hidden
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * hidden, hidden))
        self.out_proj = nn.Linear(hidden, hidden, bias=False)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.xavier_uniform_(self.out_proj.weight)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor) -> torch.Tensor:
        y, _ = F.multi_head_attention_forward(
            x, x, x, self.hidden, self.num_heads, self.in_proj_weight, None, None, None, False, 0.0,
            self.out_proj.weight, None, training=False, key_padding_mask=key_padding_mask, need_weights=False)
        return y


class ConvFFN(nn.Module):
    """Official ``TransformerFFNLayer``: conv (kernel K, hidden -> 4 hidden) scaled by K ** -0.5,
    activation, dropout, linear back. ``[T, B, H] -> [T, B, H]``."""

    def __init__(self, hidden: int, kernel: int, padding: str, act: str, dropout: float):
        super().__init__()
        self.kernel = kernel
        self.act = act
        self.dropout = dropout
        if padding == "SAME":
            self.ffn_1 = nn.Conv1d(hidden, 4 * hidden, kernel, padding=kernel // 2)
        elif padding == "LEFT":
            self.ffn_1 = nn.Sequential(nn.ConstantPad1d((kernel - 1, 0), 0.0), nn.Conv1d(hidden, 4 * hidden, kernel))
        else:
            raise ValueError(f"ffn_padding {padding!r}")
        self.ffn_2 = _xavier_linear(4 * hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ffn_1(x.permute(1, 2, 0)).permute(2, 0, 1) * self.kernel ** -0.5
        if self.act == "gelu":
            h = F.gelu(h)
        elif self.act == "relu":
            h = F.relu(h)
        elif self.act == "swish":
            h = h * torch.sigmoid(h)
        h = F.dropout(h, self.dropout, training=self.training)
        return self.ffn_2(h)


class EncSALayer(nn.Module):
    """Pre-norm self-attention + conv-FFN layer (official ``EncSALayer`` with ``norm='ln'``;
    attention dropout 0, relu dropout = dropout)."""

    def __init__(self, hidden: int, num_heads: int, kernel: int, padding: str, act: str, dropout: float):
        super().__init__()
        self.dropout = dropout
        self.layer_norm1 = nn.LayerNorm(hidden)
        self.self_attn = SelfAttention(hidden, num_heads)
        self.layer_norm2 = nn.LayerNorm(hidden)
        self.ffn = ConvFFN(hidden, kernel, padding, act, dropout)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        keep = (1 - padding_mask.float()).transpose(0, 1)[..., None]     # [T, B, 1]
        y = self.self_attn(self.layer_norm1(x), padding_mask)
        x = (x + F.dropout(y, self.dropout, training=self.training)) * keep
        y = self.ffn(self.layer_norm2(x))
        return (x + F.dropout(y, self.dropout, training=self.training)) * keep


class _LayerWrap(nn.Module):
    """Holds the layer under ``op`` (official ``TransformerEncoderLayer``)."""

    def __init__(self, op: EncSALayer):
        super().__init__()
        self.op = op

    def forward(self, x, padding_mask):
        return self.op(x, padding_mask)


class FFTDecoder(nn.Module):
    """Official ``FastspeechDecoder`` / ``FFTBlocks`` (positions with ``pos_embed_alpha``, final LayerNorm).

    ``[B, T, H] -> [B, T, H]``; padding = frames that are all exactly zero (as officially).
    """

    def __init__(self, hidden: int, num_layers: int, kernel: int, num_heads: int, dropout: float,
                 padding: str = "SAME", act: str = "gelu"):
        super().__init__()
        self.dropout = dropout
        self.pos_embed_alpha = nn.Parameter(torch.ones(1))
        self.embed_positions = SinusoidalPositions(hidden, 0)
        self.layers = nn.ModuleList(_LayerWrap(EncSALayer(hidden, num_heads, kernel, padding, act, dropout))
                                    for _ in range(num_layers))
        self.layer_norm = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor, padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if padding_mask is None:
            padding_mask = zero_frame_mask(x)
        keep = (1 - padding_mask.transpose(0, 1).float())[:, :, None]   # [T, B, 1]
        x = x + self.pos_embed_alpha * self.embed_positions(x[..., 0])
        x = F.dropout(x, self.dropout, training=self.training)
        x = x.transpose(0, 1) * keep
        for layer in self.layers:
            x = layer(x, padding_mask) * keep
        x = self.layer_norm(x) * keep
        return x.transpose(0, 1)
