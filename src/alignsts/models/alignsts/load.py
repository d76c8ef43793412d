"""Loading an official AlignSTS acoustic-model folder (``config.yaml`` + ``model_ckpt_steps_<N>.ckpt``)."""
from __future__ import annotations

import os
from typing import Any, Mapping, Tuple

from ..ckpt import CheckpointError, load_pickle, newest_checkpoint, read_config
from .config import AlignSTSConfig
from .model import AlignSTSModel


def model_state_dict(ckpt: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``state_dict['model']`` entry of an official checkpoint dict."""
    sd = ckpt.get("state_dict") if isinstance(ckpt, Mapping) else None
    if not isinstance(sd, Mapping) or "model" not in sd:
        raise CheckpointError("checkpoint has no state_dict['model'] (not an AlignSTS acoustic checkpoint)")
    return sd["model"]


def build_model(hparams: Mapping[str, Any]) -> AlignSTSModel:
    return AlignSTSModel(AlignSTSConfig.from_official(hparams))


def load_acoustic_model(folder: str | os.PathLike, trust: bool = False) -> AlignSTSModel:
    """Build the model from the folder's config and load the newest checkpoint strictly; eval mode.

    ``trust``: allow full unpickling (the official checkpoints need it; only for trusted files).
    """
    model, _ = load_acoustic_model_with_config(folder, trust)
    return model


def load_acoustic_model_with_config(folder: str | os.PathLike, trust: bool = False) -> Tuple[AlignSTSModel, dict]:
    hp = read_config(folder)
    model = build_model(hp)
    sd = model_state_dict(load_pickle(newest_checkpoint(folder), trust=trust))
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{folder}: checkpoint does not match the config: {str(e).splitlines()[0]}") from None
    model.eval()
    return model, hp
