"""Importing an official release: ``import_official(src, dst)`` rewrites an official AlignSTS or
HiFi-GAN folder into this project's own format, ``model.safetensors`` + ``config.yaml`` (tensors
only, nothing to unpickle; vocoder weight norm folded). The loaders of :mod:`alignsts.models.ckpt`
accept either format, so ``--checkpoint`` / ``--vocoder`` can name both.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..atomic import atomic_path
from ..errors import CheckpointError
from .ckpt import FORMAT_KEY, KIND_KEY, WEIGHTS, load_official_acoustic, load_official_vocoder, read_config


def _kind_of_official(folder: Path) -> str:
    if (folder / "generator_v1").is_file() or (folder / "config.json").is_file():
        return "vocoder"
    hp = read_config(folder)
    return "vocoder" if "upsample_rates" in hp and "diffvae_hidden" not in hp else "acoustic"


def import_official(src: str | os.PathLike, dst: str | os.PathLike, trust: bool = False) -> Path:
    """Rewrite an official folder (acoustic model or vocoder) as ``dst``/{model.safetensors,
    config.yaml}; ``dst`` appears complete or not at all. Returns ``dst``."""
    import yaml
    from safetensors.torch import save_file

    s, d = Path(src), Path(dst)
    if not s.is_dir():
        raise CheckpointError(f"{s}: folder not found")
    if d.exists():
        raise CheckpointError(f"{d}: already exists; choose a new folder")
    kind = _kind_of_official(s)
    load = load_official_vocoder if kind == "vocoder" else load_official_acoustic
    model, hp = load(s, trust=trust)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    hp = dict(hp)
    hp[FORMAT_KEY], hp[KIND_KEY] = 1, kind
    parent = d.parent if str(d.parent) else Path(".")
    if not parent.is_dir():
        raise CheckpointError(f"{d}: parent folder {parent} does not exist")
    with atomic_path(d, folder=True) as tmp:
        save_file(state, str(tmp / WEIGHTS))
        (tmp / "config.yaml").write_text(yaml.safe_dump(hp, sort_keys=True), encoding="utf-8")
    return d
