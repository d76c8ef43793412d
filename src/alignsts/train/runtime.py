"""What every trainer shares: processes (torchrun), stop signals, per-step seeds, the run folder
(atomic checkpoints, keep-last-K and best), and logging (TensorBoard + ``metrics.jsonl``)."""
from __future__ import annotations

import json
import logging
import os
import random
import resource
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_open, atomic_write_text
from ..errors import TrainError
from ..models.ckpt import checkpoint_name, checkpoint_steps

log = logging.getLogger("alignsts")

# ----------------------------------------------------------------------------- processes
@dataclass
class Processes:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.distributed:
            torch.distributed.barrier()

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is True on any rank."""
        if not self.distributed:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device if self.device.type == "cuda" else "cpu")
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Average logged scalars over ranks."""
        if not self.distributed or not values:
            return values
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64,
                         device=self.device if self.device.type == "cuda" else "cpu")
        torch.distributed.all_reduce(t)
        return {k: float(v) / self.world for k, v in zip(keys, t.tolist())}

    def close(self) -> None:
        if self.distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def start_processes(device: str = "auto") -> Processes:
    """One process, or this rank of a ``torchrun`` launch (env RANK/WORLD_SIZE/LOCAL_RANK): NCCL
    on GPUs, gloo on the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise TrainError("device cuda asked for, but no CUDA device is available")
    if cuda:
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if cuda else "gloo")
    return Processes(rank, world, local, dev)


# ----------------------------------------------------------------------------- stopping
class StopRequest:
    """SIGINT/SIGTERM set a flag the loop checks after each step (a second SIGINT interrupts at once)."""

    def __init__(self):
        self.requested = False
        self.signal_name = ""
        self._old: dict[int, Any] = {}

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        self.signal_name = signal.Signals(signum).name
        log.warning("%s received: stopping after this step and writing a checkpoint", self.signal_name)

    def __enter__(self):
        for s in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[s] = signal.signal(s, self._handle)
            except ValueError:   # not the main thread
                pass
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
        return False


# ----------------------------------------------------------------------------- randomness
def seed_step(seed: int, step: int, rank: int) -> None:
    """Seed every generator from (seed, step, rank): each step's noise, dropout and crops depend on
    nothing else, so a resumed run draws exactly what an uninterrupted one would."""
    s = np.random.SeedSequence([seed, step, rank]).generate_state(2)
    torch.manual_seed(int(s[0]))
    np.random.seed(int(s[1]))
    random.seed(int(s[1]))


def step_rng(seed: int, step: int, rank: int, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, step, rank, salt])


def rng_states() -> dict[str, Any]:
    """Generator states (tensors-only friendly) saved in checkpoints for completeness."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    py = random.getstate()
    return {"torch": torch.get_rng_state(),
            "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached": float(cached)},
            "python": [py[0], list(py[1]), py[2]],
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_states(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------- run folder
def atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save through :func:`alignsts.atomic.atomic_open` (temp file, fsync, rename, folder fsync)."""
    with atomic_open(path, "wb") as fh:
        torch.save(obj, fh)


class RunFolder:
    """``run/`` holds ``config.yaml`` (the model's flat hyperparameters, as the official release
    ships them), ``train.yaml`` (the training config), ``model_ckpt_steps_<N>.ckpt`` (the last
    ``keep_last``), ``best/`` (config + the best checkpoint by validation), ``tb/`` and
    ``metrics.jsonl``. The folder and ``best/`` both load in the neural engine as they are."""

    def __init__(self, path: str | os.PathLike, keep_last: int = 3):
        self.path = Path(path)
        self.keep_last = max(1, int(keep_last))

    def checkpoints(self) -> list[tuple[int, Path]]:
        return checkpoint_steps(self.path)

    def latest(self) -> Path | None:
        ck = self.checkpoints()
        return ck[-1][1] if ck else None

    def clean_temp(self) -> None:
        """Remove temp files left by a process killed while writing."""
        for d in (self.path, self.path / "best"):
            if d.is_dir():
                for p in d.glob(".*.tmp"):
                    p.unlink(missing_ok=True)

    def save(self, ckpt: dict, step: int) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / checkpoint_name(step)
        atomic_torch_save(ckpt, path)
        for _, old in self.checkpoints()[:-self.keep_last]:
            old.unlink(missing_ok=True)
        return path

    def save_best(self, ckpt: dict, step: int, config_text: str) -> Path:
        d = self.path / "best"
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_text(d / "config.yaml", config_text)
        path = d / checkpoint_name(step)
        atomic_torch_save(ckpt, path)
        for _, p in checkpoint_steps(d):
            if p != path:
                p.unlink(missing_ok=True)
        return path


def load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        raise TrainError(f"{path}: cannot read this checkpoint ({str(e).splitlines()[0][:160]})") from None


# ----------------------------------------------------------------------------- logging
def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports KiB)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 2 ** 20


class MetricsLog:
    """Scalars to ``metrics.jsonl`` (always) and TensorBoard (when installed); images and audio to
    TensorBoard only. Only the main process writes."""

    def __init__(self, run: Path, enabled: bool, tensorboard: bool = True):
        self.enabled = enabled
        self.file = None
        self.tb = None
        if not enabled:
            return
        run.mkdir(parents=True, exist_ok=True)
        self.file = open(run / "metrics.jsonl", "a", encoding="utf-8")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
                self.tb = SummaryWriter(str(run / "tb"))
            except ImportError:
                log.warning("tensorboard is not installed (pip install 'alignsts[train]'): "
                            "logging to metrics.jsonl only")

    def scalars(self, step: int, values: dict[str, float], prefix: str = "train") -> None:
        if not self.enabled:
            return
        rec = {"step": step, "split": prefix, "time": time.time(), **{k: float(v) for k, v in values.items()}}
        self.file.write(json.dumps(rec) + "\n")
        self.file.flush()
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"{prefix}/{k}", float(v), step)

    def figure(self, step: int, tag: str, fig) -> None:
        if self.enabled and self.tb is not None:
            self.tb.add_figure(tag, fig, step)
        import matplotlib.pyplot as plt
        plt.close(fig)

    def audio(self, step: int, tag: str, wav: np.ndarray, sr: int) -> None:
        if self.enabled and self.tb is not None:
            self.tb.add_audio(tag, torch.from_numpy(np.clip(wav, -1, 1)).float()[None], step, sample_rate=sr)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.tb is not None:
            self.tb.close()
