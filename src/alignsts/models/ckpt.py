"""Loading checkpoints: the one place that knows checkpoint folders, files and their names.

Two folder formats load, for the acoustic model and the vocoder alike:

* the official release: ``config.yaml`` (or ``config.json``) + ``model_ckpt_steps_<N>.ckpt``
  (the newest N is used; torch pickles in the legacy format), or for the vocoder's other layout
  ``config.json`` + ``generator_v1``. A training run folder (:mod:`alignsts.train.runtime`)
  is written in this format, with the file names of :func:`checkpoint_name`;
* this project's own: ``config.yaml`` + ``model.safetensors`` (tensors only, nothing to
  unpickle), written by :func:`alignsts.models.official.import_official`.

:func:`load_acoustic` and :func:`load_vocoder` accept both. torch and the model classes are
imported by the functions that need them.
"""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Mapping

from ..errors import CheckpointError, UnsupportedConfig, option

log = logging.getLogger("alignsts")

__all__ = ["CheckpointError", "CKPT_PATTERN", "checkpoint_name", "checkpoint_steps", "newest_checkpoint",
           "read_config", "load_pickle", "is_own_format", "model_state_dict", "build_model",
           "load_official_acoustic", "load_official_vocoder", "load_acoustic", "load_vocoder"]

CKPT_PATTERN = re.compile(r"model_ckpt_steps_(\d+)\.ckpt$")   # the official name; training writes it too
WEIGHTS = "model.safetensors"       # this project's format
FORMAT_KEY = "alignsts_format"      # written into its config.yaml: 1
KIND_KEY = "alignsts_kind"          # acoustic | vocoder


# ----------------------------------------------------------------------------- folders and files
def checkpoint_name(step: int) -> str:
    """The file name of the checkpoint at ``step``: ``model_ckpt_steps_<step>.ckpt``."""
    return f"model_ckpt_steps_{int(step)}.ckpt"


def checkpoint_steps(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """Every ``model_ckpt_steps_<N>.ckpt`` in ``folder`` as (N, path), by N; [] if the folder is missing."""
    d = Path(folder)
    if not d.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in d.iterdir() if (m := CKPT_PATTERN.search(p.name)))


def _folder(folder: str | os.PathLike) -> Path:
    d = Path(folder)
    if not d.is_dir():
        raise CheckpointError(f"{d}: checkpoint folder not found (download the official release and "
                              f"give its folder, e.g. checkpoints/alignsts)")
    return d


def newest_checkpoint(folder: str | os.PathLike) -> Path:
    """The ``model_ckpt_steps_<N>.ckpt`` with the largest N in ``folder``."""
    d = _folder(folder)
    found = checkpoint_steps(d)
    if not found:
        raise CheckpointError(f"{d}: no model_ckpt_steps_*.ckpt file in this folder")
    return found[-1][1]


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    """The folder's config.yaml or config.json as a flat dict."""
    import yaml

    d = _folder(folder)
    for name in ("config.yaml", "config.json"):
        p = d / name
        if p.is_file():
            from ..textfiles import load_yaml, read_text

            text = read_text(p, "model config", CheckpointError, max_bytes=1_000_000)   # bounded, no devices
            try:
                data = (load_yaml(text, str(p), CheckpointError, invalid="not valid YAML") if name.endswith(".yaml")
                        else json.loads(text))
            except (ValueError, yaml.YAMLError) as e:
                kind = "YAML" if name.endswith(".yaml") else "JSON"
                reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise CheckpointError(f"{p}: not valid {kind} ({reason})") from None
            if not isinstance(data, dict):
                raise CheckpointError(f"{p}: expected a mapping of hyperparameters")
            return data
    raise CheckpointError(f"{d}: no config.yaml or config.json")


def load_pickle(path: str | os.PathLike, trust: bool = False) -> dict[str, Any]:
    """torch.load on the CPU, tensors only; arbitrary objects only when ``trust`` is set
    (unpickling can run code: do that only for files from a source you trust)."""
    import pickle

    import torch

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    try:
        return torch.load(str(p), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if not trust:
            raise CheckpointError(f"{p}: holds Python objects besides tensors; load it only if you trust its "
                                  f"source, with {option('trust_checkpoint')}") from None
        log.warning("%s: loading with full unpickling (trusted): %s", p, str(e).splitlines()[0])
        return torch.load(str(p), map_location="cpu", weights_only=False)
    except Exception as e:
        raise CheckpointError(f"{p}: not a readable checkpoint ({str(e).splitlines()[0]})") from None


def is_own_format(folder: str | os.PathLike) -> bool:
    return (Path(folder) / WEIGHTS).is_file()


# ----------------------------------------------------------------------------- the acoustic model
def model_state_dict(ckpt: Mapping[str, Any], name: str = "model") -> Mapping[str, Any]:
    """The acoustic model's weights in an official checkpoint dict, in either layout the official
    loader accepts: nested ``state_dict['model'][key]``, or flat ``state_dict['model.<key>']``
    (a state_dict with any dotted key is read as flat, as the official ``load_ckpt`` does)."""
    sd = ckpt.get("state_dict") if isinstance(ckpt, Mapping) else None
    if isinstance(sd, Mapping):
        if any(isinstance(k, str) and "." in k for k in sd):
            prefix = f"{name}."
            flat = {k[len(prefix):]: v for k, v in sd.items() if isinstance(k, str) and k.startswith(prefix)}
            if flat:
                return flat
        elif isinstance(sd.get(name), Mapping):
            return sd[name]
    raise CheckpointError(f"checkpoint has no state_dict['{name}'] nor '{name}.*' keys "
                          f"(not an AlignSTS acoustic checkpoint)")


VOCODER_KEYS = ("upsample_rates", "resblock_kernel_sizes", "resblock")   # HiFi-GAN hyperparameters


def build_model(hparams: Mapping[str, Any]):
    """An untrained AlignSTSModel for an official flat config."""
    from .alignsts.config import AlignSTSConfig
    from .alignsts.model import AlignSTSModel

    return AlignSTSModel(AlignSTSConfig.from_official(hparams))


def _build_for(folder: str | os.PathLike, hp: Mapping[str, Any]):
    """build_model, naming the folder when its config asks for an unsupported variant."""
    try:
        return build_model(hp)
    except UnsupportedConfig as e:
        raise UnsupportedConfig(f"{folder}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{folder}: unusable model config ({type(e).__name__}: {e})") from None


def load_official_acoustic(folder: str | os.PathLike, trust: bool = False) -> tuple[Any, dict[str, Any]]:
    """(AlignSTSModel in eval mode, its flat config) from an official folder; the newest checkpoint
    loads strictly. ``trust``: allow full unpickling (the official checkpoints need it; only for
    trusted files)."""
    hp = read_config(folder)
    if any(k in hp for k in VOCODER_KEYS) or (Path(folder) / "generator_v1").is_file():
        raise CheckpointError(f"{folder}: this is a HiFi-GAN vocoder folder; give it as {option('vocoder')} and the AlignSTS "
                              f"acoustic-model folder as {option('checkpoint')}")
    model = _build_for(folder, hp)
    sd = model_state_dict(load_pickle(newest_checkpoint(folder), trust=trust))
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{folder}: checkpoint does not match the config: {str(e).splitlines()[0]}") from None
    model.eval()
    return model, hp


# ----------------------------------------------------------------------------- the vocoder
def _generator_state(data: Any, path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    import torch

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


def load_official_vocoder(folder: str | os.PathLike, trust: bool = False) -> tuple[Any, dict[str, Any]]:
    """Build the generator from an official vocoder folder and load its weights (eval mode, CPU).
    Returns (HifiGan, the folder's flat config).

    ``trust`` allows full unpickling for checkpoints that hold Python objects besides tensors
    (only for files from a source you trust). Raises CheckpointError with a clear message when the
    folder, its config or its checkpoint is missing, or the weights do not fit the config.
    """
    from .hifigan import HifiGan, HifiGanConfig

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
    return model.eval(), hp


# ----------------------------------------------------------------------------- either format
def _load_own(folder: Path, kind: str):
    from safetensors.torch import load_file

    hp = read_config(folder)
    if hp.get(KIND_KEY) != kind:
        raise CheckpointError(f"{folder}: holds a {hp.get(KIND_KEY, 'unknown')} model, not the {kind} model")
    if kind == "vocoder":
        from .hifigan import HifiGan, HifiGanConfig

        model = HifiGan(HifiGanConfig.from_official(hp))
    else:
        model = _build_for(folder, hp)
    try:
        model.load_state_dict(load_file(str(folder / WEIGHTS)), strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{folder}: weights do not match its config: {str(e).splitlines()[0]}") from None
    return model.eval()


def load_acoustic(folder: str | os.PathLike, trust: bool = False):
    """AlignSTSModel (eval mode, CPU) from an official folder or this project's format."""
    if is_own_format(folder):
        return _load_own(Path(folder), "acoustic")
    return load_official_acoustic(folder, trust=trust)[0]


def load_vocoder(folder: str | os.PathLike, trust: bool = False):
    """HifiGan (eval mode, CPU) from an official folder (either layout) or this project's format.

    ``trust`` allows full unpickling for checkpoints that hold Python objects besides tensors
    (only for files from a source you trust). Raises CheckpointError with a clear message when the
    folder, its config or its checkpoint is missing, or the weights do not fit the config.
    """
    if is_own_format(folder):
        return _load_own(Path(folder), "vocoder")
    return load_official_vocoder(folder, trust=trust)[0]
