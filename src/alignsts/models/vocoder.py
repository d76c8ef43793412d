"""Loading the official HiFi-GAN (NSF) vocoder folders and vocoding mel spectrograms.

Two official layouts are accepted (the official loader tries them in this order):

* YAML folder: ``config.yaml`` + ``model_ckpt_steps_<N>.ckpt`` (newest N), generator weights in
  ``ckpt['state_dict']['model_gen']``;
* JSON folder: ``config.json`` + ``generator_v1``, generator weights in ``ckpt['generator']``.

Weights are stored weight-normalised; :class:`~alignsts.models.hifigan.HifiGan` folds them.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .ckpt import CheckpointError, load_pickle, newest_checkpoint, read_config
from .hifigan import HifiGan, HifiGanConfig

log = logging.getLogger("alignsts")

__all__ = ["load_vocoder", "vocode", "CheckpointError"]


def _generator_state(data: Any, path: Path, keys: tuple[str, ...]) -> dict[str, torch.Tensor]:
    cur = data
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            where = "".join(f"[{x!r}]" for x in keys)
            have = sorted(cur)[:8] if isinstance(cur, dict) else type(cur).__name__
            raise CheckpointError(f"{path}: no generator weights at {where} (found {have}); "
                                  f"is this an official HiFi-GAN vocoder checkpoint?")
        cur = cur[k]
    if not isinstance(cur, dict) or not all(isinstance(v, torch.Tensor) for v in cur.values()):
        raise CheckpointError(f"{path}: generator weights are not a state dict of tensors")
    return cur


def load_vocoder(folder: str | os.PathLike, trust: bool = False) -> HifiGan:
    """Build the generator from an official vocoder folder and load its weights (eval mode, CPU).

    ``trust`` allows full unpickling for checkpoints that hold Python objects besides tensors
    (only for files from a source you trust). Raises CheckpointError with a clear message when the
    folder, its config or its checkpoint is missing, or the weights do not fit the config.
    """
    d = Path(folder)
    if not d.is_dir():
        raise CheckpointError(f"{d}: vocoder folder not found (give the folder of the official HiFi-GAN "
                              f"release, holding config.yaml + model_ckpt_steps_*.ckpt or config.json + "
                              f"generator_v1)")
    if (d / "config.yaml").is_file():
        ckpt = newest_checkpoint(d)
        keys: tuple[str, ...] = ("state_dict", "model_gen")
    elif (d / "config.json").is_file():
        ckpt = d / "generator_v1"
        if not ckpt.is_file():
            raise CheckpointError(f"{d}: has config.json but no generator_v1 file")
        keys = ("generator",)
    else:
        raise CheckpointError(f"{d}: no config.yaml or config.json: not an official vocoder folder")
    hp = read_config(d)
    try:
        cfg = HifiGanConfig.from_official(hp)
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{d}: unusable vocoder config: {e}") from None
    hop_cfg = hp.get("hop_size")
    if hop_cfg is not None and int(hop_cfg) != cfg.hop:
        log.warning("%s: hop_size %s differs from the product of upsample_rates (%d); the generator "
                    "outputs %d samples per frame", d, hop_cfg, cfg.hop, cfg.hop)
    data = load_pickle(ckpt, trust=trust)
    state = _generator_state(data, ckpt, keys)
    model = HifiGan(cfg)
    try:
        model.load_official_state_dict(state)
    except ValueError as e:
        raise CheckpointError(f"{ckpt}: {e}") from None
    log.info("loaded HiFi-GAN vocoder from %s (NSF %s, %d Hz, hop %d)", ckpt, "on" if cfg.use_nsf else "off",
             cfg.sample_rate, cfg.hop)
    return model.eval()


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
