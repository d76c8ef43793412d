"""Cross-attention blocks ("crossformer") of AlignSTS: sinusoidal positions, windowed
multi-head cross-attention, conv FFN, guided-attention loss.

Layout conventions follow the official state dict (``layers.<i>.cross_attn.in_proj_weight`` ...).
Padding is detected, as in the official model, by frames whose features are all exactly zero.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def zero_frame_mask(x: torch.Tensor) -> torch.Tensor:
    """``[B, T, C] -> bool [B, T]``: True where a frame is all zeros (treated as padding)."""
    return x.abs().sum(-1).eq(0)


def sinusoidal_table(positions: torch.Tensor, dim: int, padding_idx: int = 0) -> torch.Tensor:
    """fairseq/tensor2tensor sinusoidal embedding of integer ``positions [...]`` -> ``[..., dim]``;
    the padding position gives zeros."""
    half = dim // 2
    step = math.log(10000) / (half - 1)
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=positions.device) * -step)
    ang = positions.to(torch.float32).unsqueeze(-1) * freqs
    emb = torch.cat([torch.sin(ang), torch.cos(ang)], dim=-1)
    if dim % 2 == 1:
        emb = torch.cat([emb, emb.new_zeros(*emb.shape[:-1], 1)], dim=-1)
    return emb.masked_fill((positions == padding_idx).unsqueeze(-1), 0.0)


class SinusoidalPositions(nn.Module):
    """Positions counted over frames whose first feature is non-zero (others get position 0 =
    zero vector). ``first_feature [B, T] -> [B, T, dim]``. Holds the official ``_float_tensor``
    buffer (unused) so that the state dict matches."""

    def __init__(self, dim: int, padding_idx: int = 0):
        super().__init__()
        self.dim = dim
        self.padding_idx = padding_idx
        self.register_buffer("_float_tensor", torch.zeros(1))

    def forward(self, first_feature: torch.Tensor) -> torch.Tensor:
        mask = first_feature.ne(self.padding_idx).long()
        positions = torch.cumsum(mask, dim=1) * mask + self.padding_idx
        return sinusoidal_table(positions, self.dim, self.padding_idx).to(self._float_tensor.dtype)


def window_mask(tgt_len: int, src_len: int, win: float, device=None) -> torch.Tensor:
    """bool ``[T1, T2]``, True = key NOT allowed. Query t may see keys in [c - w, c + w) with
    c = int(t / T1 * T2), w = int(T2 * win) // 2 (padded lengths, official formula)."""
    w = int(src_len * win) // 2
    m = torch.ones(tgt_len, src_len, dtype=torch.bool, device=device)
    for t in range(tgt_len):
        c = int(t / tgt_len * src_len)
        m[t, max(0, c - w): c + w] = False
    return m


class CrossAttention(nn.Module):
    """Multi-head attention without biases (query size = key/value size = ``dim``).

    ``q [T1, B, C]``, ``kv [T2, B, C]``, ``key_padding [B, T2]`` (True = pad), ``attn_mask [T1, T2]``
    (True = blocked) -> ``out [T1, B, C]``, weights averaged over heads ``[B, T1, T2]``.
    Rows with every key blocked give zero weights (instead of NaN).
    """

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        assert dim % num_heads == 0
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.out_proj = nn.Linear(dim, dim, bias=False)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.xavier_uniform_(self.out_proj.weight)

    def forward(self, q, kv, key_padding=None, attn_mask=None, window: float = 0.0, chunk: int = 0):
        """With ``chunk`` > 0 and a ``window``, queries are processed ``chunk`` at a time against
        only the keys their window can reach (memory O(T1 * window), no weights returned)."""
        if chunk > 0 and window > 0:
            return self._forward_chunked(q, kv, key_padding, window, chunk), None
        t1, b, c = q.shape
        t2 = kv.shape[0]
        w_q, w_k, w_v = self.in_proj_weight.split(self.dim, dim=0)
        qh = F.linear(q, w_q).reshape(t1, b * self.num_heads, self.head_dim).transpose(0, 1)
        kh = F.linear(kv, w_k).reshape(t2, b * self.num_heads, self.head_dim).transpose(0, 1)
        vh = F.linear(kv, w_v).reshape(t2, b * self.num_heads, self.head_dim).transpose(0, 1)
        qh = qh * math.sqrt(1.0 / self.head_dim)
        blocked = torch.zeros(b, 1, t1, t2, dtype=torch.bool, device=q.device)
        if attn_mask is not None:
            blocked = blocked | attn_mask.view(1, 1, t1, t2)
        if key_padding is not None:
            blocked = blocked | key_padding.view(b, 1, 1, t2)
        blocked = blocked.expand(b, self.num_heads, t1, t2).reshape(b * self.num_heads, t1, t2)
        bias = torch.zeros(blocked.shape, dtype=qh.dtype, device=q.device).masked_fill(blocked, float("-inf"))
        scores = torch.baddbmm(bias, qh, kh.transpose(1, 2))
        all_blocked = blocked.all(-1, keepdim=True)
        scores = scores.masked_fill(all_blocked, 0.0)
        weights = torch.softmax(scores, dim=-1).masked_fill(all_blocked, 0.0)
        probs = F.dropout(weights, self.dropout, training=self.training)
        out = torch.bmm(probs, vh).transpose(0, 1).reshape(t1, b, c)
        out = self.out_proj(out)
        return out, weights.view(b, self.num_heads, t1, t2).mean(dim=1)


    def _forward_chunked(self, q, kv, key_padding, window: float, chunk: int):
        """Windowed attention query block by query block: ``[T1, B, C]`` -> ``[T1, B, C]``."""
        t1, b, c = q.shape
        t2 = kv.shape[0]
        w = int(t2 * window) // 2
        w_q, w_k, w_v = self.in_proj_weight.split(self.dim, dim=0)
        qh = F.linear(q, w_q).reshape(t1, b * self.num_heads, self.head_dim).transpose(0, 1)
        kh = F.linear(kv, w_k).reshape(t2, b * self.num_heads, self.head_dim).transpose(0, 1)
        vh = F.linear(kv, w_v).reshape(t2, b * self.num_heads, self.head_dim).transpose(0, 1)
        qh = qh * math.sqrt(1.0 / self.head_dim)
        # window centres exactly as window_mask computes them: int(t / T1 * T2)
        centres = torch.tensor([int(t / t1 * t2) for t in range(t1)], device=q.device)
        out = qh.new_empty(b * self.num_heads, t1, self.head_dim)
        for a in range(0, t1, chunk):
            e = min(t1, a + chunk)
            cen = centres[a:e]
            lo, hi = max(0, int(cen[0]) - w), min(t2, int(cen[-1]) + w)
            if hi <= lo:
                out[:, a:e] = 0.0
                continue
            cols = torch.arange(lo, hi, device=q.device)
            blocked = (cols[None, :] < (cen[:, None] - w)) | (cols[None, :] >= (cen[:, None] + w))
            blocked = blocked[None].expand(b, e - a, hi - lo)
            if key_padding is not None:
                blocked = blocked | key_padding[:, None, lo:hi]
            blocked = blocked[:, None].expand(b, self.num_heads, e - a, hi - lo).reshape(-1, e - a, hi - lo)
            scores = torch.bmm(qh[:, a:e], kh[:, lo:hi].transpose(1, 2)).masked_fill(blocked, float("-inf"))
            all_blocked = blocked.all(-1, keepdim=True)
            weights = torch.softmax(scores.masked_fill(all_blocked, 0.0), dim=-1).masked_fill(all_blocked, 0.0)
            out[:, a:e] = torch.bmm(weights, vh[:, lo:hi])
        return self.out_proj(out.transpose(0, 1).reshape(t1, b, c))


class ConvFFN(nn.Module):
    """Position-wise FFN: Conv1d(C -> 4C, k, SAME) * k^-0.5 -> GELU -> Linear(4C -> C). ``[T, B, C]``."""

    def __init__(self, dim: int, kernel: int, dropout: float = 0.0):
        super().__init__()
        self.kernel = kernel
        self.dropout = dropout
        self.ffn_1 = nn.Conv1d(dim, 4 * dim, kernel, padding=kernel // 2)
        self.ffn_2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        h = self.ffn_1(x.permute(1, 2, 0)).permute(2, 0, 1) * self.kernel ** -0.5
        h = F.dropout(F.gelu(h), self.dropout, training=self.training)
        return self.ffn_2(h)


class CrossFormerLayer(nn.Module):
    """Pre-LN cross-attention + residual, pre-LN conv FFN + residual; padded queries zeroed."""

    def __init__(self, dim: int, num_heads: int, ffn_kernel: int, dropout: float, win_size: float,
                 attention_dropout: float = 0.1, relu_dropout: float = 0.1):
        super().__init__()
        self.dropout = dropout
        self.win_size = win_size
        self.layer_norm1 = nn.LayerNorm(dim)
        self.layer_norm2 = nn.LayerNorm(dim)
        self.cross_attn = CrossAttention(dim, num_heads, attention_dropout)
        self.ffn = ConvFFN(dim, ffn_kernel, relu_dropout)

    def forward(self, q, kv, q_pad, kv_pad, chunk: int = 0):
        """``q [T1, B, C]``, ``kv [T2, B, C]``, ``q_pad [B, T1]``, ``kv_pad [B, T2]`` ->
        ``[T1, B, C]``, weights ``[B, T1, T2]`` (None when ``chunk`` > 0 and windowed)."""
        keep = (~q_pad).to(q.dtype).transpose(0, 1)[..., None]
        if chunk > 0 and self.win_size > 0:
            a, w = self.cross_attn(self.layer_norm1(q), kv, kv_pad, window=self.win_size, chunk=chunk)
        else:
            mask = window_mask(q.shape[0], kv.shape[0], self.win_size, q.device) if self.win_size > 0 else None
            a, w = self.cross_attn(self.layer_norm1(q), kv, kv_pad, mask)
        x = (q + F.dropout(a, self.dropout, training=self.training)) * keep
        h = F.dropout(self.ffn(self.layer_norm2(x)), self.dropout, training=self.training)
        return (x + h) * keep, w


def guided_attention_loss(aw: torch.Tensor, q_pad: torch.Tensor, kv_pad: torch.Tensor, sigma: float) -> torch.Tensor:
    """Mean over valid (q, k) pairs of ``aw * (1 - exp(-(k/L2 - q/L1)^2 / (2 sigma^2)))`` where
    L1, L2 are the counts of non-padding frames. ``aw [B, T1, T2]``."""
    l1 = (~q_pad).float().sum(-1)[:, None, None]
    l2 = (~kv_pad).float().sum(-1)[:, None, None]
    qi = torch.arange(aw.shape[1], device=aw.device).float()[None, :, None]
    ki = torch.arange(aw.shape[2], device=aw.device).float()[None, None, :]
    penalty = 1.0 - torch.exp(-((ki / l2 - qi / l1) ** 2) / (2 * sigma ** 2))
    valid = (~q_pad).unsqueeze(-1) & (~kv_pad).unsqueeze(1)
    return (aw * penalty)[valid].mean()


class CrossFormer(nn.Module):
    """Stack of cross-attention layers with learned-scale sinusoidal positions.

    forward(x1 ``[B, T1, C]`` queries, x2 ``[B, T2, C]`` keys/values, need_weights) ->
    (``[B, T1, C]``, last layer's weights ``[B, T1, T2]`` or None, guided loss (tensor or 0)).
    """

    def __init__(self, dim: int, num_layers: int, num_heads: int, ffn_kernel: int, dropout: float,
                 win_size: float, num_guided_layers: int, guided_sigma: float):
        super().__init__()
        self.dropout = dropout
        self.num_guided_layers = num_guided_layers
        self.guided_sigma = guided_sigma
        self.pos_embed_alpha = nn.Parameter(torch.ones(1))
        self.embed_positions_1 = SinusoidalPositions(dim)
        self.embed_positions_2 = SinusoidalPositions(dim)
        self.layers = nn.ModuleList(
            CrossFormerLayer(dim, num_heads, ffn_kernel, dropout, win_size) for _ in range(num_layers))
        self.layer_norm = nn.LayerNorm(dim)

    def forward(self, x1, x2, need_weights: bool = False, chunk: int = 0):
        """``chunk`` > 0 (only without ``need_weights``): windowed attention in query blocks, so
        memory grows linearly with length; the result is the same up to float rounding."""
        if need_weights:
            chunk = 0
        pad1, pad2 = zero_frame_mask(x1), zero_frame_mask(x2)
        keep1 = (~pad1).to(x1.dtype).transpose(0, 1)[..., None]
        keep2 = (~pad2).to(x2.dtype).transpose(0, 1)[..., None]
        x1 = x1 + self.pos_embed_alpha * self.embed_positions_1(x1[..., 0])
        x2 = x2 + self.pos_embed_alpha * self.embed_positions_2(x2[..., 0])
        x1 = F.dropout(x1, self.dropout, training=self.training)
        x2 = F.dropout(x2, self.dropout, training=self.training)
        h = x1.transpose(0, 1) * keep1
        kv = x2.transpose(0, 1) * keep2
        loss = 0
        aw = None
        for i, layer in enumerate(self.layers):
            h, aw = layer(h, kv, pad1, pad2, chunk)
            h = h * keep1
            if need_weights and i < self.num_guided_layers:
                loss = loss + guided_attention_loss(aw, pad1, pad2, self.guided_sigma)
        h = self.layer_norm(h) * keep1
        return h.transpose(0, 1), (aw if need_weights else None), loss
