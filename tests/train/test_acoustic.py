"""The acoustic-model trainer on tiny synthetic data: it learns, resumes exactly (also after a
SIGTERM or a SIGKILL), and its run folder loads in the neural engine."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from alignsts.train.acoustic import AcousticTrainer, perturb_content, time_warp, train_acoustic  # noqa: E402
from alignsts.train.config import load_acoustic_config  # noqa: E402
from alignsts.train.runtime import TrainError, load_checkpoint, start_processes  # noqa: E402


ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "alignsts_tiny.yaml"


def tiny_cfg(**kw):
    cfg = load_acoustic_config(TINY)
    cfg.tensorboard = False
    cfg.threads = 1
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def weights(run: Path) -> dict:
    ck = load_checkpoint(sorted(run.glob("model_ckpt_steps_*.ckpt"), key=lambda p: int(p.stem.split("_")[-1]))[-1])
    return ck


def assert_same_checkpoint(a: dict, b: dict) -> None:
    assert a["global_step"] == b["global_step"]
    sa, sb = a["state_dict"]["model"], b["state_dict"]["model"]
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    oa, ob = a["optimizer_states"]["model"]["state"], b["optimizer_states"]["model"]["state"]
    for i in oa:
        for k in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(oa[i][k], ob[i][k]), (i, k)


def infer_l1(trainer, items) -> float:
    """Mean L1 between the inferred and the true mel of ``items``."""
    errs = []
    for i in items:
        batch, out = trainer.infer(trainer.train_set, int(i))
        errs.append(float((out["mel_out"][0] - batch["mel"][0]).abs().mean()))
    return float(np.mean(errs))


@pytest.mark.slow
def test_tiny_model_learns(prepared, tmp_path):
    """300 steps on 8 synthetic pairs: the teacher-forced mel loss on training items falls by a large
    factor and inference reconstructs a training item's mel better than the untrained model."""
    cfg = tiny_cfg(valid_every=0, ckpt_every=1000, log_every=50)
    procs = start_processes("cpu")
    trainer = AcousticTrainer(cfg, prepared, tmp_path / "run", procs, steps=300)
    items = trainer.train_items[:4]
    trainer.model.eval()
    with torch.no_grad():
        before = trainer.evaluate(trainer.train_set, items)
        infer_before = infer_l1(trainer, items)
    trainer.model.train()
    trainer.fit()
    trainer.model.eval()
    with torch.no_grad():
        after = trainer.evaluate(trainer.train_set, items)
        infer_after = infer_l1(trainer, items)
    assert after["l1"] < before["l1"] / 3, (before, after)
    assert after["total"] < before["total"] / 2.5, (before, after)
    assert infer_after < infer_before / 2, (infer_before, infer_after)
    logged = [v["total"] for _, v in trainer.history]
    assert logged[-1] < logged[0]


def test_resume_gives_the_same_weights_as_one_run(prepared, tmp_path):
    cfg = tiny_cfg(log_every=2, valid_every=3, ckpt_every=100)
    train_acoustic(cfg, prepared, tmp_path / "one", steps=8)
    train_acoustic(cfg, prepared, tmp_path / "two", steps=4)
    assert weights(tmp_path / "two")["global_step"] == 4
    train_acoustic(cfg, prepared, tmp_path / "two", steps=8)
    assert_same_checkpoint(weights(tmp_path / "one"), weights(tmp_path / "two"))


def _spawn_train(data: Path, run: Path, steps: int, extra_cfg: dict, tmp_path: Path) -> subprocess.Popen:
    import yaml

    cfg = yaml.safe_load(TINY.read_text())
    cfg.update(tensorboard=False, threads=1, **extra_cfg)
    path = tmp_path / f"cfg_{run.name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "alignsts", "train", "--config", str(path), "--data", str(data),
                             "--run", str(run), "--steps", str(steps), "--device", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_step(run: Path, step: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    metrics = run / "metrics.jsonl"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"training ended early: {proc.communicate()[1][-2000:]}")
        if metrics.is_file():
            lines = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()]
            if any(r["step"] >= step for r in lines):
                return
        time.sleep(0.05)
    raise AssertionError("training did not reach the step in time")


@pytest.mark.slow
def test_sigterm_stops_with_a_checkpoint_and_resuming_matches_one_run(prepared, tmp_path):
    run = tmp_path / "stopped"
    proc = _spawn_train(prepared, run, 10_000, {"log_every": 1, "valid_every": 0, "ckpt_every": 10_000}, tmp_path)
    try:
        _wait_for_step(run, 3, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "resume" in err
    stopped_at = weights(run)["global_step"]
    assert 3 <= stopped_at < 10_000
    final = stopped_at + 3
    cfg = tiny_cfg(log_every=1, valid_every=0, ckpt_every=10_000)
    train_acoustic(cfg, prepared, run, steps=final)
    train_acoustic(cfg, prepared, tmp_path / "straight", steps=final)
    assert_same_checkpoint(weights(tmp_path / "straight"), weights(run))


@pytest.mark.slow
def test_sigkill_mid_run_leaves_a_loadable_checkpoint_to_resume_from(prepared, tmp_path):
    run = tmp_path / "killed"
    proc = _spawn_train(prepared, run, 10_000, {"log_every": 1, "valid_every": 0, "ckpt_every": 1,
                                                 "keep_last": 2}, tmp_path)
    try:
        _wait_for_step(run, 4, proc)
        time.sleep(0.13)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    last = weights(run)                       # loads: never a half-written file
    step = last["global_step"]
    assert step >= 3
    cfg = tiny_cfg(log_every=1, valid_every=0, ckpt_every=10_000)
    train_acoustic(cfg, prepared, run, steps=step + 2)
    assert weights(run)["global_step"] == step + 2
    assert not list(run.glob(".*.tmp"))


def test_run_folder_and_best_load_in_the_neural_engine(make_data, tmp_path):
    from alignsts import api
    from alignsts.engines.neural import NeuralConfig
    from alignsts.models.ckpt import load_acoustic

    data = make_data(tmp_path / "data", content_dim=80, content_kind="mel", speaker="none")
    res = train_acoustic(tiny_cfg(log_every=1, valid_every=2), data, tmp_path / "run", steps=2)
    assert res["best"]["step"] == 2
    model = load_acoustic(tmp_path / "run")
    assert model.cfg.content == "mel" and not model.cfg.speaker_embed
    load_acoustic(tmp_path / "run" / "best")
    sr = 24000
    t = np.arange(int(0.8 * sr)) / sr
    speech = (0.3 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    notes = tmp_path / "melody.txt"
    notes.write_text("A3 0.4\nC4 0.4\n")
    out = api.convert(speech, sr, notes=str(notes), engine="neural",
                      config=NeuralConfig(checkpoint=str(tmp_path / "run"), griffin_lim_iters=2))
    assert len(out.wav) == len(out.analysis.target_f0) * 128 and np.isfinite(out.wav).all()


def test_zero_shot_mode_trains_from_the_singing_alone(prepared, tmp_path):
    cfg = tiny_cfg(zero_shot=True, log_every=5, valid_every=0)
    res = train_acoustic(cfg, prepared, tmp_path / "zs", steps=40)
    hist = [v["total"] for _, v in res["history"]]
    assert hist[-1] < hist[0]


def test_time_warp_and_content_perturbation():
    rng = np.random.default_rng(0)
    x = np.tile(np.arange(100, dtype=np.float32)[:, None], (1, 80))
    y = time_warp(x, rng, 0.25, 4)
    assert 100 / 1.25 - 4 <= len(y) <= 100 / 0.75 + 4
    assert np.all(np.diff(y[:, 0]) >= 0)            # still in order: a re-timing, not a shuffle
    assert y[0, 0] == 0 and y[-1, 0] <= 99
    cfg = tiny_cfg(zero_shot_shift=2)
    z = perturb_content(x, np.random.default_rng(1), cfg, "mel")
    assert z.shape[1] == 80


def test_bad_config_and_data_are_one_line_errors(prepared, tmp_path):
    with pytest.raises(TrainError, match="model config"):
        train_acoustic(tiny_cfg(model={"diffvae_type": "diffvae2"}), prepared, tmp_path / "r")
    with pytest.raises(Exception, match="stats.json"):
        train_acoustic(tiny_cfg(), tmp_path / "nothing", tmp_path / "r2")
    with pytest.raises(TrainError, match="max_frames"):
        train_acoustic(tiny_cfg(max_frames=5), prepared, tmp_path / "r3", steps=1)
