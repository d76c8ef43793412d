"""Batching, lr schedules, seeds and crash-safe checkpoint files."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from alignsts.train.batching import EpochBatches, make_batches
from alignsts.train.loop import lr_factor
from alignsts.train.runtime import RunFolder, TrainError, atomic_torch_save, load_checkpoint, seed_step


def test_batches_respect_the_frame_budget_and_cover_every_item_once():
    lengths = np.array([5, 50, 7, 30, 30, 8, 100, 9, 60, 12])
    batches = make_batches(lengths, frame_budget=100, max_items=3)
    seen = np.sort(np.concatenate(batches))
    assert seen.tolist() == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 3
        assert len(b) * lengths[b].max() <= 100 or len(b) == 1


def test_an_item_longer_than_the_budget_gets_its_own_batch():
    batches = make_batches(np.array([10, 500, 10]), frame_budget=100, max_items=8)
    assert [len(b) for b in batches] == [2, 1]


def test_epoch_order_is_deterministic_and_ranks_get_disjoint_equal_shares():
    batches = [np.array([i]) for i in range(7)]
    r0, r1 = EpochBatches(batches, seed=3, rank=0, world=2), EpochBatches(batches, seed=3, rank=1, world=2)
    assert r0.steps_per_epoch == r1.steps_per_epoch == 3
    for epoch in range(3):
        a = {int(r0(epoch * 3 + k)[0]) for k in range(3)}
        b = {int(r1(epoch * 3 + k)[0]) for k in range(3)}
        assert not a & b
    again = EpochBatches(batches, seed=3, rank=0, world=2)
    assert [int(again(s)[0]) for s in range(9)] == [int(r0(s)[0]) for s in range(9)]
    assert [int(r0(s)[0]) for s in range(3)] != [int(r0(s)[0]) for s in range(3, 6)] or \
           [int(r0(s)[0]) for s in range(3, 6)] != [int(r0(s)[0]) for s in range(6, 9)]


def test_too_few_batches_for_the_processes_is_an_error():
    with pytest.raises(ValueError, match="cannot feed"):
        EpochBatches([np.array([0])], seed=0, rank=0, world=2)


def test_rsqrt_schedule_matches_the_official_formula():
    # official RSQRTSchedule: lr * min(step / warmup, 1) * max(warmup, step) ** -0.5 * hidden ** -0.5
    assert lr_factor("rsqrt", 1000, 2000, 256) == pytest.approx(0.5 * 2000 ** -0.5 / 16)
    assert lr_factor("rsqrt", 8000, 2000, 256) == pytest.approx(8000 ** -0.5 / 16)
    assert lr_factor("constant", 5, 10) == pytest.approx(0.5)
    assert lr_factor("exp:0.5", 2000, 0) == pytest.approx(0.25)
    with pytest.raises(TrainError):
        lr_factor("cosine?", 1, 1)


def test_seed_step_depends_on_step_and_rank_only():
    seed_step(1, 5, 0)
    a = torch.rand(3)
    seed_step(1, 5, 0)
    assert torch.equal(a, torch.rand(3))
    seed_step(1, 5, 1)
    assert not torch.equal(a, torch.rand(3))


def test_keep_last_and_latest(tmp_path):
    run = RunFolder(tmp_path / "run", keep_last=2)
    for step in (10, 20, 30):
        run.save({"global_step": step}, step)
    assert [s for s, _ in run.checkpoints()] == [20, 30]
    assert load_checkpoint(run.latest())["global_step"] == 30


def test_a_corrupt_checkpoint_is_a_one_line_error(tmp_path):
    p = tmp_path / "model_ckpt_steps_1.ckpt"
    p.write_bytes(b"not a checkpoint")
    with pytest.raises(TrainError, match="cannot read"):
        load_checkpoint(p)


def test_sigkill_while_writing_leaves_the_previous_checkpoint_loadable(tmp_path):
    """A process rewriting a large checkpoint is killed (SIGKILL) while its temp file is being
    written: the checkpoint path still holds the complete previous version."""
    target = tmp_path / "model_ckpt_steps_1.ckpt"
    torch.save({"version": 0, "w": torch.zeros(4)}, target)
    script = textwrap.dedent(f"""
        import torch
        from pathlib import Path
        from alignsts.train.runtime import atomic_torch_save
        big = torch.ones(60_000_000)          # 240 MB: writing takes a while
        for v in range(1, 1000):
            atomic_torch_save({{"version": v, "w": big}}, Path({str(target)!r}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list(tmp_path.glob(".*.tmp")):
            time.sleep(0.005)
        assert list(tmp_path.glob(".*.tmp")), "the writer never started a temp file"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    ck = torch.load(target, weights_only=True)
    assert ck["version"] >= 0 and ck["w"].numel() in (4, 60_000_000)
    run = RunFolder(tmp_path)
    run.clean_temp()
    assert not list(tmp_path.glob(".*.tmp"))


def test_atomic_save_replaces_whole_files(tmp_path):
    p = tmp_path / "x.ckpt"
    atomic_torch_save({"a": torch.ones(2)}, p)
    atomic_torch_save({"a": torch.zeros(3)}, p)
    assert torch.equal(torch.load(p, weights_only=True)["a"], torch.zeros(3))
    assert sorted(os.listdir(tmp_path)) == ["x.ckpt"]
