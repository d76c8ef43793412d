"""torchrun with two CPU processes (gloo): both ranks train and end with identical weights."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import os, sys, torch
    from alignsts.train.{module} import {cls}
    from alignsts.train.config import {loader}
    from alignsts.train.runtime import start_processes
    cfg = {loader}(sys.argv[1])
    cfg.tensorboard, cfg.threads, cfg.log_every, cfg.valid_every = False, 1, 1, 2
    procs = start_processes("cpu")
    assert procs.world == 2
    t = {cls}(cfg, sys.argv[2], sys.argv[3], procs, steps=4)
    t.fit()
    state = {{f"{{n}}.{{k}}": v for n, m in t.modules.items() for k, v in m.state_dict().items()}}
    torch.save({{"state": state, "batches": [t.batches(s).tolist() for s in range(4)]}},
               os.path.join(sys.argv[3], f"rank{{procs.rank}}.pt"))
    procs.close()
""")


@pytest.mark.slow
@pytest.mark.parametrize("module,cls,loader,config", [
    ("acoustic", "AcousticTrainer", "load_acoustic_config", "alignsts_tiny.yaml"),
    ("vocoder", "VocoderTrainer", "load_vocoder_config", "hifigan_tiny.yaml"),
])
def test_torchrun_two_cpu_processes_hold_identical_weights(prepared, tmp_path, module, cls, loader, config):
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT.format(module=module, cls=cls, loader=loader))
    run = tmp_path / "run"
    run.mkdir()
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script), str(ROOT / "configs" / config), str(prepared), str(run)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(run / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["state"].keys() == r1["state"].keys()
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    for a, b in zip(r0["batches"], r1["batches"]):     # each rank trained on its own share
        assert not set(a) & set(b)
    assert len(list(run.glob("model_ckpt_steps_4.ckpt"))) == 1
