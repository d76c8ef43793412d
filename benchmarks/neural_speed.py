"""Speed and memory of the neural engine at the official full size, random weights, on the CPU.

    python benchmarks/neural_speed.py [--lengths 5 30] [--threads N]

Acoustic model: the official full configuration (hidden 256, DiffNet 256 x 20, 4 diffusion
steps) built from the compat fixture's config with the full sizes. Vocoder: NSF HiFi-GAN at
hop 128 (rates 8,4,2,2) with 128 and 512 initial channels (the release's config decides).
Content features are random wav2vec2-shaped logits (50 Hz); the wav2vec2 cost is reported
separately only when --content-model is given. Each measurement runs in a fresh child process
so its peak RSS is its own.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPAT = Path(os.environ.get("ALIGNSTS_COMPAT_DIR", ROOT / ".." / "shared" / "compat"))

CHILD = r'''
import json, resource, sys, time
import numpy as np, torch, yaml
what, seconds, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
T1 = int(seconds * 24000 / 128)
out = {"what": what, "seconds": seconds}
if what == "acoustic":
    from alignsts.models.ckpt import build_model
    hp = yaml.safe_load(open(sys.argv[4]))
    for k in ("hidden_size", "diffvae_hidden", "f0_embed_size", "spk_embed_size", "residual_channels"):
        hp[k] = 256
    hp["residual_layers"] = 20
    model = build_model(hp).eval()
    model.attention_chunk = 1024     # as the neural engine runs it
    out["parameters"] = sum(p.numel() for p in model.parameters())
    T2 = int(seconds * 50)
    content = torch.randn(1, T2, 32)
    f0 = torch.full((1, T1), 220.0)
    spk = torch.randn(1, 256)
    with torch.no_grad():
        model(content[:, :50], f0[:, :96], spk)          # warm-up
        t = time.perf_counter()
        model(content, f0, spk)
        out["wall"] = time.perf_counter() - t
else:
    from alignsts.models.hifigan import HifiGan, HifiGanConfig
    channels = int(what.split("-")[1])
    cfg = HifiGanConfig(upsample_rates=(8, 4, 2, 2), upsample_kernel_sizes=(16, 8, 4, 4),
                        upsample_initial_channel=channels, use_nsf=True, sample_rate=24000)
    model = HifiGan(cfg).eval()
    out["parameters"] = sum(p.numel() for p in model.parameters())
    mel = torch.randn(1, 80, T1) - 3
    f0 = torch.full((1, T1), 220.0)
    with torch.no_grad():
        model(mel[..., :50], f0[:, :50])
        t = time.perf_counter()
        model(mel, f0)
        out["wall"] = time.perf_counter() - t
out["rtf"] = out["wall"] / seconds
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
'''


def run(what: str, seconds: float, threads: int) -> dict:
    args = [sys.executable, "-c", CHILD, what, str(seconds), str(threads), str(COMPAT / "alignsts_small" / "config.yaml")]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {"what": what, "seconds": seconds, "error": proc.stderr.strip().splitlines()[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lengths", type=float, nargs="+", default=[5.0, 30.0, 60.0])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    if not (COMPAT / "alignsts_small" / "config.yaml").is_file():
        print(f"official config template not found in {COMPAT}")
        return 2
    print(f"# Neural engine speed, random weights, {args.threads} CPU threads\n")
    print("| module | parameters | output s | wall s | RTF | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    total = {}
    for what in ("acoustic", "hifigan-128", "hifigan-512"):
        for s in args.lengths:
            r = run(what, s, args.threads)
            if "error" in r:
                print(f"| {what} | - | {s:g} | error: {r['error']} | - | - |")
                continue
            print(f"| {what} | {r['parameters']:,} | {s:g} | {r['wall']:.2f} | {r['rtf']:.3f} | {r['peak_mib']:.0f} |")
            total.setdefault(s, {})[what] = r["rtf"]
    print()
    for s, parts in total.items():
        for voc in ("hifigan-128", "hifigan-512"):
            if "acoustic" in parts and voc in parts:
                rtf = parts["acoustic"] + parts[voc]
                flag = "PASS" if rtf <= 1.0 else "FAIL"
                print(f"{flag}  acoustic + {voc} RTF <= 1.0 at {s:g} s: {rtf:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
