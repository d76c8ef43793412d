#!/usr/bin/env python
"""Memory of the learned separator (`--separator demucs|PATH`) against the song's length.

    python benchmarks/separator_memory.py [--minutes 1,4] [--whole]

Each run is a fresh process: a tiny randomly initialised HTDemucs (the real architecture at 44.1 kHz,
saved and loaded as a demucs model file) separates an N-minute synthetic stereo song at 24 kHz with
models.separator.separate (60 s blocks), one torch thread; the table gives the process's peak
RSS and the part of it that grows with the song. ``--whole`` adds demucs's own apply_model on the
whole song at once (what the demucs command does: every stem of the whole song held at 44.1 kHz).
Times are printed but mean nothing for a real model (the tiny one is no measure of speed or quality).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np, torch
from demucs.htdemucs import HTDemucs
from alignsts.models import separator as learned
minutes, mode, folder = float(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
torch.set_num_threads(1)
torch.manual_seed(0)
m = HTDemucs(["drums", "bass", "other", "vocals"], channels=4, depth=2, nfft=512, t_layers=1, t_heads=1,
             segment=4, samplerate=44100, dconv_comp=2)
args, kwargs = m._init_args_kwargs
torch.save({"klass": HTDemucs, "args": args, "kwargs": kwargs, "state": m.state_dict()}, folder / "tiny.th")
model = learned.load_model(learned.find_model(str(folder / "tiny.th")))
sr = 24000
n = int(minutes * 60 * sr)
rng = np.random.default_rng(0)
t = np.arange(n) / sr
mono = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
song = np.stack([mono, 0.8 * mono], axis=1)
del t, mono
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
if mode == "blocks":
    v, i = learned.separate(song, sr, model, learned.DemucsConfig(threads=1))
else:
    from demucs.apply import apply_model
    from alignsts.audio.io import resample
    x = torch.from_numpy(resample(song, sr, 44100).T.copy())[None]
    with torch.no_grad():
        out = apply_model(model, x, shifts=1, split=True, overlap=0.25)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"minutes": minutes, "mode": mode, "base_mb": base, "peak_mb": peak, "seconds": wall}))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", default="1,4")
    ap.add_argument("--whole", action="store_true", help="also demucs's apply_model on the whole song")
    args = ap.parse_args(argv)
    modes = ["blocks"] + (["whole"] if args.whole else [])
    print("| song (min) | how | peak RSS (MB) | of it before separating (MB) | separating added (MB) | s (tiny model) |")
    print("|---|---|---|---|---|---|")
    for minutes in (float(m) for m in args.minutes.split(",")):
        for mode in modes:
            with tempfile.TemporaryDirectory() as d:
                proc = subprocess.run([sys.executable, "-c", CHILD, str(minutes), mode, d], capture_output=True,
                                      text=True)
            if proc.returncode != 0:
                print(f"| {minutes:g} | {mode} | failed: {proc.stderr.strip().splitlines()[-1:]} | | | |")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"| {minutes:g} | {'60 s blocks (alignsts)' if mode == 'blocks' else 'whole song (demucs)'} | "
                  f"{r['peak_mb']:.0f} | {r['base_mb']:.0f} | {r['peak_mb'] - r['base_mb']:.0f} | "
                  f"{r['seconds']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
