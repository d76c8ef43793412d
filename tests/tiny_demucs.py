"""A tiny randomly initialised HTDemucs (the real architecture, a few thousand weights) saved in
demucs's own formats, for the learned separator's tests (needs torch and demucs)."""
from __future__ import annotations

import hashlib
import io
import json

import torch
from demucs.htdemucs import HTDemucs

SOURCES = ["drums", "bass", "other", "vocals"]


def tiny_model(samplerate: int = 24000, seed: int = 0) -> HTDemucs:
    torch.manual_seed(seed)
    return HTDemucs(SOURCES, channels=4, depth=2, nfft=512, t_layers=1, t_heads=1, segment=1,
                    samplerate=samplerate, dconv_comp=2).eval()


def package(model) -> dict:
    """demucs.states.serialize_model's package, without the training arguments (which need omegaconf)."""
    args, kwargs = model._init_args_kwargs
    return {"klass": model.__class__, "args": args, "kwargs": kwargs,
            "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}


def save_th(model, folder, sig: str = "a1b2c3d4"):
    """<sig>-<first 8 hex of sha256>.th as demucs.states.save_with_checksum names it."""
    buf = io.BytesIO()
    torch.save(package(model), buf)
    path = folder / f"{sig}-{hashlib.sha256(buf.getvalue()).hexdigest()[:8]}.th"
    path.write_bytes(buf.getvalue())
    return path


def save_safetensors(model, path):
    """The Hugging Face format demucs 4.1 loads (demucs.hf.load_safetensors_model): tensors, and the
    class with its init arguments as json metadata."""
    from safetensors.torch import save_file

    args, kwargs = model._init_args_kwargs
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={"klass": "demucs.htdemucs.HTDemucs", "args": json.dumps(list(args)),
                        "kwargs": json.dumps(kwargs)})
