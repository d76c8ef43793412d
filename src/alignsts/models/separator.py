"""A learned song separator: a Demucs model (``pip install demucs``) from files already on disk.

value ('demucs', 'demucs:NAME' or a PATH) ─ find_model (no torch: which files, all present?) ─ DemucsFiles
DemucsFiles ─ load_model (torch, demucs) ─ model or bag of models
song [N, C] ─ blocks of ``block_s`` (+ ``context_s`` each side) ─ model's rate ─ demucs.apply.apply_model
            ─ vocals stem, the sum of the other stems ─ back to ``sr`` ─ cross-faded ─ vocals, instrumental [N, C]

Nothing is ever downloaded: demucs's own loader fetches a missing model from the internet, so the
files are looked up here (Hugging Face's cache, where demucs 4.1 puts them; torch hub's
``$TORCH_HOME/hub/checkpoints``, where earlier versions did; or a folder in demucs's local-repo
format: ``<sig>.th`` / ``<sig>-<sha256 prefix>.th`` / ``<sig>.safetensors`` model files and
``<name>.yaml`` bags) and loaded with demucs's local functions; a missing file is one line
naming it and where it goes.
"""
from __future__ import annotations

import importlib.util
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.separate import block_weights
from ..errors import AlignSTSError, InvalidValueError, NeuralSetupError, option

DEFAULT_NAME = "htdemucs"        # demucs's own default model
HF_NAMESPACE = "adefossez"       # where demucs 4.1 keeps its pretrained bags on the Hugging Face hub
INSTALL = "pip install demucs (or pip install 'alignsts[separate]')"


@dataclass
class DemucsConfig:
    shifts: int = 1          # demucs's default: the song shifted by a random 0-0.5 s and back (seeded below)
    overlap: float = 0.25    # between the model's own segments
    block_s: float = 60.0    # the song is separated in blocks of this many seconds ...
    context_s: float = 5.0   # ... with this much context each side, cross-faded over it (memory bounded)
    threads: int = 0         # torch CPU threads while separating (0: torch's default)
    seed: int = 0            # the shifts' random offsets


@dataclass
class DemucsFiles:
    """What a separator value names: ``models`` the model files (one per model of the bag),
    ``weights``/``segment`` the bag's, ``label`` for messages."""
    label: str
    models: list[Path]
    weights: list | None = None
    segment: float | None = None


def demucs_dir() -> Path | None:
    """The installed demucs package's folder (found without importing it, so without torch), or None."""
    try:
        spec = importlib.util.find_spec("demucs")
    except (ImportError, ValueError, AttributeError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def require_demucs(value: str) -> Path:
    d = demucs_dir()
    if d is None:
        raise NeuralSetupError(f"{option('separator')} {value}: demucs is not installed: {INSTALL}; its model files must "
                               f"be on disk (nothing is downloaded here); or use {option('separator')} classic (no weights)")
    return d


def torch_hub_checkpoints() -> Path:
    """torch hub's cache of downloaded files: $TORCH_HOME/hub/checkpoints (default ~/.cache/torch)."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "torch")
    return Path(home) / "hub" / "checkpoints"


def find_model(value: str) -> DemucsFiles:
    """'demucs' (its default model), 'demucs:NAME' or a PATH (model file, bag .yaml or a folder
    of them) -> DemucsFiles, every file checked present; raises one-line errors. No torch."""
    pkg = require_demucs(value)
    if value == "demucs" or value.startswith("demucs:"):
        name = value.split(":", 1)[1] if ":" in value else DEFAULT_NAME
        return _named_model(value, name, pkg)
    return _model_at(value, Path(value).expanduser())


def _remote_index(pkg: Path) -> dict[str, str]:
    """signature -> download address of demucs's pretrained single models (its remote/files.txt)."""
    urls, root = {}, ""
    try:
        lines = (pkg / "remote" / "files.txt").read_text().splitlines()
    except OSError:
        return urls
    for line in (s.strip() for s in lines):
        if not line or line.startswith("#"):
            continue
        if line.startswith("root:"):
            root = line.split(":", 1)[1].strip()
        else:
            urls[line.split("-", 1)[0]] = "https://dl.fbaipublicfiles.com/demucs/" + root + line
    return urls


def _read_bag(path: Path, label: str) -> dict:
    """A demucs bag .yaml (``models: [signatures]``, optional ``weights``, ``segment``), read bounded."""
    from .. import textfiles

    where = f"{option('separator')} {label}: {path}"
    bag = textfiles.load_yaml(textfiles.read_text(path, "demucs bag", InvalidValueError, max_bytes=100_000),
                              where, InvalidValueError, max_nodes=100_000)
    if not isinstance(bag, dict) or not isinstance(bag.get("models"), list) or not bag["models"] \
            or not all(isinstance(s, str) and re.fullmatch(r"[A-Za-z0-9_]+", s) for s in bag["models"]):
        raise InvalidValueError(f"{where}: not a demucs bag (expected 'models: [signatures]')")
    weights, segment = bag.get("weights"), bag.get("segment")
    number = (int, float)
    if weights is not None and not (isinstance(weights, list) and all(
            isinstance(w, list) and all(isinstance(v, number) and not isinstance(v, bool) and np.isfinite(v)
                                        for v in w) for w in weights)):
        raise InvalidValueError(f"{where}: weights must be a list of lists of numbers (one per model)")
    if segment is not None and not (isinstance(segment, number) and not isinstance(segment, bool)
                                    and 0 < segment < 3600):
        raise InvalidValueError(f"{where}: segment must be a number of seconds")
    return bag


def _hf_repo(name: str) -> str:
    """demucs 4.1's Hugging Face repository for a named bag (htdemucs -> HTDemucs, mdx -> Demucs-mdx)."""
    if name == "htdemucs":
        return "HTDemucs"
    if name.startswith("htdemucs_"):
        return "HTDemucs-" + name[len("htdemucs_"):]
    return "Demucs-" + name


def _hf_cached(name: str, filename: str) -> Path | None:
    """A file of demucs's Hugging Face repository for ``name`` if it is in the local cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    namespace, short = name.split("/", 1) if "/" in name else (HF_NAMESPACE, name)
    cache = os.environ.get("HF_HUB_CACHE") or (os.path.join(os.environ["HF_HOME"], "hub")
                                               if os.environ.get("HF_HOME") else None)
    try:
        found = try_to_load_from_cache(f"{namespace}/{_hf_repo(short)}", filename, cache_dir=cache)
    except Exception:   # a malformed cache or name: treated as not cached
        return None
    return Path(found) if isinstance(found, str) and Path(found).is_file() else None


def _named_model(value: str, name: str, pkg: Path) -> DemucsFiles:
    """A pretrained model by name, from Hugging Face's cache or torch hub's, never downloaded."""
    if not name or any(c in name for c in "\\:") or name.startswith("."):
        raise InvalidValueError(f"{option('separator')} {value}: expected demucs:NAME with a model name such as htdemucs")
    short = name.split("/", 1)[-1]
    hf_bag = _hf_cached(name, f"{short}.yaml")
    if hf_bag is not None:
        bag = _read_bag(hf_bag, value)
        files = [_hf_cached(name, f"{s}.safetensors") for s in bag["models"]]
        if all(files):
            return DemucsFiles(value, files, bag.get("weights"), bag.get("segment"))
    urls = _remote_index(pkg)
    bag_file = pkg / "remote" / f"{short}.yaml"
    if bag_file.is_file() and "/" not in name:
        bag = _read_bag(bag_file, value)
    elif short in urls and "/" not in name:
        bag = {"models": [short]}
    else:
        known = sorted(p.stem for p in (pkg / "remote").glob("*.yaml"))
        raise InvalidValueError(f"{option('separator')} {value}: demucs has no model named {name} in its caches "
                                f"(known: {', '.join(known)}; or give a folder of model files)")
    hub = torch_hub_checkpoints()
    files = []
    for sig in bag["models"]:
        url = urls.get(sig)
        fname = url.rsplit("/", 1)[1] if url else f"{sig}.th"
        f = hub / fname
        if not f.is_file():
            where = f"download {url} into {hub}" if url else f"put it into {hub}"
            raise NeuralSetupError(f"{option('separator')} {value}: model file {fname} is not on disk: {where} (or run demucs "
                                   f"once while online, or give a folder of model files as {option('separator')} PATH); "
                                   f"nothing is downloaded here")
        files.append(f)
    return DemucsFiles(value, files, bag.get("weights"), bag.get("segment"))


MODEL_SUFFIXES = (".th", ".safetensors")


def _model_at(value: str, path: Path) -> DemucsFiles:
    """A model file, a bag .yaml (its models beside it) or a folder holding exactly one of either."""
    if not path.exists():
        raise InvalidValueError(f"{option('separator')} {value}: no such model file or folder (use classic, demucs or a path)")
    if path.is_dir():
        bags = sorted(p for p in path.iterdir() if p.suffix == ".yaml" and p.is_file())
        models = sorted(p for p in path.iterdir() if p.suffix in MODEL_SUFFIXES and p.is_file())
        choices = bags or models
        if not choices:
            raise InvalidValueError(f"{option('separator')} {value}: the folder holds no demucs model (<sig>.th, "
                                    f"<sig>.safetensors or a <name>.yaml bag)")
        if len(choices) > 1:
            raise InvalidValueError(f"{option('separator')} {value}: the folder holds several models "
                                    f"({', '.join(p.name for p in choices[:6])}): give the one to use as "
                                    f"{option('separator')} {path / choices[0].name}")
        path = choices[0]
    if path.suffix in MODEL_SUFFIXES:
        return DemucsFiles(value, [path])
    if path.suffix != ".yaml":
        raise InvalidValueError(f"{option('separator')} {value}: expected a demucs model (.th, .safetensors), a bag (.yaml) "
                                f"or a folder of them")
    bag = _read_bag(path, value)
    files = [_sig_file(value, path.parent, sig) for sig in bag["models"]]
    return DemucsFiles(value, files, bag.get("weights"), bag.get("segment"))


def _sig_file(value: str, folder: Path, sig: str) -> Path:
    """The model file of signature ``sig`` in ``folder``: <sig>.safetensors, <sig>.th or <sig>-<hash>.th."""
    found = [folder / f"{sig}.safetensors", folder / f"{sig}.th"] + sorted(folder.glob(f"{sig}-*.th"))
    found = [f for f in found if f.is_file()]
    if not found:
        raise NeuralSetupError(f"{option('separator')} {value}: model file {sig}.th (or {sig}-<hash>.th, {sig}.safetensors) "
                               f"is not in {folder}: put it there; nothing is downloaded here")
    return found[0]


def load_model(files: DemucsFiles):
    """DemucsFiles -> a demucs model or BagOfModels (CPU, eval mode); damaged files raise one line."""
    try:
        from demucs.apply import BagOfModels
        from demucs.repo import ModelLoadingError, check_checksum
        from demucs.states import load_model as demucs_load
    except ImportError as e:
        raise NeuralSetupError(f"{option('separator')} {files.label}: demucs cannot be imported ({e}): {INSTALL}") from None
    models = []
    for f in files.models:
        try:
            if f.suffix == ".safetensors":
                from demucs.hf import load_safetensors_model
                m = load_safetensors_model(f)
            else:
                if "-" in f.stem:
                    check_checksum(f, f.stem.rsplit("-", 1)[1])
                m = demucs_load(f)
        except ModelLoadingError:
            raise NeuralSetupError(f"{option('separator')} {files.label}: {f} is damaged (its checksum does not match its "
                                   f"name): download it again") from None
        except Exception as e:   # a truncated or foreign file: torch/pickle/safetensors raise many kinds
            raise NeuralSetupError(f"{option('separator')} {files.label}: {f} is not a demucs model file "
                                   f"({e.__class__.__name__})") from None
        models.append(m)
    first = models[0]
    sources = list(getattr(first, "sources", []))
    if "vocals" not in sources:
        raise NeuralSetupError(f"{option('separator')} {files.label}: the model has no vocals stem (its stems: {sources})")
    if any(list(m.sources) != sources or m.samplerate != first.samplerate
           or m.audio_channels != first.audio_channels for m in models):
        raise NeuralSetupError(f"{option('separator')} {files.label}: the bag's models do not have the same stems and rate")
    if files.weights is not None and (len(files.weights) != len(models)
                                      or any(len(w) != len(sources) for w in files.weights)):
        raise NeuralSetupError(f"{option('separator')} {files.label}: the bag's weights do not fit its models")
    if len(models) == 1 and files.weights is None and files.segment is None:
        model = first
    else:
        model = BagOfModels(models, files.weights, files.segment)
    return model.eval()


def separate(song: np.ndarray, sr: int, model, cfg: DemucsConfig | None = None, progress=None
             ) -> tuple[np.ndarray, np.ndarray]:
    """``song`` [N, C] float at ``sr`` through a demucs ``model``: -> (vocals [N, C], instrumental [N, C]),
    the model's vocals stem and the sum of its other stems, in blocks so memory stays bounded."""
    import torch
    from demucs.apply import apply_model

    cfg = cfg or DemucsConfig()
    x = np.asarray(song, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    n, c = x.shape
    feed = _to_model_channels(x, model.audio_channels)                  # [N, model channels]
    ref = feed.mean(axis=1)
    mean, std = float(ref.mean()), float(ref.std())
    std = std if std > 1e-8 else 1.0
    v_idx = list(model.sources).index("vocals")
    vocals = np.zeros((n, c), np.float32)
    inst = np.zeros((n, c), np.float32)
    block = max(1, int(cfg.block_s * sr))
    ctx = int(cfg.context_s * sr)
    starts = _block_starts(n, block, ctx)
    fade = min(ctx, int(0.5 * sr))
    old_threads = torch.get_num_threads()
    state = random.getstate()
    try:
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        random.seed(cfg.seed)
        for i, a in enumerate(starts):
            b = starts[i + 1] if i + 1 < len(starts) else n
            lo, hi = max(0, a - ctx), min(n, b + ctx)
            v, o = _separate_block((feed[lo:hi] - mean) / std, sr, model, cfg, v_idx, torch, apply_model)
            v, o = v * std + mean, o * std + mean * (len(model.sources) - 1)
            ka, kb, w = block_weights(i, a, b, n, fade)
            vocals[ka:kb] += _to_song_channels(v[ka - lo: kb - lo], c) * w[:, None]
            inst[ka:kb] += _to_song_channels(o[ka - lo: kb - lo], c) * w[:, None]
            if progress is not None:
                progress("separate", (i + 1) / len(starts))
    finally:
        random.setstate(state)
        torch.set_num_threads(old_threads)
    return vocals, inst


def _separate_block(x: np.ndarray, sr: int, model, cfg: DemucsConfig, v_idx: int, torch, apply_model):
    """One normalised block [n, ch] at ``sr`` -> (vocals, the other stems summed) [n, ch] at ``sr``."""
    from ..audio.io import resample

    n = x.shape[0]
    msr = int(model.samplerate)
    at_model = resample(x, sr, msr) if msr != sr else x
    mix = torch.from_numpy(np.ascontiguousarray(at_model.T))[None]       # [1, ch, T]
    with torch.no_grad():
        out = apply_model(model, mix, shifts=cfg.shifts, split=True, overlap=cfg.overlap,
                          progress=False, device="cpu")[0]               # [S, ch, T]
    v = out[v_idx].numpy().T
    o = (out.sum(dim=0) - out[v_idx]).numpy().T
    if msr != sr:
        v, o = resample(v, msr, sr), resample(o, msr, sr)
    return _fit(v, n), _fit(o, n)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """[m, ch] -> [n, ch]: cut, or padded with zeros (a resampler's length is off by a sample or two)."""
    if x.shape[0] >= n:
        return np.ascontiguousarray(x[:n], dtype=np.float32)
    return np.concatenate([x, np.zeros((n - x.shape[0], x.shape[1]), np.float32)]).astype(np.float32)


def _block_starts(n: int, block: int, ctx: int) -> list[int]:
    starts = list(range(0, max(n, 1), block)) if n > block + ctx else [0]
    if len(starts) > 1 and n - starts[-1] < block // 2:
        starts.pop()                       # a short tail joins the block before it
    return starts


def _to_model_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """[N, C] -> [N, channels]: as is if they match, else the mono downmix on every channel."""
    if x.shape[1] == channels:
        return x
    return np.repeat(x.mean(axis=1, keepdims=True), channels, axis=1)


def _to_song_channels(y: np.ndarray, c: int) -> np.ndarray:
    """[n, model channels] -> [n, c]: as is if they match, else the mono downmix on every channel."""
    if y.shape[1] == c:
        return y
    return np.repeat(y.mean(axis=1, keepdims=True), c, axis=1)


def check(value: str) -> DemucsFiles:
    """find_model for a value that is not 'classic' (errors are AlignSTSError subclasses)."""
    try:
        return find_model(value)
    except AlignSTSError:
        raise
    except OSError as e:
        raise InvalidValueError(f"{option('separator')} {value}: cannot read it ({e.strerror or e.__class__.__name__})") from None
