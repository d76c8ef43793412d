#!/usr/bin/env python
"""Speed and peak memory of the reference engine on a ~4-minute input.

    python benchmarks/long_input.py [--pairs-dir DIR] [--pair NAME] [--seconds 240]
                                    [--tile song|each] [--profile]

A real pair (default en-nhss-10; the bundled demo files when the pairs folder or the pair
is missing) is tiled into a long speech and a long sung reference:
  --tile song  (default) both repeated the same number of times, enough for the sung
               reference to last >= --seconds; the lyrics still correspond (speech is
               naturally shorter than the singing of the same words).
  --tile each  each file repeated until it alone lasts >= --seconds (the lyrics no
               longer correspond: stresses the aligner on mismatched content).

Each measurement runs in a fresh child process (``python this_file --child ...``), whose
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on Linux) is its peak RSS:
  baseline child: imports alignsts and loads/tiles the audio, nothing else;
  conversion child: the same, one untimed warm-up conversion of the short pair (numba
  cache loading, first-call costs), then the timed long conversion.
The parent imports only the standard library, so the children's peak (which on Linux
can inherit the forking parent's high-water mark) is not inflated by it. /proc VmHWM is
shown as a cross-check. --profile adds a third child that runs the long conversion under
cProfile and prints the top functions.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAIRS = ROOT.parent / "shared" / "data" / "sts-pairs"
MARK = "@@RESULT@@ "
LIMIT_KIB = 2 * 1024 * 1024      # 2 GiB
TARGET_RTF = 0.2


# ----------------------------------------------------------------------------- child side
def _maxrss_kib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _vmhwm_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _inputs(args):
    """Load the pair (or the demo files) and tile it: -> (speech, sing, long_speech, long_sing, source)."""
    import numpy as np

    from alignsts.api import demo_files
    from alignsts.audio import frontend as fe
    from alignsts.audio import io

    pair = Path(args.pairs_dir) / args.pair
    if (pair / "speech.wav").is_file() and (pair / "sing.wav").is_file():
        paths, source = (pair / "speech.wav", pair / "sing.wav"), str(pair)
    else:
        paths = demo_files()
        source = f"bundled demo files ({pair} not found)"
    speech, sing = (io.load(p, fe.SAMPLE_RATE) for p in paths)
    sr = fe.SAMPLE_RATE
    if args.tile == "song":
        k = math.ceil(args.seconds * sr / len(sing))
        ks = kr = k
    else:
        ks = math.ceil(args.seconds * sr / len(speech))
        kr = math.ceil(args.seconds * sr / len(sing))
    long_speech = np.tile(speech, ks)
    long_sing = np.tile(sing, kr)
    return speech, sing, long_speech, long_sing, f"{source}; speech x{ks}, sing x{kr}"


def child(args) -> None:
    t_start = time.perf_counter()
    import alignsts  # noqa: F401  (the package, as a user would import it)
    from alignsts.audio import frontend as fe
    from alignsts.engines import reference

    speech, sing, long_speech, long_sing, source = _inputs(args)
    res = {"mode": args.child, "source": source,
           "speech_s": len(long_speech) / fe.SAMPLE_RATE, "sing_s": len(long_sing) / fe.SAMPLE_RATE}
    if args.child == "baseline":
        res.update(maxrss_kib=_maxrss_kib(), vmhwm_kib=_vmhwm_kib())
        print(MARK + json.dumps(res), flush=True)
        return

    t0 = time.perf_counter()
    reference.convert(speech, sing, reference.ReferenceConfig())  # untimed warm-up on the short pair
    res["warmup_s"] = time.perf_counter() - t0
    res["setup_s"] = time.perf_counter() - t_start
    res["maxrss_after_warmup_kib"] = _maxrss_kib()

    marks = []  # (stage, time, ru_maxrss at the start of the stage)

    def progress(stage, frac):
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter(), _maxrss_kib()))

    cfg = reference.ReferenceConfig()
    if args.child == "profile":
        import cProfile
        import io as _io
        import pstats

        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        y, _ = reference.convert(long_speech, long_sing, cfg, progress=progress)
        prof.disable()
        res["seconds"] = time.perf_counter() - t0
        for key in ("tottime", "cumulative"):
            buf = _io.StringIO()
            pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(args.top)
            res[f"profile_{key}"] = buf.getvalue()
    else:
        t0 = time.perf_counter()
        y, _ = reference.convert(long_speech, long_sing, cfg, progress=progress)
        res["seconds"] = time.perf_counter() - t0
    t_end = t0 + res["seconds"]
    end_rss = _maxrss_kib()
    marks.append(("end", t_end, end_rss))
    res["stages"] = [{"stage": a[0], "seconds": b[1] - a[1], "maxrss_at_start_kib": a[2],
                      "maxrss_at_end_kib": b[2]}
                     for a, b in zip(marks[:-1], marks[1:]) if a[0] != "done"]
    res.update(out_s=len(y) / fe.SAMPLE_RATE, rtf=res["seconds"] / (len(y) / fe.SAMPLE_RATE),
               maxrss_kib=end_rss, vmhwm_kib=_vmhwm_kib())
    print(MARK + json.dumps(res), flush=True)


# ---------------------------------------------------------------------------- parent side
def run_child(mode: str, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode,
           "--pairs-dir", str(args.pairs_dir), "--pair", args.pair, "--seconds", str(args.seconds),
           "--tile", args.tile, "--top", str(args.top)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            res = json.loads(line[len(MARK):])
            res["child_wall_s"] = wall
            return res
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
    return {"mode": mode, "error": f"child exited with {proc.returncode}", "stderr_tail": tail,
            "child_wall_s": wall}


def mib(kib) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f} MiB"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--pair", default="en-nhss-10")
    ap.add_argument("--seconds", type=float, default=240.0, help="minimum length of the tiled input(s)")
    ap.add_argument("--tile", choices=("song", "each"), default="song")
    ap.add_argument("--profile", action="store_true", help="also run the long conversion under cProfile")
    ap.add_argument("--top", type=int, default=15, help="functions shown per profile listing")
    ap.add_argument("--child", choices=("baseline", "convert", "profile"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        child(args)
        return 0

    base = run_child("baseline", args)
    conv = run_child("convert", args)
    prof = run_child("profile", args) if args.profile else None

    print(f"# Long input: reference engine, tile={args.tile}, >= {args.seconds:g} s")
    print()
    for r in (base, conv, prof):
        if r and "error" in r:
            print(f"{r['mode']} child FAILED ({r['error']}):")
            print("\n".join("    " + ln for ln in r["stderr_tail"]))
    src = conv if "error" not in conv else base
    if "error" in src:
        print("\nno measurement")
        return 0
    print(f"input: {src['source']}")
    print(f"long speech {src['speech_s']:.1f} s ({src['speech_s'] / 60:.2f} min), "
          f"long sung reference {src['sing_s']:.1f} s ({src['sing_s'] / 60:.2f} min)")
    print()
    print("| measurement | value |")
    print("|---|---|")
    if "error" not in base:
        print(f"| baseline child peak RSS (import alignsts + load/tile audio) | {mib(base['maxrss_kib'])} "
              f"(VmHWM {mib(base['vmhwm_kib'])}) |")
    if "error" not in conv:
        print(f"| conversion child peak RSS after warm-up | {mib(conv['maxrss_after_warmup_kib'])} |")
        print(f"| conversion child peak RSS (whole run) | {mib(conv['maxrss_kib'])} "
              f"(VmHWM {mib(conv['vmhwm_kib'])}) |")
        if "error" not in base:
            print(f"| conversion's own share (peak - baseline) | {mib(conv['maxrss_kib'] - base['maxrss_kib'])} |")
        print(f"| warm-up conversion (short pair, untimed) | {conv['warmup_s']:.2f} s |")
        print(f"| long conversion wall time | {conv['seconds']:.2f} s |")
        print(f"| output duration | {conv['out_s']:.1f} s |")
        print(f"| RTF (wall / output duration) | {conv['rtf']:.3f} |")
        print()
        print("| stage | seconds | share | peak RSS at stage end |")
        print("|---|---|---|---|")
        for s in conv["stages"]:
            print(f"| {s['stage']} | {s['seconds']:.2f} | {100 * s['seconds'] / conv['seconds']:.0f}% | "
                  f"{mib(s['maxrss_at_end_kib'])} |")
    if prof and "error" not in prof:
        print()
        print(f"## cProfile of the long conversion ({prof['seconds']:.1f} s under the profiler)")
        for key in ("tottime", "cumulative"):
            text = prof[f"profile_{key}"]
            start = text.find("   ncalls")
            print(f"\ntop {args.top} by {key}:")
            print(text[start:].rstrip() if start >= 0 else text.rstrip())

    print()
    print("## Targets")
    print()
    if "error" in conv:
        print("FAIL  peak < 2 GB: conversion child failed")
        print(f"FAIL  RTF <= {TARGET_RTF}: conversion child failed")
    else:
        peak = conv["maxrss_kib"]
        print(f"{'PASS' if peak < LIMIT_KIB else 'FAIL'}  peak < 2 GB: {peak / 1024 / 1024:.2f} GiB "
              f"({mib(peak)}; conversion's own share "
              f"{mib(peak - base['maxrss_kib']) if 'error' not in base else '-'})")
        print(f"{'PASS' if conv['rtf'] <= TARGET_RTF else 'FAIL'}  RTF <= {TARGET_RTF}: {conv['rtf']:.3f} "
              f"({conv['seconds']:.1f} s for {conv['out_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
