#!/usr/bin/env python
"""Calibration of the reference engine's "unrelated inputs" warning on the real pairs.

    python benchmarks/unrelated_inputs.py [--pairs-dir DIR]

Aligns every speech of ../shared/data/sts-pairs with every singing (7 x 7): the diagonal are
the real pairs (same words, same singer), the rest mismatched pairs (other words, often
another language). Prints each pair's normalised alignment cost
(align.speech_to_sung.path_cost_ratio) and sounding-length ratio, and how many pairs of each
kind the engine's thresholds (engines.reference.ALIGN_COST_WARN, LENGTH_RATIO_WARN) flag.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAIRS = ROOT.parent / "shared" / "data" / "sts-pairs"


def main(argv=None) -> int:
    from alignsts.align.speech_to_sung import align_stats
    from alignsts.audio import chunks, io
    from alignsts.engines import reference as eng

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    args = ap.parse_args(argv)
    names = sorted(d.name for d in args.pairs_dir.iterdir()
                   if (d / "speech.wav").is_file() and (d / "sing.wav").is_file()) if args.pairs_dir.is_dir() else []
    if not names:
        print(f"no pairs found in {args.pairs_dir}")
        return 0
    speech = {n: chunks.spectral_stats(io.load(args.pairs_dir / n / "speech.wav")) for n in names}
    sing = {n: chunks.spectral_stats(io.load(args.pairs_dir / n / "sing.wav")) for n in names}
    rows = []
    for a in names:
        for b in names:
            ali = align_stats(*speech[a], *sing[b])
            ratio = ali.reference_active.sum() / max(ali.speech_active.sum(), 1)
            rows.append((a, b, ali.cost_ratio, ratio, len(eng.unrelated_warnings(ali)) > 0))
    print("| speech | singing | same words | cost | sung/spoken length | warns |")
    print("|---|---|---|---|---|---|")
    for a, b, cost, ratio, warns in rows:
        print(f"| {a} | {b} | {'yes' if a == b else 'no'} | {cost:.3f} | {ratio:.2f} | {'yes' if warns else ''} |")
    print()
    for label, sel in (("real pairs", [r for r in rows if r[0] == r[1]]),
                       ("mismatched", [r for r in rows if r[0] != r[1]]),
                       ("English speech, Chinese singing",
                        [r for r in rows if r[0].startswith("en") and r[1].startswith("zh")])):
        costs = np.array([r[2] for r in sel])
        print(f"{label}: cost {costs.min():.3f}-{costs.max():.3f}, warned {sum(r[4] for r in sel)}/{len(sel)}")
    print(f"(thresholds: cost > {eng.ALIGN_COST_WARN}, length ratio > {eng.LENGTH_RATIO_WARN})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
