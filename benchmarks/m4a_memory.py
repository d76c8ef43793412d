#!/usr/bin/env python
"""Peak memory of reading a long M4A (AAC, 48 kHz stereo) as speech: alignsts.api.load_input.

    python benchmarks/m4a_memory.py [--minutes 30] [--before SRC]

Builds a sine AAC .m4a of the given minutes with PyAV (benchmarks/bombs.py: forged_m4a, here with
an honest header), then reads it in a fresh child process (``--child PATH``) and prints the
child's ``ru_maxrss`` (peak RSS, imports included) and wall time. ``--before SRC`` also runs the
child with another source tree first on the path (e.g. an older checkout's src/) for comparison.
Target (issue 17): peak under 2 GB for 30 minutes at 48 kHz stereo.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(path: str) -> None:
    import resource

    from alignsts import api

    t0 = time.perf_counter()
    wav = api.load_input(path, "speech")
    print(json.dumps({"seconds": len(wav) / 24000, "wall": time.perf_counter() - t0,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--before", help="another src/ folder to compare with")
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("bombs", HERE / "bombs.py")
    bombs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bombs)
    trees = ([("before", args.before)] if args.before else []) + [("this tree", str(HERE.parent / "src"))]
    print("| code | minutes | read s | peak RSS MB |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="alignsts-m4a-") as tmp:
        path = Path(tmp) / "long.m4a"
        bombs.forged_m4a(path, minutes=args.minutes, claims_s=args.minutes * 60)   # an honest header
        for name, src in trees:
            env = dict(os.environ, PYTHONPATH=src)
            out = subprocess.run([sys.executable, __file__, "--child", str(path)], env=env, capture_output=True,
                                 text=True)
            row = next((json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")), None)
            if row is None:
                print(f"| {name} | {args.minutes:g} | failed: {out.stderr.strip()[-120:]} | |")
                continue
            print(f"| {name} | {row['seconds'] / 60:.1f} | {row['wall']:.1f} | {row['rss_mb']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
