"""Training speed and memory on this CPU: steps/s and peak RSS of the acoustic model and the
vocoder, tiny and official configurations, at the configs' own batch sizes.

    python benchmarks/train_speed.py [--steps 3] [--threads 2] [--only tiny|official]

Data are random arrays in the prepared format (no audio analysis): singing items of
``--seconds`` (default 6.7 s = 1250 frames, so an official batch of 20000 frames holds 16),
wav2vec2-shaped content at 50 Hz. Each configuration runs in a fresh child process (its peak RSS
is its own); the first step is a warm-up and not timed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, logging, sys, time
import numpy as np, torch
from pathlib import Path
from alignsts.data.store import write_split
from alignsts.train.runtime import start_processes, peak_rss_mb
kind, config, steps, threads, seconds, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), Path(sys.argv[6])
torch.set_num_threads(threads)
rng = np.random.default_rng(0)
t1 = int(seconds * 24000 / 128)
t2 = int(seconds * 50)
n = 32
def item(_):
    return {"content": rng.standard_normal((t2, 32)).astype(np.float32),
            "sing_f0": rng.uniform(150, 400, t1).astype(np.float32),
            "sing_rhythm": rng.uniform(0, 1, t1).astype(np.float32),
            "sing_mel": rng.uniform(-5, 0, (t1, 80)).astype(np.float32),
            "sing_wav": (rng.standard_normal(t1 * 128) * 3000).astype(np.int16),
            "spk": rng.standard_normal((1, 256)).astype(np.float32),
            "speech_rhythm": rng.uniform(0, 1, t2 * 2).astype(np.float32),
            "sing_content": rng.standard_normal((t2, 32)).astype(np.float32)}
cache = {i: item(i) for i in range(n)}
rows = [{"id": str(i), "speaker": "s", "song": "x", "text": None} for i in range(n)]
write_split(tmp / "data" / "train", rows, lambda r: cache[int(r["id"])])
(tmp / "data" / "stats.json").write_text(json.dumps({"content_dim": 32, "content_kind": "wav2vec2",
                                                     "speaker_kind": "none"}))
procs = start_processes("cpu")
if kind == "acoustic":
    from alignsts.train.config import load_acoustic_config as load
    from alignsts.train.acoustic import AcousticTrainer as T
else:
    from alignsts.train.config import load_vocoder_config as load
    from alignsts.train.vocoder import VocoderTrainer as T
cfg = load(config)
cfg.tensorboard, cfg.valid_every, cfg.log_every = False, 0, 10 ** 9
trainer = T(cfg, tmp / "data", tmp / "run", procs, steps=steps + 1)
params = sum(p.numel() for m in trainer.modules.values() for p in m.parameters())
trainer.set_lr(0)
trainer.train_step(0)
t = time.perf_counter()
frames = 0
for s in range(1, steps + 1):
    trainer.set_lr(s)
    v = trainer.train_step(s)
    frames += v.get("frames", 0)
dt = time.perf_counter() - t
print(json.dumps({"kind": kind, "config": Path(config).name, "params": params, "steps_per_s": steps / dt,
                  "s_per_step": dt / steps, "frames_per_step": frames / steps, "peak_rss_mb": peak_rss_mb()}))
'''


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=1250 * 128 / 24000)
    ap.add_argument("--only", choices=["tiny", "official"])
    args = ap.parse_args()
    runs = [("acoustic", "alignsts_tiny.yaml", 30), ("vocoder", "hifigan_tiny.yaml", 30),
            ("acoustic", "alignsts.yaml", args.steps), ("vocoder", "hifigan.yaml", args.steps)]
    rows = []
    for kind, config, steps in runs:
        if args.only and (args.only == "tiny") != ("tiny" in config):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run([sys.executable, "-c", CHILD, kind, str(ROOT / "configs" / config), str(steps),
                                str(args.threads), str(args.seconds), tmp], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{kind} {config}: failed: {p.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{kind:9s} {config:20s} params {r['params'] / 1e6:7.2f} M  {r['steps_per_s']:8.3f} steps/s "
              f"({r['s_per_step']:7.2f} s/step)  peak RSS {r['peak_rss_mb']:7.0f} MB", flush=True)
    print("\n| model | config | parameters | batch | steps/s | s/step | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        batch = (f"{r['frames_per_step']:.0f} padded frames" if r["kind"] == "acoustic" else "see config")
        print(f"| {r['kind']} | {r['config']} | {r['params'] / 1e6:.2f} M | {batch} | {r['steps_per_s']:.3f} | "
              f"{r['s_per_step']:.2f} | {r['peak_rss_mb'] / 1024:.2f} GB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
