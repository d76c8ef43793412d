"""This project's own checkpoint format: ``model.safetensors`` + ``config.yaml``.

``import_official(src, dst)`` rewrites an official AlignSTS or HiFi-GAN folder into it
(tensors only, nothing to unpickle; vocoder weight norm folded). The loaders here accept
either format, so ``--checkpoint`` / ``--vocoder`` can name both.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .ckpt import CheckpointError, read_config

WEIGHTS = "model.safetensors"
FORMAT_KEY = "alignsts_format"      # written into config.yaml: 1
KIND_KEY = "alignsts_kind"          # acoustic | vocoder


def is_own_format(folder: str | os.PathLike) -> bool:
    return (Path(folder) / WEIGHTS).is_file()


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
    if kind == "vocoder":
        from .vocoder import load_vocoder

        model = load_vocoder(s, trust=trust)
        hp = read_config(s)
    else:
        from .alignsts.load import load_acoustic_model_with_config

        model, hp = load_acoustic_model_with_config(s, trust=trust)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    hp = dict(hp)
    hp[FORMAT_KEY], hp[KIND_KEY] = 1, kind
    parent = d.parent if str(d.parent) else Path(".")
    if not parent.is_dir():
        raise CheckpointError(f"{d}: parent folder {parent} does not exist")
    tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.", dir=parent))
    try:
        save_file(state, str(tmp / WEIGHTS))
        (tmp / "config.yaml").write_text(yaml.safe_dump(hp, sort_keys=True), encoding="utf-8")
        os.replace(tmp, d)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return d


def _load_own(folder: Path, kind: str):
    from safetensors.torch import load_file

    hp = read_config(folder)
    if hp.get(KIND_KEY) != kind:
        raise CheckpointError(f"{folder}: holds a {hp.get(KIND_KEY, 'unknown')} model, not the {kind} model")
    if kind == "vocoder":
        from .hifigan import HifiGan, HifiGanConfig

        model = HifiGan(HifiGanConfig.from_official(hp))
    else:
        from .alignsts.load import build_model

        model = build_model(hp)
    try:
        model.load_state_dict(load_file(str(folder / WEIGHTS)), strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{folder}: weights do not match its config: {str(e).splitlines()[0]}") from None
    return model.eval()


def load_acoustic(folder: str | os.PathLike, trust: bool = False):
    """AlignSTS from an official folder or this project's format."""
    if is_own_format(folder):
        return _load_own(Path(folder), "acoustic")
    from .alignsts.load import load_acoustic_model

    return load_acoustic_model(folder, trust=trust)


def load_vocoder_any(folder: str | os.PathLike, trust: bool = False):
    """HiFi-GAN from an official folder (either format) or this project's format."""
    if is_own_format(folder):
        return _load_own(Path(folder), "vocoder")
    from .vocoder import load_vocoder

    return load_vocoder(folder, trust=trust)
