"""The training loop both trainers share: resume, per-step seeding, logging, validation,
checkpoints every N steps (keep-last-K + best), a clean stop on SIGINT/SIGTERM, and DDP.

A subclass builds its modules and optimizers and implements :meth:`train_step`,
:meth:`validate`, :meth:`model_state` / :meth:`load_model_state` (the checkpoint's
``state_dict`` entry, in the layout the neural engine reads) and :meth:`config_text`.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..atomic import atomic_write_text
from ..errors import TrainError
from .runtime import (MetricsLog, Processes, RunFolder, StopRequest, load_checkpoint, peak_rss_mb, rng_states,
                      seed_step, set_rng_states)

log = logging.getLogger("alignsts")


@dataclass
class LoopSettings:
    steps: int
    log_every: int
    valid_every: int
    ckpt_every: int
    keep_last: int
    seed: int
    tensorboard: bool = True


def lr_factor(schedule: str, step: int, warmup: int, hidden: int = 256) -> float:
    """Multiplier of the base learning rate at ``step``.

    ``rsqrt`` (the official one): min(step / warmup, 1) * max(warmup, step) ** -0.5 * hidden ** -0.5
    (with the official lr 2 and hidden 256 it peaks at 2.8e-3 after 2000 steps);
    ``constant``: linear warm-up, then 1; ``exp:G``: warm-up, then G ** (step / 1000)."""
    warm = min(step / warmup, 1.0) if warmup > 0 else 1.0
    if schedule == "rsqrt":
        return max(warm * max(warmup, step, 1) ** -0.5 * hidden ** -0.5, 1e-7)
    if schedule == "constant":
        return warm
    if schedule.startswith("exp:"):
        return warm * float(schedule[4:]) ** (step / 1000.0)
    raise TrainError(f"unknown lr schedule {schedule!r} (rsqrt, constant, exp:GAMMA)")


class Trainer:
    """Subclasses set ``self.modules`` (name -> nn.Module), ``self.optimizers`` (name -> optimizer),
    ``self.base_lr`` (name -> lr) and ``self.schedule`` (step -> factor) in ``__init__``."""

    def __init__(self, run: str | Path, loop: LoopSettings, procs: Processes):
        self.run = RunFolder(run, loop.keep_last)
        self.loop = loop
        self.procs = procs
        self.modules: dict[str, torch.nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.base_lr: dict[str, float] = {}
        self.schedule: Callable[[int], float] = lambda step: 1.0
        self.scaler = None            # torch.amp.GradScaler on CUDA with mixed precision
        self.step = 0
        self.saved_step = -1          # the step of the last checkpoint (the same on every rank)
        self.best: dict[str, float] = {"score": math.inf, "step": -1}
        self.history: list[tuple[int, dict]] = []   # (step, logged values) of this process

    # ------------------------------------------------------------------ for subclasses
    def train_step(self, step: int) -> dict[str, float]:
        raise NotImplementedError

    def validate(self, step: int, metrics: MetricsLog) -> float:
        """Run validation (main process only); return the score to minimise for ``best``."""
        raise NotImplementedError

    def model_state(self) -> dict:
        raise NotImplementedError

    def load_model_state(self, state: dict) -> None:
        raise NotImplementedError

    def config_text(self) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints
    def set_lr(self, step: int) -> float:
        f = self.schedule(step)
        for name, opt in self.optimizers.items():
            for g in opt.param_groups:
                g["lr"] = self.base_lr[name] * f
        return f

    def checkpoint(self, with_training_state: bool = True) -> dict:
        ck = {"state_dict": self.model_state(), "global_step": self.step}
        if with_training_state:
            ck["optimizer_states"] = {k: o.state_dict() for k, o in self.optimizers.items()}
            ck["train_state"] = {"step": self.step, "best": dict(self.best), "rng": rng_states(),
                                 "scaler": self.scaler.state_dict() if self.scaler is not None else None}
        return ck

    def save(self) -> Path | None:
        path = None
        if self.procs.main:
            path = self.run.save(self.checkpoint(), self.step)
            log.info("step %d: checkpoint %s", self.step, path)
        self.procs.barrier()
        self.saved_step = self.step
        return path

    def resume(self) -> int:
        """Load the newest checkpoint of the run folder, if any; return the step to continue at."""
        if self.procs.main:   # only the writer cleans: another rank's clean-up could take its live temp file
            self.run.clean_temp()
        self.procs.barrier()
        latest = self.run.latest()
        if latest is None:
            return 0
        ck = load_checkpoint(latest)
        if "train_state" not in ck or "optimizer_states" not in ck:
            raise TrainError(f"{latest}: has no training state (an exported model?); start a new run folder")
        self.load_model_state(ck["state_dict"])
        for k, o in self.optimizers.items():
            o.load_state_dict(ck["optimizer_states"][k])
        ts = ck["train_state"]
        self.best = dict(ts["best"])
        if self.scaler is not None and ts.get("scaler"):
            self.scaler.load_state_dict(ts["scaler"])
        set_rng_states(ts["rng"])
        self.step = self.saved_step = int(ts["step"])
        log.info("resuming %s at step %d", latest, self.step)
        return self.step

    # ------------------------------------------------------------------ the loop
    def fit(self) -> int:
        """Train until ``loop.steps`` or a stop signal; returns the step reached."""
        self.resume()
        metrics = MetricsLog(self.run.path, self.procs.main, self.loop.tensorboard)
        if self.procs.main:
            self.run.path.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.run.path / "config.yaml", self.config_text())
        stopped = False
        try:
            with StopRequest() as stop:
                t0, n0 = time.perf_counter(), self.step
                while self.step < self.loop.steps:
                    if self.procs.any(stop.requested):
                        stopped = True
                        break
                    seed_step(self.loop.seed, self.step, self.procs.rank)
                    lr = self.set_lr(self.step)
                    values = self.train_step(self.step)
                    self.step += 1
                    if self.step % self.loop.log_every == 0 or self.step == self.loop.steps:
                        values = self.procs.mean(values)
                        dt = time.perf_counter() - t0
                        values.update(lr=lr * next(iter(self.base_lr.values())),
                                      steps_per_s=(self.step - n0) / max(dt, 1e-9), peak_rss_mb=peak_rss_mb())
                        self.history.append((self.step, values))
                        metrics.scalars(self.step, values)
                        if self.procs.main:
                            log.info("step %d %s", self.step,
                                     " ".join(f"{k} {v:.4g}" for k, v in values.items()))
                        t0, n0 = time.perf_counter(), self.step
                    if self.loop.valid_every and self.step % self.loop.valid_every == 0:
                        self._validate(metrics)
                    if self.step % self.loop.ckpt_every == 0 and self.step < self.loop.steps:
                        self.save()
            if stopped and self.procs.main:
                log.warning("stopped by %s at step %d; run the same command to resume", stop.signal_name,
                            self.step)
            if self.loop.valid_every and self.step % self.loop.valid_every != 0 and not stopped:
                self._validate(metrics)
            if self.saved_step != self.step:   # decided alike on every rank: save() has a barrier
                self.save()
        finally:
            metrics.close()
        return self.step

    def _validate(self, metrics: MetricsLog) -> None:
        if self.procs.main:
            for m in self.modules.values():
                m.eval()
            with torch.no_grad():
                score = float(self.validate(self.step, metrics))
            for m in self.modules.values():
                m.train()
            if score < self.best["score"]:
                self.best = {"score": score, "step": self.step}
                self.run.save_best(self.checkpoint(with_training_state=False), self.step, self.config_text())
                log.info("step %d: new best validation score %.4f", self.step, score)
        self.procs.barrier()


def train_with(trainer_cls, cfg, data, run, steps: int | None = None) -> dict:
    """Build ``trainer_cls(cfg, data, run, processes, steps)`` in this process (alone or as one
    rank of ``torchrun``), train or resume it; returns {'step', 'history', 'run', 'best'}."""
    from .runtime import start_processes

    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    procs = start_processes(cfg.device)
    try:
        trainer = trainer_cls(cfg, data, run, procs, steps)
        step = trainer.fit()
        return {"step": step, "history": trainer.history, "run": str(trainer.run.path), "best": trainer.best}
    finally:
        procs.close()
