"""Training the AlignSTS acoustic model on prepared data (``alignsts train``).

Per step: a length-bucketed batch of (speech content, singing F0, singing rhythm curve, singing
mel, speaker embedding); the model runs teacher-forced (the singing's rhythm quantised by the VQ,
the ProDiff decoder at a random diffusion step) and the loss is the official sum:
0.5 mel L1 + 0.5 mel SSIM + VQ commitment + 0.1 rhythm-code cross-entropy + 40 guided attention.
Zero-shot mode (the paper's "AlignSTS (Zero-Shot)") uses the singing's own content, time-warped
and shifted, in place of the speech's.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from ..data.store import SplitReader
from ..errors import DataError, TrainError, UnsupportedConfig
from ..models.alignsts.config import AlignSTSConfig
from ..models.alignsts.model import AlignSTSModel
from .batching import EpochBatches, make_batches
from .config import AcousticTrainConfig, dump_flat_yaml
from .loop import LoopSettings, Trainer, lr_factor, train_with
from .losses import finite_or_raise, masked_l1, masked_ssim_loss
from .runtime import MetricsLog, Processes, step_rng

log = logging.getLogger("alignsts")

ITEM_KEYS = ("content", "sing_f0", "sing_rhythm", "sing_mel", "spk", "speech_rhythm")
ZERO_SHOT_KEYS = ("sing_content", "sing_f0", "sing_rhythm", "sing_mel", "spk")


def pad_stack(arrays: list[np.ndarray]) -> torch.Tensor:
    """Arrays ``[T_i, ...]`` -> zero-padded float tensor ``[B, max T_i, ...]``."""
    t = max(a.shape[0] for a in arrays)
    out = np.zeros((len(arrays), t, *arrays[0].shape[1:]), dtype=np.float32)
    for i, a in enumerate(arrays):
        out[i, :a.shape[0]] = a
    return torch.from_numpy(out)


def time_warp(x: np.ndarray, rng: np.random.Generator, max_dev: float, segments: int) -> np.ndarray:
    """Piecewise-linear random re-timing of ``x [T, C]``: each of ``segments`` pieces is played at a
    rate in [1 - max_dev, 1 + max_dev] (linear interpolation) -> ``[T', C]``."""
    t = x.shape[0]
    edges = np.linspace(0, t, segments + 1)
    rates = rng.uniform(1 - max_dev, 1 + max_dev, size=segments)
    new_len = np.maximum(1, np.round(np.diff(edges) / rates)).astype(int)
    pos = np.concatenate([np.linspace(a, b, n, endpoint=False) for a, b, n in zip(edges[:-1], edges[1:], new_len)])
    pos = np.clip(pos, 0, t - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo)[:, None]
    return ((1 - w) * x[lo] + w * x[hi]).astype(np.float32)


def perturb_content(x: np.ndarray, rng: np.random.Generator, cfg: AcousticTrainConfig, kind: str) -> np.ndarray:
    """Zero-shot source: the singing's content re-timed (rhythm perturbation) and, for mel content,
    shifted by up to ``zero_shot_shift`` bins (a crude formant shift); logits get small noise."""
    y = time_warp(x, rng, cfg.zero_shot_warp, cfg.zero_shot_segments)
    if kind == "mel" and cfg.zero_shot_shift > 0:
        k = int(rng.integers(-cfg.zero_shot_shift, cfg.zero_shot_shift + 1))
        if k:
            y = np.roll(y, k, axis=1)
            if k > 0:
                y[:, :k] = y[:, k:k + 1]
            else:
                y[:, k:] = y[:, k - 1:k]
    elif kind != "mel":
        y = y + rng.normal(0, 0.1 * (y.std() + 1e-6), size=y.shape).astype(np.float32)
    return y


def model_hparams(cfg: AcousticTrainConfig, stats: dict) -> dict:
    """The run's flat model hyperparameters: the config's, with the data's content size, content
    kind, speaker embedding and mel range filled in (what the neural engine needs to run it)."""
    hp = dict(cfg.model)
    content_dim = int(stats["content_dim"])
    if "content_enc_inp" in hp and int(hp["content_enc_inp"]) != content_dim:
        log.info("content_enc_inp %s -> %d (the prepared content features)", hp["content_enc_inp"], content_dim)
    hp["content_enc_inp"] = content_dim
    kind = stats.get("content_kind", "mel")
    hp["use_speech_wav2vec2_mono"] = kind == "wav2vec2"
    hp["use_speech_mel_mono"] = kind == "mel"
    hp["use_spk_embed"] = stats.get("speaker_kind", "resemblyzer") != "none"
    hp["use_sing_spenv_reduced"] = True
    if stats.get("mel_min") and stats.get("mel_max"):
        hp["spec_min"] = [float(v) for v in stats["mel_min"]]
        hp["spec_max"] = [float(v) for v in stats["mel_max"]]
    hp["audio_num_mel_bins"] = int(hp.get("audio_num_mel_bins", 80))
    return hp


def read_stats(data: Path) -> dict:
    p = data / "stats.json"
    if not p.is_file():
        raise DataError(f"{data}: no stats.json (run `alignsts prepare` first)")
    with open(p, encoding="utf-8") as fh:
        return json.load(fh)


class AcousticTrainer(Trainer):
    def __init__(self, cfg: AcousticTrainConfig, data: str | Path, run: str | Path, procs: Processes,
                 steps: int | None = None):
        super().__init__(run, LoopSettings(steps or cfg.steps, cfg.log_every, cfg.valid_every, cfg.ckpt_every,
                                           cfg.keep_last, cfg.seed, cfg.tensorboard), procs)
        self.cfg = cfg
        data = Path(data)
        self.stats = read_stats(data)
        self.content_kind = self.stats.get("content_kind", "mel")
        self.hp = model_hparams(cfg, self.stats)
        try:
            mcfg = AlignSTSConfig.from_official(self.hp)
        except (UnsupportedConfig, KeyError) as e:
            raise TrainError(f"model config: {e}") from None
        torch.manual_seed(cfg.seed)   # the same initial weights on every rank and every fresh start
        self.model = AlignSTSModel(mcfg).to(procs.device)
        self.modules = {"model": self.model}
        self.net = self.model
        if procs.distributed:
            from torch.nn.parallel import DistributedDataParallel
            ids = [procs.device.index] if procs.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids, find_unused_parameters=True)
        self.optimizers = {"model": torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, betas=tuple(cfg.betas),
                                                      eps=cfg.eps, weight_decay=cfg.weight_decay)}
        self.base_lr = {"model": cfg.lr}
        hidden = int(self.hp.get("hidden_size", mcfg.hidden))
        self.schedule = lambda step: lr_factor(cfg.lr_schedule, step, cfg.warmup_steps, hidden)
        self.amp = bool(cfg.amp and procs.device.type == "cuda")
        if self.amp:
            self.scaler = torch.amp.GradScaler("cuda")

        self.keys = ZERO_SHOT_KEYS if cfg.zero_shot else ITEM_KEYS
        self.train_set = SplitReader(data / "train")
        lengths = self.train_set.lengths("sing_mel")
        keep = np.flatnonzero(lengths <= cfg.max_frames)
        if len(keep) < len(lengths) and procs.main:
            log.warning("%d of %d training items are longer than max_frames %d and are left out",
                        len(lengths) - len(keep), len(lengths), cfg.max_frames)
        if len(keep) == 0:
            raise TrainError(f"no training item of at most max_frames = {cfg.max_frames} frames in {data / 'train'}")
        self.train_items = keep
        batches = [keep[b] for b in make_batches(lengths[keep], cfg.batch_frames, cfg.batch_items)]
        try:
            self.batches = EpochBatches(batches, cfg.seed, procs.rank, procs.world)
        except ValueError as e:
            raise TrainError(str(e)) from None
        valid_dir = data / "valid"
        self.valid_set = SplitReader(valid_dir) if (valid_dir / "index.json").is_file() else None
        if self.valid_set is None and procs.main:
            log.warning("%s has no valid split: validating on the first training items", data)
        self._vocoder = None

    # ------------------------------------------------------------------ batches
    def batch(self, reader: SplitReader, idx: np.ndarray, rng: np.random.Generator | None = None) -> dict:
        items = [reader.get(int(i), self.keys) for i in idx]
        if self.cfg.zero_shot:
            r = rng if rng is not None else np.random.default_rng(0)
            content = [perturb_content(it["sing_content"], r, self.cfg, self.content_kind) for it in items]
        else:
            content = [it["content"] for it in items]
        dev = self.procs.device
        b = {"content": pad_stack(content).to(dev),
             "f0": pad_stack([it["sing_f0"] for it in items]).to(dev),
             "rhythm": pad_stack([it["sing_rhythm"] for it in items]).to(dev)[..., None],
             "mel": pad_stack([it["sing_mel"] for it in items]).to(dev),
             "spk": torch.from_numpy(np.stack([it["spk"][0] for it in items]).astype(np.float32)).to(dev)
             if self.hp["use_spk_embed"] else torch.zeros(len(items), self.model.cfg.hidden, device=dev)}
        if not self.model.cfg.rhythm_adaptor:
            src = [it["sing_rhythm"] if self.cfg.zero_shot else it["speech_rhythm"] for it in items]
            b["spenv"] = pad_stack(src).to(dev)[..., None]
        if b["spk"].shape[1] != self.model.cfg.hidden:
            raise TrainError(f"speaker embeddings are {b['spk'].shape[1]}-d, the model adds {self.model.cfg.hidden}-d")
        return b

    def losses(self, net, b: dict, diffusion_t=None, noise_fn=None) -> tuple[dict, dict]:
        kw = {} if noise_fn is None else {"noise_fn": noise_fn}
        out = net(b["content"], b["f0"], b["spk"], ref_spenv=b["rhythm"], ref_mels=b["mel"], infer=False,
                  diffusion_t=diffusion_t, spenv=b.get("spenv"), **kw)
        c = self.cfg
        mel = out["mel_out"].float()
        losses = {"l1": c.lambda_l1 * masked_l1(mel, b["mel"]),
                  "ssim": c.lambda_ssim * masked_ssim_loss(mel, b["mel"])}
        if "rq_loss" in out:
            losses["rq"] = out["rq_loss"]
            losses["rhythm_ce"] = c.lambda_rhythm_pred * out["r_loss"]
        gloss = [out[k] for k in ("gloss_main", "gloss_spenv") if k in out]
        if gloss and self.model.cfg.num_guided_layers > 0:
            losses["guided"] = c.lambda_guided * sum(gloss)
        return losses, out

    # ------------------------------------------------------------------ one step
    def train_step(self, step: int) -> dict[str, float]:
        self.model.train()
        idx = self.batches(step)
        b = self.batch(self.train_set, idx, step_rng(self.cfg.seed, step, self.procs.rank, salt=1))
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(self.procs.device.type, dtype=torch.float16, enabled=self.amp):
            losses, _ = self.losses(self.net, b)
            total = sum(losses.values())
        finite_or_raise(total, "total", step)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.unscale_(opt)
        else:
            total.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                               self.cfg.clip_grad_norm if self.cfg.clip_grad_norm > 0 else float("inf"))
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()
        values = {k: float(v.detach()) for k, v in losses.items()}
        values.update(total=total.item(), grad_norm=float(gnorm), frames=float(b["mel"].shape[0] * b["mel"].shape[1]))
        return values

    # ------------------------------------------------------------------ validation
    def valid_reader(self) -> tuple[SplitReader, np.ndarray]:
        if self.valid_set is not None and len(self.valid_set):
            lengths = self.valid_set.lengths("sing_mel")
            return self.valid_set, np.flatnonzero(lengths <= max(self.cfg.max_frames, 1))
        return self.train_set, self.train_items[: max(1, min(4, len(self.train_items)))]

    def evaluate(self, reader: SplitReader, idx: np.ndarray) -> dict[str, float]:
        """Teacher-forced losses with a fixed diffusion step and noise per item (comparable
        across steps): mean over the items."""
        sums: dict[str, float] = {}
        for n, i in enumerate(idx):
            b = self.batch(reader, np.array([i]), np.random.default_rng([self.cfg.seed, n]))
            gen = torch.Generator(device=self.procs.device).manual_seed(self.cfg.seed + n)
            t = torch.randint(0, self.model.cfg.timesteps + 1, (1,), generator=gen, device=self.procs.device)
            noise = lambda shape, like: torch.randn(tuple(shape), generator=gen, device=like.device, dtype=like.dtype)
            losses, _ = self.losses(self.model, b, diffusion_t=t, noise_fn=noise)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            sums["total"] = sums.get("total", 0.0) + float(sum(losses.values()))
        return {k: v / max(len(idx), 1) for k, v in sums.items()}

    def infer(self, reader: SplitReader, i: int) -> tuple[dict, dict]:
        """Inference as the engine runs it (predicted rhythm, sampled decoder) on item ``i``."""
        b = self.batch(reader, np.array([i]), np.random.default_rng([self.cfg.seed, i]))
        gen = torch.Generator(device=self.procs.device).manual_seed(self.cfg.seed)
        noise = lambda shape, like: torch.randn(tuple(shape), generator=gen, device=like.device, dtype=like.dtype)
        out = self.model(b["content"], b["f0"], b["spk"], infer=True, noise_fn=noise, spenv=b.get("spenv"))
        return b, out

    def validate(self, step: int, metrics: MetricsLog) -> float:
        reader, idx = self.valid_reader()
        values = self.evaluate(reader, idx)
        infer_l1 = []
        for k, i in enumerate(idx[: max(self.cfg.valid_plots, 1)]):
            b, out = self.infer(reader, int(i))
            pred, gt = out["mel_out"][0].float(), b["mel"][0]
            infer_l1.append(float((pred - gt).abs().mean()))
            if k < self.cfg.valid_plots and metrics.tb is not None:
                self._draw(step, metrics, k, b, out)
        values["infer_mel_l1"] = float(np.mean(infer_l1))
        metrics.scalars(step, values, prefix="valid")
        log.info("step %d valid %s", step, " ".join(f"{k} {v:.4g}" for k, v in values.items()))
        return values["l1"] / max(self.cfg.lambda_l1, 1e-12) if self.cfg.lambda_l1 > 0 else values["total"]

    def _draw(self, step: int, metrics: MetricsLog, k: int, b: dict, out: dict) -> None:
        from .plots import alignment_figure, mel_figure

        pred = out["mel_out"][0].float().cpu().numpy()
        gt = b["mel"][0].cpu().numpy()
        metrics.figure(step, f"mel/{k}", mel_figure(gt, pred, b["f0"][0].cpu().numpy()))
        if "diffvae_aw_main" in out:
            metrics.figure(step, f"attention/{k}", alignment_figure(out["diffvae_aw_main"][0].float().cpu().numpy()))
        wav, sr = self._audio(pred, b["f0"][0].cpu().numpy())
        metrics.audio(step, f"audio/{k}", wav, sr)

    def _audio(self, mel: np.ndarray, f0: np.ndarray) -> tuple[np.ndarray, int]:
        from ..audio import frontend as fe
        if self.cfg.vocoder:
            if self._vocoder is None:
                from ..models.ckpt import load_vocoder
                self._vocoder = load_vocoder(self.cfg.vocoder).to(self.procs.device)
            wav = self._vocoder(torch.from_numpy(mel.T[None]).float().to(self.procs.device),
                                torch.from_numpy(f0[None]).float().to(self.procs.device))
            return wav.reshape(-1).float().cpu().numpy(), fe.SAMPLE_RATE
        from ..models.vocoder import griffin_lim
        return griffin_lim(mel, self.cfg.griffin_lim_iters, self.cfg.seed), fe.SAMPLE_RATE

    # ------------------------------------------------------------------ checkpoint layout
    def model_state(self) -> dict:
        return {"model": self.model.state_dict()}

    def load_model_state(self, state: dict) -> None:
        try:
            self.model.load_state_dict(state["model"], strict=True)
        except (KeyError, RuntimeError) as e:
            raise TrainError(f"{self.run.path}: its checkpoint does not fit this config "
                             f"({str(e).splitlines()[0][:160]})") from None

    def config_text(self) -> str:
        return dump_flat_yaml(self.hp)


def train_acoustic(cfg: AcousticTrainConfig, data: str | Path, run: str | Path, steps: int | None = None) -> dict:
    """Train (or resume) the acoustic model; returns {'step', 'history', 'run', 'best'}. Works alone or as
    one rank of ``torchrun``."""
    return train_with(AcousticTrainer, cfg, data, run, steps)
