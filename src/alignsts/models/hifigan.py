"""HiFi-GAN generator with the NSF (neural source-filter) sine-excitation source.

Compatible with the official AlignSTS / NATSpeech vocoder checkpoints: parameter names map 1:1 to
the official generator's state dict, so an official checkpoint loads with
:meth:`HifiGan.load_official_state_dict`.

Weight normalisation: the official checkpoints store the weight-normalised convolutions in the old
style, ``<name>.weight_g`` ``[C0, 1, 1]`` and ``<name>.weight_v`` (the full weight shape). The
official loader removes weight normalisation right after loading, so inference runs on the folded
weight ``g * v / ||v||`` (norm over every dim except dim 0). This module keeps plain ``weight``
parameters and folds when loading; :meth:`HifiGan.official_key_shapes` lists the official keys.

All sizes live in :class:`HifiGanConfig` (no global hyperparameters). Shapes use
B = batch, T = mel frames, L = T * hop samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.1

__all__ = ["HifiGanConfig", "HifiGan", "SineGen", "SourceModuleHnNSF", "fold_weight_norm"]


# ----------------------------------------------------------------------------------------- config
@dataclass
class HifiGanConfig:
    """Generator sizes. Defaults are the official ``configs/tts/hifigan.yaml`` values (with NSF off).

    ``resblock`` is "1" (two convs per dilation: dilated then undilated) or "2" (one dilated conv
    per dilation). ``harmonic_num`` overtones above F0 feed the NSF source (9 sines in all), each
    of amplitude ``sine_amp``; ``noise_std`` is the additive noise std in voiced samples
    (unvoiced: ``sine_amp / 3``); a sample is voiced when F0 > ``voiced_threshold``.
    """

    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 128
    num_mels: int = 80
    use_nsf: bool = False
    sample_rate: int = 22050
    harmonic_num: int = 8
    sine_amp: float = 0.1
    noise_std: float = 0.003
    voiced_threshold: float = 0.0
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.resblock = str(self.resblock)
        if self.resblock not in ("1", "2"):
            raise ValueError(f"resblock must be '1' or '2', got {self.resblock!r}")
        self.resblock_kernel_sizes = tuple(int(k) for k in self.resblock_kernel_sizes)
        self.resblock_dilation_sizes = tuple(tuple(int(d) for d in ds) for ds in self.resblock_dilation_sizes)
        self.upsample_rates = tuple(int(u) for u in self.upsample_rates)
        self.upsample_kernel_sizes = tuple(int(k) for k in self.upsample_kernel_sizes)
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise ValueError("resblock_kernel_sizes and resblock_dilation_sizes differ in length")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ValueError("upsample_rates and upsample_kernel_sizes differ in length")
        need = 3 if self.resblock == "1" else 2
        for ds in self.resblock_dilation_sizes:
            if len(ds) < need:
                raise ValueError(f"resblock {self.resblock} needs {need} dilations per kernel, got {ds}")
        if self.upsample_initial_channel % (2 ** len(self.upsample_rates)):
            raise ValueError("upsample_initial_channel must be divisible by 2 ** len(upsample_rates)")

    @property
    def hop(self) -> int:
        """Samples per mel frame = product of the upsample rates."""
        return int(math.prod(self.upsample_rates))

    @classmethod
    def from_official(cls, h: Mapping[str, Any]) -> "HifiGanConfig":
        """From an official vocoder config (config.yaml / config.json as a flat dict).

        Follows the official generator exactly: resblock type "1" only when ``h['resblock']`` is the
        string ``'1'`` (anything else builds type "2"), NSF on when ``use_pitch_embed`` is true, 80 mel
        bins (hard-coded in the official generator), 8 harmonics, sine amplitude 0.1, noise std 0.003.
        """
        missing = [k for k in ("resblock", "resblock_kernel_sizes", "resblock_dilation_sizes",
                               "upsample_rates", "upsample_kernel_sizes", "upsample_initial_channel")
                   if k not in h]
        use_nsf = bool(h.get("use_pitch_embed", False))
        if use_nsf and "audio_sample_rate" not in h:
            missing.append("audio_sample_rate")
        if missing:
            raise KeyError(f"vocoder config lacks {', '.join(missing)}")
        return cls(
            resblock="1" if h["resblock"] == "1" else "2",
            resblock_kernel_sizes=h["resblock_kernel_sizes"],
            resblock_dilation_sizes=h["resblock_dilation_sizes"],
            upsample_rates=h["upsample_rates"],
            upsample_kernel_sizes=h["upsample_kernel_sizes"],
            upsample_initial_channel=int(h["upsample_initial_channel"]),
            num_mels=80,
            use_nsf=use_nsf,
            sample_rate=int(h.get("audio_sample_rate", 22050)),
            extra={k: h[k] for k in ("hop_size", "audio_num_mel_bins", "fft_size", "win_size", "fmin", "fmax")
                   if k in h},
        )


# ------------------------------------------------------------------------------- weight norm
def fold_weight_norm(g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Plain weight from old-style weight-norm parameters: ``v * (g / ||v||)``, the norm taken over
    every dim except dim 0. g ``[C0, 1, ..., 1]``, v ``[C0, ...]`` -> weight like v."""
    norm = torch.linalg.vector_norm(v.reshape(v.shape[0], -1), dim=1)
    norm = norm.reshape((v.shape[0],) + (1,) * (v.dim() - 1))
    return v * (g / norm)


def _padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


# ---------------------------------------------------------------------------------- resblocks
class ResBlock1(nn.Module):
    """Type-1 residual block: per dilation d, x += conv_k(lrelu(conv_{k,d}(lrelu(x)))).
    x ``[B, C, L]`` -> ``[B, C, L]``. Weight-normalised: ``convs1.i``, ``convs2.i``."""

    def __init__(self, channels: int, kernel_size: int, dilation: tuple[int, ...]):
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, 1, dilation=d, padding=_padding(kernel_size, d))
            for d in dilation[:3])
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, 1, dilation=1, padding=_padding(kernel_size, 1))
            for _ in dilation[:3])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            y = c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
            x = x + y
        return x


class ResBlock2(nn.Module):
    """Type-2 residual block: per dilation d, x += conv_{k,d}(lrelu(x)).
    x ``[B, C, L]`` -> ``[B, C, L]``. Weight-normalised: ``convs.i``."""

    def __init__(self, channels: int, kernel_size: int, dilation: tuple[int, ...]):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, 1, dilation=d, padding=_padding(kernel_size, d))
            for d in dilation[:2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c in self.convs:
            x = x + c(F.leaky_relu(x, LRELU_SLOPE))
        return x


# ---------------------------------------------------------------------------------- NSF source
class SineGen(nn.Module):
    """Harmonic sine generator of hn-NSF (no parameters).

    forward(f0 ``[B, L, 1]`` Hz at sample rate) -> (sines ``[B, L, H+1]``, uv ``[B, L, 1]``,
    noise ``[B, L, H+1]``). Harmonic k (k = 1..H+1) has frequency k * F0. Phase of each harmonic =
    2 pi * cumulative sum of (f_k / sr mod 1) from the first sample, with an initial phase per
    overtone (fundamental: 0) uniform in [0, 1) cycles when ``random_phase`` is set, else 0.
    Sines are scaled by ``sine_amp``, zeroed where unvoiced, plus Gaussian noise of std
    ``noise_std`` (voiced) or ``sine_amp / 3`` (unvoiced) times ``noise_scale``.
    """

    def __init__(self, sample_rate: int, harmonic_num: int = 8, sine_amp: float = 0.1,
                 noise_std: float = 0.003, voiced_threshold: float = 0.0):
        super().__init__()
        self.sample_rate = sample_rate
        self.harmonic_num = harmonic_num
        self.dim = harmonic_num + 1
        self.sine_amp = sine_amp
        self.noise_std = noise_std
        self.voiced_threshold = voiced_threshold

    def forward(self, f0: torch.Tensor, noise_scale: float = 1.0, random_phase: bool = True,
                generator: torch.Generator | None = None):
        with torch.no_grad():
            b, n = f0.shape[0], f0.shape[1]
            base = f0[:, :, :1].float()
            mult = torch.arange(1, self.dim + 1, device=f0.device, dtype=base.dtype)
            # fundamental as given, overtones = f0 * k (same float32 arithmetic as the official code)
            f0_h = torch.cat([base, base * mult[1:]], dim=2) if self.dim > 1 else base
            rad = torch.remainder(f0_h / self.sample_rate, 1.0)  # cycles per sample, integer part dropped
            if random_phase and self.dim > 1:
                ini = torch.rand(b, self.dim, device=f0.device, dtype=rad.dtype, generator=generator)
                ini[:, 0] = 0
                rad = rad.clone()
                rad[:, 0, :] = rad[:, 0, :] + ini
            # cumulative phase with a -1 cycle wherever the wrapped running sum drops (keeps the
            # cumsum small; identical to the official overflow guard)
            wrapped = torch.remainder(torch.cumsum(rad, dim=1), 1.0)
            shift = torch.zeros_like(rad)
            shift[:, 1:, :] = ((wrapped[:, 1:, :] - wrapped[:, :-1, :]) < 0).to(rad.dtype) * -1.0
            sines = torch.sin(torch.cumsum(rad + shift, dim=1) * 2 * math.pi) * self.sine_amp
            uv = (base > self.voiced_threshold).to(rad.dtype)
            noise_amp = uv * self.noise_std + (1 - uv) * self.sine_amp / 3
            if noise_scale:
                noise = noise_amp * noise_scale * torch.randn(sines.shape, device=f0.device, dtype=sines.dtype,
                                                              generator=generator)
            else:
                noise = torch.zeros_like(sines)
            sines = sines * uv + noise
        return sines, uv, noise


class SourceModuleHnNSF(nn.Module):
    """hn-NSF source: harmonic sines merged by ``l_linear`` (H+1 -> 1) and tanh.

    forward(f0 ``[B, L, 1]`` Hz) -> excitation ``[B, L, 1]``. Key names: ``l_linear.weight``
    ``[1, H+1]``, ``l_linear.bias`` ``[1]``. (The official module also returns a noise branch and
    uv, unused by the HiFi-GAN generator.)
    """

    def __init__(self, sample_rate: int, harmonic_num: int = 8, sine_amp: float = 0.1,
                 noise_std: float = 0.003, voiced_threshold: float = 0.0):
        super().__init__()
        self.l_sin_gen = SineGen(sample_rate, harmonic_num, sine_amp, noise_std, voiced_threshold)
        self.l_linear = nn.Linear(harmonic_num + 1, 1)

    def forward(self, f0: torch.Tensor, noise_scale: float = 1.0, random_phase: bool = True,
                generator: torch.Generator | None = None) -> torch.Tensor:
        sines, _uv, _noise = self.l_sin_gen(f0, noise_scale, random_phase, generator)
        return torch.tanh(self.l_linear(sines))


# ---------------------------------------------------------------------------------- generator
class HifiGan(nn.Module):
    """HiFi-GAN generator (optionally NSF).

    forward(mel ``[B, 80, T]`` log10 magnitude mel, f0 ``[B, T]`` Hz (0 = unvoiced) or None)
    -> wav ``[B, 1, T * hop]`` in [-1, 1].

    Layout (official key names): ``conv_pre`` (80 -> C, k 7), per stage i: ``ups.i``
    (ConvTranspose1d C/2^i -> C/2^(i+1), kernel k_i, stride u_i), with NSF ``noise_convs.i``
    (Conv1d 1 -> C/2^(i+1) from the excitation at the sample rate down to the stage rate), then the
    mean of ``resblocks.{i*K + j}``; finally leaky ReLU (slope 0.01), ``conv_post`` (-> 1, k 7), tanh.
    With NSF: ``m_source.l_linear``. ``conv_pre``, ``ups``, resblock convs and ``conv_post`` are
    weight-normalised in the official checkpoints (folded here on loading).

    Randomness of the NSF source (initial phases of the overtones, additive noise) is controlled by
    ``noise_scale`` (0 = no noise) and ``random_phase`` (False = zero initial phase); both default to
    the official behaviour and can also be set as attributes (``model.noise_scale``,
    ``model.random_phase``) or per call.
    """

    def __init__(self, config: HifiGanConfig | None = None, c_out: int = 1):
        super().__init__()
        cfg = config or HifiGanConfig()
        self.config = cfg
        self.num_kernels = len(cfg.resblock_kernel_sizes)
        self.num_upsamples = len(cfg.upsample_rates)
        self.noise_scale = 1.0
        self.random_phase = True
        c0 = cfg.upsample_initial_channel
        if cfg.use_nsf:
            self.m_source = SourceModuleHnNSF(cfg.sample_rate, cfg.harmonic_num, cfg.sine_amp,
                                              cfg.noise_std, cfg.voiced_threshold)
            self.noise_convs = nn.ModuleList()
        self.conv_pre = nn.Conv1d(cfg.num_mels, c0, 7, 1, padding=3)
        self.ups = nn.ModuleList()
        for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes)):
            ch = c0 // (2 ** (i + 1))
            self.ups.append(nn.ConvTranspose1d(ch * 2, ch, k, u, padding=(k - u) // 2))
            if cfg.use_nsf:
                if i + 1 < self.num_upsamples:
                    s = int(math.prod(cfg.upsample_rates[i + 1:]))
                    self.noise_convs.append(nn.Conv1d(1, ch, kernel_size=s * 2, stride=s, padding=s // 2))
                else:
                    self.noise_convs.append(nn.Conv1d(1, ch, kernel_size=1))
        block = ResBlock1 if cfg.resblock == "1" else ResBlock2
        self.resblocks = nn.ModuleList()
        for i in range(self.num_upsamples):
            ch = c0 // (2 ** (i + 1))
            for k, d in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes):
                self.resblocks.append(block(ch, k, d))
        self.conv_post = nn.Conv1d(c0 // (2 ** self.num_upsamples), c_out, 7, 1, padding=3)

    # ------------------------------------------------------------------ official state dicts
    def weight_norm_modules(self) -> list[str]:
        """Names of the modules whose weight is stored as weight_g / weight_v officially."""
        names = ["conv_pre"] + [f"ups.{i}" for i in range(len(self.ups))]
        for name, mod in self.resblocks.named_modules(prefix="resblocks"):
            if isinstance(mod, nn.Conv1d):
                names.append(name)
        names.append("conv_post")
        return names

    def official_key_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every key of the official (weight-normalised) generator state dict with its shape."""
        return {k: tuple(t.shape) for k, t in self._official_items(lambda t: t)}

    def _official_items(self, conv):
        """(official key, tensor) in the official order: weight_g / weight_v come after the
        module's bias, as torch's old weight_norm re-registers them."""
        wn = set(self.weight_norm_modules())
        items: list[tuple[str, torch.Tensor]] = []
        pending: dict[str, torch.Tensor] = {}
        for key, t in self.state_dict().items():
            mod, _, leaf = key.rpartition(".")
            if leaf == "weight" and mod in wn:
                pending[mod] = t
                continue
            items.append((key, conv(t)))
            if mod in pending:
                w = pending.pop(mod)
                norm = torch.linalg.vector_norm(w.reshape(w.shape[0], -1), dim=1)
                items.append((f"{mod}.weight_g", conv(norm.reshape((w.shape[0],) + (1,) * (w.dim() - 1)))))
                items.append((f"{mod}.weight_v", conv(w)))
        for mod, w in pending.items():  # weight-normalised module without bias
            norm = torch.linalg.vector_norm(w.reshape(w.shape[0], -1), dim=1)
            items.append((f"{mod}.weight_g", conv(norm.reshape((w.shape[0],) + (1,) * (w.dim() - 1)))))
            items.append((f"{mod}.weight_v", conv(w)))
        return items

    def check_official_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """Raise ValueError naming missing / unexpected keys and shape mismatches (brief lists)."""
        want = self.official_key_shapes()
        missing = [k for k in want if k not in state]
        unexpected = [k for k in state if k not in want]
        bad = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {want[k]}"
               for k in want if k in state and tuple(state[k].shape) != want[k]]

        def brief(items: list[str], n: int = 6) -> str:
            more = f" ... (+{len(items) - n} more)" if len(items) > n else ""
            return ", ".join(items[:n]) + more

        problems = []
        if missing:
            problems.append(f"{len(missing)} missing key(s): {brief(missing)}")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected key(s): {brief(unexpected)}")
        if bad:
            problems.append(f"{len(bad)} shape mismatch(es): {brief(bad, 4)}")
        if problems:
            raise ValueError("generator state dict does not fit the config: " + "; ".join(problems))

    def load_official_state_dict(self, state: Mapping[str, torch.Tensor]) -> "HifiGan":
        """Load an official generator state dict (weight_g / weight_v folded into plain weights).
        Strict: raises ValueError on any missing/unexpected key or shape mismatch."""
        self.check_official_state_dict(state)
        plain: dict[str, torch.Tensor] = {}
        for key, t in state.items():
            if key.endswith(".weight_g"):
                mod = key[: -len(".weight_g")]
                plain[f"{mod}.weight"] = fold_weight_norm(t.float(), state[f"{mod}.weight_v"].float())
            elif key.endswith(".weight_v"):
                continue
            else:
                plain[key] = t
        self.load_state_dict(plain, strict=True)
        return self

    def official_state_dict(self) -> dict[str, torch.Tensor]:
        """This model's weights in the official layout (g = ||w||, v = w, so folding gives w back)."""
        return dict(self._official_items(lambda t: t.detach().clone()))

    # ---------------------------------------------------------------------------- forward
    def source(self, f0: torch.Tensor, noise_scale: float | None = None, random_phase: bool | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """NSF excitation: f0 ``[B, T]`` Hz at frame rate -> ``[B, 1, T * hop]``."""
        f0_up = F.interpolate(f0[:, None].float(), scale_factor=float(self.config.hop), mode="nearest")
        exc = self.m_source(f0_up.transpose(1, 2),
                            self.noise_scale if noise_scale is None else noise_scale,
                            self.random_phase if random_phase is None else random_phase, generator)
        return exc.transpose(1, 2)

    def forward(self, mel: torch.Tensor, f0: torch.Tensor | None = None, *, noise_scale: float | None = None,
                random_phase: bool | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """mel ``[B, 80, T]`` (log10), f0 ``[B, T]`` Hz or None -> wav ``[B, 1, T * hop]``.

        Without f0 the NSF branch is skipped (as the official generator does); f0 given to a model
        without NSF is ignored (as the official vocoder does when NSF is off)."""
        if mel.dim() != 3 or mel.shape[1] != self.config.num_mels:
            raise ValueError(f"mel must be [B, {self.config.num_mels}, T], got {tuple(mel.shape)}")
        har = None
        if f0 is not None and self.config.use_nsf:
            if f0.shape != (mel.shape[0], mel.shape[2]):
                raise ValueError(f"f0 must be [B, T] = {(mel.shape[0], mel.shape[2])}, got {tuple(f0.shape)}")
            har = self.source(f0, noise_scale, random_phase, generator)
        x = self.conv_pre(mel)
        for i in range(self.num_upsamples):
            x = self.ups[i](F.leaky_relu(x, LRELU_SLOPE))
            if har is not None:
                x = x + self.noise_convs[i](har)
            xs = self.resblocks[i * self.num_kernels](x)
            for j in range(1, self.num_kernels):
                xs = xs + self.resblocks[i * self.num_kernels + j](x)
            x = xs / self.num_kernels
        x = self.conv_post(F.leaky_relu(x))  # default slope 0.01 here, as in the official generator
        return torch.tanh(x)
