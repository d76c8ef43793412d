"""Reading the official AlignSTS / HiFi-GAN checkpoint folders.

A folder holds ``config.yaml`` (or ``config.json``) and one or more
``model_ckpt_steps_<N>.ckpt`` (the newest N is used), or, for the vocoder's other
format, a ``generator_v1`` file. Files are torch pickles in the legacy format.
"""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from ..errors import AlignSTSError

log = logging.getLogger("alignsts")

_CKPT = re.compile(r"model_ckpt_steps_(\d+)\.ckpt$")


class CheckpointError(AlignSTSError):
    pass


def _folder(folder: str | os.PathLike) -> Path:
    d = Path(folder)
    if not d.is_dir():
        raise CheckpointError(f"{d}: checkpoint folder not found (download the official release and "
                              f"give its folder, e.g. checkpoints/alignsts)")
    return d


def newest_checkpoint(folder: str | os.PathLike) -> Path:
    """The ``model_ckpt_steps_<N>.ckpt`` with the largest N in ``folder``."""
    d = _folder(folder)
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _CKPT.search(p.name))]
    if not found:
        raise CheckpointError(f"{d}: no model_ckpt_steps_*.ckpt file in this folder")
    return max(found)[1]


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    """The folder's config.yaml or config.json as a flat dict."""
    import yaml

    d = _folder(folder)
    for name in ("config.yaml", "config.json"):
        p = d / name
        if p.is_file():
            with open(p, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) if name.endswith(".yaml") else json.load(fh)
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
                                  f"source, with trust=True (CLI: --trust-checkpoint)") from None
        log.warning("%s: loading with full unpickling (trusted): %s", p, str(e).splitlines()[0])
        return torch.load(str(p), map_location="cpu", weights_only=False)
    except Exception as e:
        raise CheckpointError(f"{p}: not a readable checkpoint ({str(e).splitlines()[0]})") from None
