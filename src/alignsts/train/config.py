"""Training configurations (typed, loaded from YAML; see ``configs/alignsts*.yaml``, ``configs/hifigan*.yaml``).

The ``model`` / ``generator`` sections are the official flat hyperparameters: the run folder's
``config.yaml`` is written from them, so a run loads in the neural engine exactly like an official
release folder.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from ..config import load_yaml


@dataclass
class AcousticTrainConfig:
    model: dict = field(default_factory=dict)   # official AlignSTS hyperparameters (flat)
    steps: int = 160000                         # official max_updates
    lr: float = 2.0                             # base lr, times lr_factor(lr_schedule)
    lr_schedule: str = "rsqrt"                  # rsqrt (official), constant, exp:GAMMA
    warmup_steps: int = 2000
    betas: tuple = (0.9, 0.98)
    eps: float = 1e-9
    weight_decay: float = 0.0                   # AdamW
    clip_grad_norm: float = 1.0                 # 0: no clipping
    batch_frames: int = 20000                   # padded singing frames per batch (official max_tokens)
    batch_items: int = 16                       # official max_sentences
    max_frames: int = 1548                      # longer items are left out (and counted)
    lambda_l1: float = 0.5                      # official mel_loss l1:0.5|ssim:0.5
    lambda_ssim: float = 0.5
    lambda_rhythm_pred: float = 0.1             # rhythm-code cross-entropy
    lambda_guided: float = 40.0                 # guided attention (official lambda_guided_loss)
    zero_shot: bool = False                     # train from singing only: the singing is its own source
    zero_shot_warp: float = 0.25                # max local tempo deviation of the perturbed source
    zero_shot_segments: int = 6                 # pieces of the piecewise-linear time warp
    zero_shot_shift: int = 2                    # max mel-bin shift of the perturbed content (mel content)
    log_every: int = 100
    valid_every: int = 2000
    ckpt_every: int = 2000
    keep_last: int = 3
    seed: int = 1234
    amp: bool = True                            # float16 autocast + GradScaler on CUDA (ignored on CPU)
    device: str = "auto"
    threads: int = 0                            # torch CPU threads per process (0: torch's default)
    valid_plots: int = 2                        # items drawn, plotted and heard in TensorBoard
    vocoder: Optional[str] = None               # HiFi-GAN folder for validation audio (else Griffin-Lim)
    griffin_lim_iters: int = 32
    tensorboard: bool = True


@dataclass
class VocoderTrainConfig:
    generator: dict = field(default_factory=dict)  # official HiFi-GAN hyperparameters (flat)
    steps: int = 1000000
    lr: float = 2e-4                            # both generator and discriminators (official)
    betas: tuple = (0.8, 0.99)                  # official adam_b1, adam_b2
    lr_decay: float = 0.999                     # per 1000 steps (exp schedule)
    warmup_steps: int = 0
    weight_decay: float = 0.0
    clip_grad_norm: float = 0.0
    segment_samples: int = 8192                 # official max_samples
    batch_items: int = 16
    lambda_mel: float = 45.0
    lambda_fm: float = 2.0
    lambda_adv: float = 1.0
    disc_channels_scale: float = 1.0            # 1: the paper's discriminators
    disc_start_step: int = 0                    # generator trains on mel loss alone before this step
    log_every: int = 100
    valid_every: int = 5000
    ckpt_every: int = 5000
    keep_last: int = 3
    seed: int = 1234
    amp: bool = False
    device: str = "auto"
    threads: int = 0
    valid_items: int = 4
    tensorboard: bool = True


def load_acoustic_config(path: str | os.PathLike) -> AcousticTrainConfig:
    return load_yaml(AcousticTrainConfig, path)


def load_vocoder_config(path: str | os.PathLike) -> VocoderTrainConfig:
    return load_yaml(VocoderTrainConfig, path)


def dump_flat_yaml(hp: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(hp, sort_keys=True, allow_unicode=True)
