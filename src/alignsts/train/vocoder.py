"""Training the NSF HiFi-GAN vocoder on prepared singing (``alignsts train-vocoder``).

Per step: random segments of the singing (wave, log10 mel, F0); the discriminators (multi-period
and multi-scale) take an LSGAN step on real vs generated audio, then the generator takes one on
45 x mel L1 + 2 x feature matching + adversarial loss. The generator trains with weight norm (as
the official one); its checkpoint entry ``state_dict.model_gen`` holds ``weight_g`` / ``weight_v``
exactly as the official release, so a run folder loads in the neural engine as ``--vocoder``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.parametrizations import weight_norm

from ..audio import frontend as fe
from ..data.store import SplitReader
from ..errors import TrainError
from ..models.discriminators import (MultiPeriodDiscriminator, MultiScaleDiscriminator, discriminator_loss,
                                     feature_matching_loss, generator_adv_loss, mel_l1_loss, mel_of_wave)
from ..models.hifigan import HifiGan, HifiGanConfig
from .batching import EpochBatches, make_batches
from .config import VocoderTrainConfig, dump_flat_yaml
from .loop import LoopSettings, Trainer, lr_factor, train_with
from .losses import finite_or_raise
from .runtime import MetricsLog, Processes, step_rng

log = logging.getLogger("alignsts")

WN_G, WN_V = ".parametrizations.weight.original0", ".parametrizations.weight.original1"


def generator_for_training(cfg: HifiGanConfig) -> HifiGan:
    """A generator whose official weight-normalised convolutions are weight-normalised again."""
    g = HifiGan(cfg)
    for name in g.weight_norm_modules():
        weight_norm(g.get_submodule(name))
    return g


def official_generator_state(g: HifiGan) -> dict[str, torch.Tensor]:
    """The weight-normalised generator's state in the official layout (``.weight_g``/``.weight_v``)."""
    out = {}
    for k, v in g.state_dict().items():
        out[k.replace(WN_G, ".weight_g").replace(WN_V, ".weight_v")] = v.detach().clone()
    return out


def load_official_generator_state(g: HifiGan, state: dict[str, torch.Tensor]) -> None:
    mapped = {k.replace(".weight_g", WN_G).replace(".weight_v", WN_V): v for k, v in state.items()}
    g.load_state_dict(mapped, strict=True)


def vocoder_hparams(cfg: VocoderTrainConfig) -> dict:
    hp = dict(cfg.generator)
    hp.setdefault("audio_sample_rate", fe.SAMPLE_RATE)
    hp.setdefault("hop_size", fe.HOP)
    hp.setdefault("audio_num_mel_bins", fe.N_MELS)
    return hp


class VocoderTrainer(Trainer):
    def __init__(self, cfg: VocoderTrainConfig, data: str | Path, run: str | Path, procs: Processes,
                 steps: int | None = None):
        super().__init__(run, LoopSettings(steps or cfg.steps, cfg.log_every, cfg.valid_every, cfg.ckpt_every,
                                           cfg.keep_last, cfg.seed, cfg.tensorboard), procs)
        self.cfg = cfg
        self.hp = vocoder_hparams(cfg)
        try:
            gcfg = HifiGanConfig.from_official(self.hp)
        except (KeyError, ValueError) as e:
            raise TrainError(f"generator config: {e}") from None
        if gcfg.hop != fe.HOP or gcfg.sample_rate != fe.SAMPLE_RATE:
            raise TrainError(f"the generator must upsample by {fe.HOP} at {fe.SAMPLE_RATE} Hz (the front-end's "
                             f"grid); its upsample_rates give {gcfg.hop} at {gcfg.sample_rate} Hz")
        if cfg.segment_samples % fe.HOP:
            raise TrainError(f"segment_samples must be a multiple of {fe.HOP}")
        torch.manual_seed(cfg.seed)
        dev = procs.device
        self.gen = generator_for_training(gcfg).to(dev)
        self.mpd = MultiPeriodDiscriminator(channels_scale=cfg.disc_channels_scale).to(dev)
        self.msd = MultiScaleDiscriminator(channels_scale=cfg.disc_channels_scale).to(dev)
        self.modules = {"gen": self.gen, "mpd": self.mpd, "msd": self.msd}
        self.nets = dict(self.modules)
        if procs.distributed:
            from torch.nn.parallel import DistributedDataParallel
            ids = [dev.index] if dev.type == "cuda" else None
            self.nets = {k: DistributedDataParallel(m, device_ids=ids, find_unused_parameters=True)
                         for k, m in self.modules.items()}
        kw = dict(lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
        self.optimizers = {"gen": torch.optim.AdamW(self.gen.parameters(), **kw),
                           "disc": torch.optim.AdamW(list(self.mpd.parameters()) + list(self.msd.parameters()), **kw)}
        self.base_lr = {"gen": cfg.lr, "disc": cfg.lr}
        self.schedule = lambda step: lr_factor(f"exp:{cfg.lr_decay}", step, cfg.warmup_steps)
        self.amp = bool(cfg.amp and dev.type == "cuda")
        if self.amp:
            self.scaler = torch.amp.GradScaler("cuda")

        data = Path(data)
        self.train_set = SplitReader(data / "train")
        n = len(self.train_set)
        if n == 0:
            raise TrainError(f"{data / 'train'} holds no items")
        try:
            self.batches = EpochBatches(make_batches(np.ones(n, dtype=np.int64), cfg.batch_items, cfg.batch_items),
                                        cfg.seed, procs.rank, procs.world)
        except ValueError as e:
            raise TrainError(str(e)) from None
        vdir = data / "valid"
        self.valid_set = SplitReader(vdir) if (vdir / "index.json").is_file() else self.train_set

    # ------------------------------------------------------------------ batches
    def segments(self, idx: np.ndarray, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """Random aligned crops: wave ``[B, 1, N]``, mel ``[B, 80, N / hop]``, f0 ``[B, N / hop]``."""
        frames = self.cfg.segment_samples // fe.HOP
        wavs, mels, f0s = [], [], []
        lengths = self.train_set.lengths("sing_mel")
        for i in idx:
            i = int(i)
            t = int(lengths[i])
            start = int(rng.integers(0, t - frames + 1)) if t > frames else 0
            mel = np.zeros((frames, fe.N_MELS), np.float32) + float(np.log10(fe.LOG_FLOOR))
            f0 = np.zeros(frames, np.float32)
            wav = np.zeros(frames * fe.HOP, np.float32)
            m = self.train_set.window(i, "sing_mel", start, frames)   # only the crop is read
            mel[:len(m)] = m
            f = self.train_set.window(i, "sing_f0", start, frames)
            f0[:len(f)] = f
            w = self.train_set.window(i, "sing_wav", start * fe.HOP, frames * fe.HOP).astype(np.float32) / 32767.0
            wav[:len(w)] = w
            wavs.append(wav)
            mels.append(mel)
            f0s.append(f0)
        dev = self.procs.device
        return {"wav": torch.from_numpy(np.stack(wavs))[:, None].to(dev),
                "mel": torch.from_numpy(np.stack(mels)).transpose(1, 2).contiguous().to(dev),
                "f0": torch.from_numpy(np.stack(f0s)).to(dev)}

    # ------------------------------------------------------------------ one step
    def train_step(self, step: int) -> dict[str, float]:
        c = self.cfg
        b = self.segments(self.batches(step), step_rng(c.seed, step, self.procs.rank, salt=2))
        y = b["wav"]
        use_disc = step >= c.disc_start_step
        opt_g, opt_d = self.optimizers["gen"], self.optimizers["disc"]
        with torch.autocast(self.procs.device.type, dtype=torch.float16, enabled=self.amp):
            y_hat = self.nets["gen"](b["mel"], b["f0"])[..., : y.shape[-1]]
        values: dict[str, float] = {}
        if use_disc:
            opt_d.zero_grad(set_to_none=True)
            with torch.autocast(self.procs.device.type, dtype=torch.float16, enabled=self.amp):
                r1, f1, _, _ = self.nets["mpd"](y, y_hat.detach())
                r2, f2, _, _ = self.nets["msd"](y, y_hat.detach())
                loss_d = discriminator_loss(r1, f1)[0] + discriminator_loss(r2, f2)[0]
            finite_or_raise(loss_d, "discriminator", step)
            self._backward_step(loss_d, opt_d, list(self.mpd.parameters()) + list(self.msd.parameters()))
            values["disc"] = loss_d.item()
        opt_g.zero_grad(set_to_none=True)
        with torch.autocast(self.procs.device.type, dtype=torch.float16, enabled=self.amp):
            mel_real = mel_of_wave(y[:, 0].float())
            mel_fake = mel_of_wave(y_hat[:, 0].float())
            loss_mel = c.lambda_mel * mel_l1_loss(mel_fake, mel_real)
            loss_g = loss_mel
            if use_disc:
                r1, f1, fr1, ff1 = self.nets["mpd"](y, y_hat)
                r2, f2, fr2, ff2 = self.nets["msd"](y, y_hat)
                adv = generator_adv_loss(f1)[0] + generator_adv_loss(f2)[0]
                fm = feature_matching_loss(fr1, ff1) + feature_matching_loss(fr2, ff2)
                loss_g = loss_g + c.lambda_adv * adv + (c.lambda_fm / 2.0) * fm   # fm already has the paper's x2
                values.update(adv=adv.item(), fm=fm.item())
        finite_or_raise(loss_g, "generator", step)
        self._backward_step(loss_g, opt_g, list(self.gen.parameters()))
        values.update(mel=loss_mel.item() / c.lambda_mel, gen=loss_g.item())
        return values

    def _backward_step(self, loss: torch.Tensor, opt: torch.optim.Optimizer, params: list) -> None:
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(opt)
        else:
            loss.backward()
        if self.cfg.clip_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, self.cfg.clip_grad_norm)
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()

    # ------------------------------------------------------------------ validation
    def validate(self, step: int, metrics: MetricsLog) -> float:
        errs = []
        for k in range(min(self.cfg.valid_items, len(self.valid_set))):
            it = self.valid_set.get(k, ("sing_wav", "sing_mel", "sing_f0"))
            dev = self.procs.device
            gen = torch.Generator(device=dev).manual_seed(self.cfg.seed)
            mel = torch.from_numpy(it["sing_mel"].T[None].copy()).float().to(dev)
            f0 = torch.from_numpy(it["sing_f0"][None].copy()).float().to(dev)
            y_hat = self.gen(mel, f0, generator=gen)[0, 0]
            y = torch.from_numpy(it["sing_wav"].astype(np.float32) / 32767.0).to(dev)
            n = min(len(y), len(y_hat))
            errs.append(float(mel_l1_loss(mel_of_wave(y_hat[None, :n]), mel_of_wave(y[None, :n]))))
            if k < 2:
                metrics.audio(step, f"audio/{k}", y_hat.float().cpu().numpy(), fe.SAMPLE_RATE)
        score = float(np.mean(errs)) if errs else float("inf")
        metrics.scalars(step, {"mel": score}, prefix="valid")
        log.info("step %d valid mel L1 %.4f", step, score)
        return score

    # ------------------------------------------------------------------ checkpoint layout
    def model_state(self) -> dict:
        return {"model_gen": official_generator_state(self.gen), "model_disc": {
            **{f"mpd.{k}": v for k, v in self.mpd.state_dict().items()},
            **{f"msd.{k}": v for k, v in self.msd.state_dict().items()}}}

    def load_model_state(self, state: dict) -> None:
        try:
            load_official_generator_state(self.gen, state["model_gen"])
            disc = state["model_disc"]
            self.mpd.load_state_dict({k[4:]: v for k, v in disc.items() if k.startswith("mpd.")}, strict=True)
            self.msd.load_state_dict({k[4:]: v for k, v in disc.items() if k.startswith("msd.")}, strict=True)
        except (KeyError, RuntimeError) as e:
            raise TrainError(f"{self.run.path}: its checkpoint does not fit this config "
                             f"({str(e).splitlines()[0][:160]})") from None

    def config_text(self) -> str:
        return dump_flat_yaml(self.hp)


def train_vocoder(cfg: VocoderTrainConfig, data: str | Path, run: str | Path, steps: int | None = None) -> dict:
    """Train (or resume) the vocoder; returns {'step', 'history', 'run', 'best'}. Works alone or as
    one rank of ``torchrun``."""
    return train_with(VocoderTrainer, cfg, data, run, steps)
