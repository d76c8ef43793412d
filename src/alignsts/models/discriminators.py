"""HiFi-GAN V1 discriminators and training losses (Kong et al. 2020).

* :class:`MultiPeriodDiscriminator` (MPD): one :class:`DiscriminatorP` per period; each folds the
  wave ``[B, 1, N]`` into ``[B, 1, N/p, p]`` and looks at every p-th sample with 2-D convolutions.
* :class:`MultiScaleDiscriminator` (MSD): three :class:`DiscriminatorS` on the raw wave and on its
  x2 and x4 average-pooled versions; the first uses spectral norm, the others weight norm.
* Losses: LSGAN adversarial losses, feature matching (x2) and the mel L1 term (the caller scales
  it by 45), plus :func:`mel_of_wave`, a differentiable torch copy of the front-end's log mel.

``channels_scale`` multiplies every channel count (at least 4) so tests and tiny CPU configs can use
small discriminators; 1.0 gives the paper's sizes. Shapes: B = batch, N = samples, T = frames.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from alignsts.audio import frontend

__all__ = [
    "DiscriminatorP", "MultiPeriodDiscriminator", "DiscriminatorS", "MultiScaleDiscriminator",
    "discriminator_loss", "generator_adv_loss", "feature_matching_loss", "mel_l1_loss",
    "mel_of_wave",
]

LRELU_SLOPE = 0.1
MIN_CHANNELS = 4

Logits = list[torch.Tensor]
Feats = list[list[torch.Tensor]]


def _scaled(channels: int, scale: float, multiple: int = 1) -> int:
    """``channels * scale`` rounded, at least MIN_CHANNELS, rounded up to a multiple of ``multiple``."""
    c = max(MIN_CHANNELS, int(round(channels * scale)))
    return int(math.ceil(c / multiple) * multiple)


# ------------------------------------------------------------------------------- discriminators
def _conv_stack(convs: nn.ModuleList, post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Leaky-ReLU conv stack then the post conv: (flattened logits ``[B, L]``, every layer's output)."""
    feats = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        feats.append(x)
    x = post(x)
    feats.append(x)
    return torch.flatten(x, 1, -1), feats


class DiscriminatorP(nn.Module):
    """Period discriminator: ``[B, 1, N]`` -> (logits ``[B, L]``, feature maps ``[B, C, H, period]``).

    The wave is reflect-padded at the end to a multiple of ``period`` and folded to
    ``[B, 1, N/period, period]``; Conv2d layers with kernel ``(kernel_size, 1)`` then run along
    time within each phase. The last layer of ``channels`` has stride 1; a ``(3, 1)`` post conv
    gives one logit map. The feature list holds every activation and the post conv output.
    """

    def __init__(self, period: int, kernel_size: int = 5, stride: int = 3,
                 channels: Sequence[int] = (32, 128, 512, 1024, 1024)) -> None:
        super().__init__()
        self.period = int(period)
        pad = ((kernel_size - 1) // 2, 0)
        chans = [1, *channels]
        self.convs = nn.ModuleList()
        for i in range(len(channels)):
            s = 1 if i == len(channels) - 1 else stride
            self.convs.append(weight_norm(
                nn.Conv2d(chans[i], chans[i + 1], (kernel_size, 1), (s, 1), padding=pad)))
        self.conv_post = weight_norm(nn.Conv2d(chans[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, c, n = x.shape
        if n % self.period:
            x = F.pad(x, (0, self.period - n % self.period), mode="reflect")
        return _conv_stack(self.convs, self.conv_post, x.view(b, c, -1, self.period))


class DiscriminatorS(nn.Module):
    """Scale discriminator on the raw wave: ``[B, 1, N]`` -> (logits ``[B, L]``, feature maps ``[B, C, L_i]``).

    Grouped Conv1d stack of HiFi-GAN (kernels 15, 41 x5, 5; post conv k3 to 1 channel). With
    ``channels_scale`` every channel count is scaled and rounded up to a multiple of the group
    counts of the layers it feeds or comes from, so the grouped convolutions stay valid.
    """

    # (in, out, kernel, stride, groups, padding) of the paper's layers
    LAYERS = ((1, 128, 15, 1, 1, 7), (128, 128, 41, 2, 4, 20), (128, 256, 41, 2, 16, 20),
              (256, 512, 41, 4, 16, 20), (512, 1024, 41, 4, 16, 20), (1024, 1024, 41, 1, 16, 20),
              (1024, 1024, 5, 1, 1, 2))

    def __init__(self, use_spectral_norm: bool = False, channels_scale: float = 1.0) -> None:
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        groups = [g for *_, g, _ in self.LAYERS]
        outs = []
        for i, (_, c_out, *_rest) in enumerate(self.LAYERS):
            nxt = groups[i + 1] if i + 1 < len(groups) else 1
            outs.append(_scaled(c_out, channels_scale, max(groups[i], nxt)))
        ins = [1, *outs[:-1]]
        self.convs = nn.ModuleList(
            norm(nn.Conv1d(ins[i], outs[i], k, s, groups=g, padding=p))
            for i, (_, _, k, s, g, p) in enumerate(self.LAYERS))
        self.conv_post = norm(nn.Conv1d(outs[-1], 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _conv_stack(self.convs, self.conv_post, x)


def _run_pair(discs: Sequence[nn.Module], inputs: Sequence[torch.Tensor], batch: int
              ) -> tuple[Logits, Logits, Feats, Feats]:
    """Run each disc on its ``[2B, 1, N_i]`` input (real then fake) and split the batch."""
    r_logits, f_logits, r_feats, f_feats = [], [], [], []
    for d, x in zip(discs, inputs):
        logits, feats = d(x)
        r_logits.append(logits[:batch])
        f_logits.append(logits[batch:])
        r_feats.append([f[:batch] for f in feats])
        f_feats.append([f[batch:] for f in feats])
    return r_logits, f_logits, r_feats, f_feats


def _stack_pair(y_real: torch.Tensor, y_fake: torch.Tensor) -> torch.Tensor:
    if y_real.shape != y_fake.shape or y_real.dim() != 3 or y_real.shape[1] != 1:
        raise ValueError(f"expected real and fake waves of equal shape [B, 1, N], got "
                         f"{tuple(y_real.shape)} and {tuple(y_fake.shape)}")
    return torch.cat([y_real, y_fake], dim=0)


class MultiPeriodDiscriminator(nn.Module):
    """MPD: one :class:`DiscriminatorP` per period (paper: 2, 3, 5, 7, 11)."""

    def __init__(self, periods: Sequence[int] = (2, 3, 5, 7, 11), channels_scale: float = 1.0) -> None:
        super().__init__()
        chans = tuple(_scaled(c, channels_scale) for c in (32, 128, 512, 1024, 1024))
        self.discriminators = nn.ModuleList(DiscriminatorP(p, channels=chans) for p in periods)

    def forward(self, y_real: torch.Tensor, y_fake: torch.Tensor) -> tuple[Logits, Logits, Feats, Feats]:
        """``[B, 1, N]`` x2 -> (real logits, fake logits, real feats, fake feats), one entry per period."""
        y = _stack_pair(y_real, y_fake)
        return _run_pair(self.discriminators, [y] * len(self.discriminators), y_real.shape[0])


class MultiScaleDiscriminator(nn.Module):
    """MSD: three :class:`DiscriminatorS` on the wave, then x2 and x4 average-pooled (4, 2, pad 2)."""

    def __init__(self, channels_scale: float = 1.0) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList([
            DiscriminatorS(use_spectral_norm=True, channels_scale=channels_scale),
            DiscriminatorS(channels_scale=channels_scale),
            DiscriminatorS(channels_scale=channels_scale),
        ])
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, y_real: torch.Tensor, y_fake: torch.Tensor) -> tuple[Logits, Logits, Feats, Feats]:
        """``[B, 1, N]`` x2 -> (real logits, fake logits, real feats, fake feats), one entry per scale."""
        y = _stack_pair(y_real, y_fake)
        inputs = [y]
        for _ in range(len(self.discriminators) - 1):
            inputs.append(self.pool(inputs[-1]))
        return _run_pair(self.discriminators, inputs, y_real.shape[0])


# ------------------------------------------------------------------------------------------- losses
def discriminator_loss(real_logits: Logits, fake_logits: Logits) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """LSGAN discriminator loss: sum over discs of mean((1 - r)^2) + mean(f^2); also per-disc terms."""
    losses = [torch.mean((1 - r) ** 2) + torch.mean(f ** 2) for r, f in zip(real_logits, fake_logits)]
    return torch.stack(losses).sum(), losses


def generator_adv_loss(fake_logits: Logits) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """LSGAN generator loss: sum over discs of mean((1 - f)^2); also per-disc terms."""
    losses = [torch.mean((1 - f) ** 2) for f in fake_logits]
    return torch.stack(losses).sum(), losses


def feature_matching_loss(real_feats: Feats, fake_feats: Feats) -> torch.Tensor:
    """2 x sum over discs and layers of mean |r - f| (real features detached)."""
    total = 0.0
    for rs, fs in zip(real_feats, fake_feats):
        for r, f in zip(rs, fs):
            total = total + torch.mean(torch.abs(r.detach() - f))
    return 2.0 * total


def mel_l1_loss(mel_fake: torch.Tensor, mel_real: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of two log mels ``[B, T, 80]`` (the paper weights it by 45)."""
    return F.l1_loss(mel_fake, mel_real)


def mel_of_wave(wav: torch.Tensor) -> torch.Tensor:
    """Differentiable log10 mel on the front-end grid: ``[B, N]`` (or ``[B, 1, N]``) -> ``[B, T, 80]``.

    ``T = N // HOP + 1``. Same recipe as :func:`alignsts.audio.frontend.log_mel`: zero-padded
    centred STFT (``N_FFT // 2`` each side, not HiFi-GAN's reflect padding), periodic Hann window,
    plain magnitude ``|X|`` (no epsilon; torch's gradient of ``|0|`` is 0), the Slaney filterbank
    and ``log10(max(LOG_FLOOR, .))``. No deliberate difference: the values agree with ``log_mel``
    to float32 FFT rounding.
    """
    if wav.dim() == 3:
        wav = wav.squeeze(1)
    window = torch.hann_window(frontend.WIN, periodic=True, dtype=wav.dtype, device=wav.device)
    spec = torch.stft(wav, frontend.N_FFT, hop_length=frontend.HOP, win_length=frontend.WIN,
                      window=window, center=True, pad_mode="constant", return_complex=True)
    fb = torch.tensor(frontend.mel_filterbank(), dtype=wav.dtype, device=wav.device)  # [80, 257]
    mel = torch.matmul(fb, spec.abs())                                                 # [B, 80, T]
    return torch.log10(torch.clamp(mel, min=frontend.LOG_FLOOR)).transpose(1, 2)
