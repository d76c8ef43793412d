"""Rhythm adaptor: EMA vector quantizer of the reference rhythm and the rhythm-code predictor."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .crossformer import CrossFormer


class VQEmbeddingEMA(nn.Module):
    """EMA vector quantizer (buffers ``embedding [M, D]``, ``ema_count [M]``, ``ema_weight [M, D]``).

    forward(x ``[B, T, D]``) -> (quantized ``[B, T, D]`` (straight-through), commitment loss,
    indices int64 ``[B, T]``, perplexity). The codebook is updated only in training mode.
    """

    def __init__(self, n_embeddings: int, dim: int, commitment_cost: float = 0.25, decay: float = 0.999,
                 epsilon: float = 1e-5):
        super().__init__()
        self.commitment_cost = commitment_cost
        self.decay = decay
        self.epsilon = epsilon
        emb = torch.empty(n_embeddings, dim).uniform_(-1 / 512, 1 / 512)
        self.register_buffer("embedding", emb)
        self.register_buffer("ema_count", torch.zeros(n_embeddings))
        self.register_buffer("ema_weight", emb.clone())

    def encode(self, x: torch.Tensor):
        m, d = self.embedding.shape
        flat = x.detach().reshape(-1, d)
        dist = torch.addmm(self.embedding.pow(2).sum(1) + flat.pow(2).sum(1, keepdim=True),
                           flat, self.embedding.t(), alpha=-2.0, beta=1.0)
        idx = torch.argmin(dist.float(), dim=-1)
        return flat, F.embedding(idx, self.embedding).view_as(x), idx

    def forward(self, x: torch.Tensor):
        b, t, _ = x.shape
        m = self.embedding.shape[0]
        flat, quant, idx = self.encode(x)
        onehot = F.one_hot(idx, m).float()
        if self.training:
            hits, sums = onehot.sum(0), onehot.t() @ flat
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                # data-parallel training: every process updates the codebook with all processes' batches
                torch.distributed.all_reduce(hits)
                torch.distributed.all_reduce(sums)
            count = self.decay * self.ema_count + (1 - self.decay) * hits
            n = count.sum()
            self.ema_count = (count + self.epsilon) / (n + m * self.epsilon) * n
            self.ema_weight = self.decay * self.ema_weight + (1 - self.decay) * sums
            self.embedding = self.ema_weight / self.ema_count.unsqueeze(-1)
        loss = self.commitment_cost * F.mse_loss(x, quant.detach())
        quant = x + (quant - x).detach()
        p = onehot.mean(0)
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
        return quant, loss, idx.view(b, t), perplexity


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of ``[B, C, T]`` (eps 1e-12, as the official one)."""

    def __init__(self, channels: int):
        super().__init__(channels, eps=1e-12)

    def forward(self, x):
        return super().forward(x.transpose(1, -1)).transpose(1, -1)


class RhythmPredictor(nn.Module):
    """Rhythm-code logits from F0 features attending to content.

    forward(content ``[B, T2, H]``, f0 ``[B, T1, H]``, spk ``[B, H]`` or 0) ->
    (logits ``[B, T1 / stride**layers, n_codes]``, guided loss).
    State dict: ``crossformer.*``, ``conv.<i>.1`` (Conv1d), ``conv.<i>.3`` (LayerNorm), ``linear``.
    """

    def __init__(self, hidden: int, n_codes: int, cf_layers: int, num_heads: int, ffn_kernel: int,
                 num_guided_layers: int, guided_sigma: float, cf_dropout: float, dropout: float,
                 kernel: int, padding: str, layers: int, stride: int, win_size: float, use_cont: bool = True):
        super().__init__()
        self.num_guided_layers = num_guided_layers
        self.use_cont = use_cont
        if use_cont:
            self.crossformer = CrossFormer(hidden, cf_layers, num_heads, ffn_kernel, cf_dropout, win_size,
                                           num_guided_layers, guided_sigma)
        pad = ((kernel - 1) // 2, (kernel - 1) // 2) if padding == "SAME" else (kernel - 1, 0)
        self.conv = nn.ModuleList(nn.Sequential(
            nn.ConstantPad1d(pad, 0.0),
            nn.Conv1d(hidden, hidden, kernel, stride=stride, padding=0),
            nn.ReLU(),
            ChannelLayerNorm(hidden),
            nn.Dropout(dropout)) for _ in range(layers))
        self.linear = nn.Linear(hidden, n_codes)

    def forward(self, content, f0, spk, chunk: int = 0):
        if self.use_cont:
            x, _, gloss = self.crossformer(f0, content, need_weights=self.num_guided_layers > 0 and not chunk,
                                           chunk=chunk)
        else:
            x, gloss = f0, 0
        h = (x + (spk[:, None, :] if torch.is_tensor(spk) else spk)).transpose(1, 2)
        for block in self.conv:
            h = block(h)
        return self.linear(h.transpose(1, 2)), gloss
