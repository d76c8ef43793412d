#!/usr/bin/env python
"""The reference engine's output level at default settings against the reference's.

    python benchmarks/reference_level.py [--pairs-dir DIR]

For every real pair (../shared/data/sts-pairs): alignsts.convert(speech, reference=sing) at
its defaults (loudness 'auto': the reference's integrated loudness) and with the previous
default (-16 LUFS); prints the integrated loudness (ITU-R BS.1770) of reference and outputs,
their difference in LU, the output's sample peak, and the LSD against the real singing.
Exit code: 0, or 2 when the pairs folder does not exist.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_pairs import DEFAULT_PAIRS, pairs_or_none  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    args = ap.parse_args(argv)
    pairs = pairs_or_none(args.pairs_dir)
    if pairs is None:
        return 2
    from alignsts import api
    from alignsts.audio import frontend as fe
    from alignsts.audio import io, level
    from alignsts.eval import metrics

    print("| pair | reference LUFS | output (auto) LUFS | diff LU | peak dBFS | LSD auto | output (-16) diff LU | LSD -16 |")
    print("|---|---|---|---|---|---|---|---|")
    diffs, diffs16, lsd_a, lsd_16 = [], [], [], []
    for p in pairs:
        sing = io.load(p / "sing.wav", fe.SAMPLE_RATE)
        ref_lufs = level.integrated_loudness(sing, fe.SAMPLE_RATE)
        auto = api.convert(str(p / "speech.wav"), reference=str(p / "sing.wav")).wav
        fixed = api.convert(str(p / "speech.wav"), reference=str(p / "sing.wav"), loudness=-16.0).wav
        la, l16 = (level.integrated_loudness(w, fe.SAMPLE_RATE) for w in (auto, fixed))
        n = min(len(sing), len(auto))
        lsd_a.append(metrics.lsd(sing[:n], auto[:n]))
        lsd_16.append(metrics.lsd(sing[:n], fixed[:n]))
        diffs.append(la - ref_lufs)
        diffs16.append(l16 - ref_lufs)
        print(f"| {p.name} | {ref_lufs:.1f} | {la:.1f} | {la - ref_lufs:+.2f} | {level.peak_dbfs(auto):.1f} | "
              f"{lsd_a[-1]:.2f} | {l16 - ref_lufs:+.1f} | {lsd_16[-1]:.2f} |", flush=True)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    print(f"\nmax |diff| (auto): {max(abs(d) for d in diffs):.2f} LU; mean LSD auto {mean(lsd_a):.2f}, "
          f"-16 LUFS {mean(lsd_16):.2f}; -16 LUFS was {mean(diffs16):+.1f} LU off the reference on average "
          f"(up to {max(diffs16, key=abs):+.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
