#!/usr/bin/env python
"""Quality and speed of the reference engine on the real speech/singing pairs.

    python benchmarks/reference_pairs.py [--pairs-dir DIR] [--out-dir DIR] [--no-mcd] [--cross-singer]

For every pair folder (speech.wav + sing.wav, see ../shared/data/sts-pairs/README.md) this
converts the speech with ``alignsts.engines.reference.convert`` (default ReferenceConfig),
times the conversion only, and scores the output against sing.wav with
``alignsts.eval.metrics.score``. The published outputs found in the folder (alignsts.wav,
svpt.wav, sing_vocoded.wav) are scored with the same function.

RTF = conversion wall time / duration of the output (the sung reference's length).
One untimed conversion of the first pair runs first, so imports and numba JIT loading
are not timed. ``--cross-singer`` then runs the cross-singer section (benchmarks/cross_singer.py:
the same pairs with another register's voice as the reference, before and after the key logic).
Exit code: 0, or 2 when the pairs folder does not exist.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAIRS = ROOT.parent / "shared" / "data" / "sts-pairs"

OURS = "alignsts (ours, reference engine)"
PUBLISHED = [  # (file, system label)
    ("alignsts.wav", "alignsts (published paper model)"),
    ("svpt.wav", "svpt (published)"),
    ("sing_vocoded.wav", "sing_vocoded (HiFi-GAN ceiling)"),
]
README_SYSTEM = {"alignsts.wav": "alignsts", "sing_vocoded.wav": "sing_vocoded", "svpt.wav": "svpt"}
METRICS = ("rca", "f0_rmse_cents", "lsd", "rrd", "mcd")

TARGET_RCA = 0.95
TARGET_RTF = 0.2


def find_pairs(pairs_dir: Path) -> list[Path]:
    return sorted(p for p in pairs_dir.iterdir()
                  if p.is_dir() and (p / "speech.wav").is_file() and (p / "sing.wav").is_file())


def readme_scores(pairs_dir: Path) -> dict[tuple[str, str], tuple[float, ...]]:
    """Published reference scores from the README table: (pair, system) -> (rca, rmse, lsd, rrd)."""
    out = {}
    readme = pairs_dir / "README.md"
    if not readme.is_file():
        return out
    row = re.compile(r"^\|\s*([\w-]+)\s*\|\s*([\w_]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|"
                     r"\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*$")
    for line in readme.read_text(encoding="utf-8", errors="replace").splitlines():
        m = row.match(line.strip())
        if m:
            out[(m.group(1), m.group(2))] = tuple(float(v) for v in m.groups()[2:])
    return out


def fmt(v, spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def row_cells(pair: str, system: str, s: dict | None, rtf: float | None, note: str = "") -> str:
    if s is None:
        cells = ["-"] * 5
    else:
        cells = [fmt(s["rca"], ".3f"), fmt(s["f0_rmse_cents"], ".0f"), fmt(s["lsd"], ".2f"),
                 fmt(s["rrd"], ".2f"), fmt(s["mcd"], ".2f")]
    return "| " + " | ".join([pair, system + note] + cells + [fmt(rtf, ".3f")]) + " |"


def mean_scores(rows: list[dict]) -> dict:
    out = {}
    for k in METRICS:
        vals = [r[k] for r in rows if r.get(k) is not None and not math.isnan(r[k])]
        out[k] = sum(vals) / len(vals) if vals else None
    return out


def write_results(out_dir: Path, payload: dict, header: str, lines: list[str]) -> None:
    """results.json (the numbers) and results.md (the table) in ``out_dir``."""
    (out_dir / "results.json").write_text(json.dumps(payload, indent=2))
    (out_dir / "results.md").write_text(header + "\n" + "\n".join(lines) + "\n")
    print(f"\nwrote outputs, results.json and results.md to {out_dir}")


def pairs_or_none(pairs_dir: Path):
    """The pair folders, or None after printing one line when there are none."""
    if not pairs_dir.is_dir():
        print(f"pairs folder not found: {pairs_dir}")
        return None
    pairs = find_pairs(pairs_dir)
    if not pairs:
        print(f"no pair folders (with speech.wav and sing.wav) in {pairs_dir}")
        return None
    return pairs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="also write <pair>.wav outputs, results.json and results.md here")
    ap.add_argument("--no-mcd", action="store_true", help="skip MCD (the slowest metric)")
    ap.add_argument("--cross-singer", action="store_true",
                    help="also run the cross-singer section (benchmarks/cross_singer.py --baseline)")
    args = ap.parse_args(argv)

    pairs = pairs_or_none(args.pairs_dir)
    if pairs is None:
        return 2

    import numpy as np

    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.engines import reference
    from alignsts.eval import metrics

    with_mcd = not args.no_mcd
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)

    def load(p: Path) -> np.ndarray:
        return io.load(p, fe.SAMPLE_RATE)

    def score(ref, est) -> dict:
        s = metrics.score(ref, est, with_mcd=with_mcd)
        return {k: (None if getattr(s, k) is None else float(getattr(s, k))) for k in METRICS}

    # untimed warm-up: imports, numba cache loading, first-call costs
    t0 = time.perf_counter()
    reference.convert(load(pairs[0] / "speech.wav"), load(pairs[0] / "sing.wav"), reference.ReferenceConfig())
    warmup = time.perf_counter() - t0

    results = []       # one dict per (pair, system)
    stage_time: dict[str, float] = {}
    lines = []
    for pair_dir in pairs:
        pair = pair_dir.name
        speech = load(pair_dir / "speech.wav")
        sing = load(pair_dir / "sing.wav")

        marks: list[tuple[str, float]] = []

        def progress(stage, frac, _marks=marks):
            if not _marks or _marks[-1][0] != stage:
                _marks.append((stage, time.perf_counter()))

        err = None
        t0 = time.perf_counter()
        try:
            out, _ = reference.convert(speech, sing, reference.ReferenceConfig(), progress=progress)
        except Exception as e:  # keep going: a benchmark reports, it does not stop
            out, err = None, f"{type(e).__name__}: {e}"
        elapsed = time.perf_counter() - t0
        marks.append(("end", t0 + elapsed))
        for (name, a), (_, b) in zip(marks[:-1], marks[1:]):
            if name != "done":
                stage_time[name] = stage_time.get(name, 0.0) + (b - a)

        dur = len(sing) / fe.SAMPLE_RATE
        if err is not None:
            rec = {"pair": pair, "system": "ours", "error": err}
            results.append(rec)
            lines.append(row_cells(pair, OURS, None, None, f" (FAILED: {err})"))
        else:
            rec = {"pair": pair, "system": "ours", "seconds": elapsed, "duration": dur,
                   "rtf": elapsed / dur, **score(sing, out)}
            results.append(rec)
            lines.append(row_cells(pair, OURS, rec, rec["rtf"]))
            if args.out_dir is not None:
                io.write_audio(args.out_dir / f"{pair}.wav", out, fe.SAMPLE_RATE)

        for fname, label in PUBLISHED:
            f = pair_dir / fname
            if not f.is_file():
                continue
            est = load(f)
            prec = {"pair": pair, "system": fname[:-4], "duration": len(est) / fe.SAMPLE_RATE,
                    **score(sing, est)}
            results.append(prec)
            note = ""
            if len(est) < 0.98 * len(sing):
                note = f" [first {len(est) / fe.SAMPLE_RATE:.1f} s]"
            lines.append(row_cells(pair, label, prec, None, note))
            # ours over the same span as a shorter published output, for a like-for-like comparison
            if fname == "alignsts.wav" and out is not None:
                if len(est) < 0.98 * min(len(out), len(sing)):
                    rec["clipped_to_alignsts"] = score(sing, out[: len(est)])
                    rec["clipped_seconds"] = len(est) / fe.SAMPLE_RATE
                else:
                    rec["clipped_to_alignsts"] = {k: rec[k] for k in METRICS}

    print(f"# Reference engine on {len(pairs)} real pairs ({args.pairs_dir})")
    print()
    print(f"warm-up conversion of {pairs[0].name} (untimed in the table): {warmup:.2f} s")
    print("RTF = conversion wall time / output duration; scores against sing.wav, 24 kHz, "
          "frames compared in place; MCD after DTW" + (" (skipped: --no-mcd)" if not with_mcd else ""))
    print()
    print("| pair | system | RCA | F0 RMSE (c) | LSD | RRD | MCD | RTF |")
    print("|---|---|---|---|---|---|---|---|")
    for ln in lines:
        print(ln)

    # --- summary ---
    ours = [r for r in results if r["system"] == "ours" and "error" not in r]
    ours_en = [r for r in ours if r["pair"].startswith("en-")]
    pub = {r["pair"]: r for r in results if r["system"] == "alignsts"}
    pub_pairs = sorted(pub)
    ours_on_pub = [r for r in ours if r["pair"] in pub]
    en_pub = [p for p in pub_pairs if p.startswith("en-")]
    ours_on_pub_en_clipped = [r["clipped_to_alignsts"] for r in ours_on_pub
                              if r["pair"] in en_pub and "clipped_to_alignsts" in r]
    pub_en = [pub[p] for p in en_pub]

    def srow(label: str, rows: list[dict]) -> str:
        return row_cells(label, f"n={len(rows)}", mean_scores(rows), None) if rows else \
            row_cells(label, "n=0", None, None)

    print()
    print("## Summary (means)")
    print()
    print("| set | pairs | RCA | F0 RMSE (c) | LSD | RRD | MCD | RTF |")
    print("|---|---|---|---|---|---|---|---|")
    mean_rtf_en = sum(r["rtf"] for r in ours_en) / len(ours_en) if ours_en else None
    mean_rtf_all = sum(r["rtf"] for r in ours) / len(ours) if ours else None
    m_en = mean_scores(ours_en)
    m_all = mean_scores(ours)
    print(row_cells("ours, English (en-*)", f"n={len(ours_en)}", m_en if ours_en else None, mean_rtf_en))
    print(srow("published AlignSTS, English (same pairs)", pub_en))
    if any(r.get("clipped_seconds") for r in ours_on_pub):
        print(srow("ours, English, over the published outputs' span", ours_on_pub_en_clipped))
    print(row_cells("ours, all pairs", f"n={len(ours)}", m_all if ours else None, mean_rtf_all))
    if {r["pair"] for r in ours_on_pub} != {r["pair"] for r in ours_en}:
        print(srow("ours, pairs with published AlignSTS", ours_on_pub))
        print(srow("published AlignSTS, all its pairs", [pub[p] for p in pub_pairs]))
    for r in ours_on_pub:
        if r.get("clipped_seconds"):
            print(f"\nnote: {r['pair']} alignsts.wav covers only the first {r['clipped_seconds']:.1f} s of "
                  f"sing.wav; 'over the published outputs' span' scores ours over that span too.")

    if ours:
        worst = min(ours, key=lambda r: r["rca"] if not math.isnan(r["rca"]) else -1)
        max_rtf = max(ours, key=lambda r: r["rtf"])
        total_audio = sum(r["duration"] for r in ours)
        total_time = sum(r["seconds"] for r in ours)
        print()
        print(f"min RCA (ours): {worst['rca']:.3f} ({worst['pair']})")
        print(f"RTF (ours): mean {mean_rtf_all:.3f}, max {max_rtf['rtf']:.3f} ({max_rtf['pair']}), "
              f"overall {total_time:.2f} s for {total_audio:.1f} s of output = {total_time / total_audio:.3f}")
        if stage_time:
            tot = sum(stage_time.values())
            parts = ", ".join(f"{k} {v:.2f} s ({100 * v / tot:.0f}%)" for k, v in stage_time.items())
            print(f"conversion time by stage (all pairs): {parts}")

    # --- metric sanity: our scoring of the published files vs the README's reference table ---
    ref_table = readme_scores(args.pairs_dir)
    checks_ref = []
    for r in results:
        key = (r["pair"], r["system"])
        if r["system"] != "ours" and key in ref_table:
            want = ref_table[key]
            got = (r["rca"], r["f0_rmse_cents"], r["lsd"], r["rrd"])
            checks_ref.append((key, want, got))
    if checks_ref:
        print()
        print("## Metric sanity: published files re-scored here vs the README's reference table")
        print()
        print("| pair | system | RCA here/README | F0 RMSE here/README | LSD here/README | RRD here/README |")
        print("|---|---|---|---|---|---|")
        for (pair, system), want, got in checks_ref:
            cells = [f"{fmt(g, '.3f')} / {w:.3f}" if i == 0 else f"{fmt(g, '.2f')} / {w:g}"
                     for i, (g, w) in enumerate(zip(got, want))]
            print(f"| {pair} | {system} | " + " | ".join(cells) + " |")

    # --- targets ---
    print()
    print("## Targets")
    print()
    failed_pairs = [r["pair"] for r in results if r["system"] == "ours" and "error" in r]
    low = [f"{r['pair']} {r['rca']:.3f}" for r in ours if not (r["rca"] >= TARGET_RCA)]
    ok = bool(ours) and not low and not failed_pairs
    detail = f"min {worst['rca']:.3f} ({worst['pair']})" if ours else "no successful conversion"
    if low:
        detail += "; below: " + ", ".join(low)
    if failed_pairs:
        detail += "; conversion failed: " + ", ".join(failed_pairs)
    print(f"{'PASS' if ok else 'FAIL'}  RCA >= {TARGET_RCA} on every pair: {detail}")

    pub_en_mean = mean_scores(pub_en) if pub_en else None
    ours_en_same = mean_scores([r for r in ours_en if r["pair"] in pub]) if pub_en else None
    clip_mean = mean_scores(ours_on_pub_en_clipped) if ours_on_pub_en_clipped else None
    for key, name in (("lsd", "LSD"), ("rrd", "RRD")):
        if not pub_en or not ours_en_same or ours_en_same[key] is None:
            print(f"FAIL  English mean {name} < published AlignSTS mean {name}: no data")
            continue
        a, b = ours_en_same[key], pub_en_mean[key]
        line = f"{'PASS' if a < b else 'FAIL'}  English mean {name} < published AlignSTS mean {name}: " \
               f"{a:.2f} vs {b:.2f} (n={len(pub_en)})"
        if clip_mean is not None and any(r.get("clipped_seconds") for r in ours_on_pub):
            c = clip_mean[key]
            line += f"; over the published outputs' span: {c:.2f} vs {b:.2f} ({'PASS' if c < b else 'FAIL'})"
        print(line)
    if ours:
        ok = max_rtf["rtf"] <= TARGET_RTF and not failed_pairs
        print(f"{'PASS' if ok else 'FAIL'}  RTF <= {TARGET_RTF}: max {max_rtf['rtf']:.3f} ({max_rtf['pair']}), "
              f"mean {mean_rtf_all:.3f}")
    else:
        print(f"FAIL  RTF <= {TARGET_RTF}: no successful conversion")

    if args.out_dir is not None:
        write_results(args.out_dir, {"pairs_dir": str(args.pairs_dir), "with_mcd": with_mcd,
                                     "warmup_seconds": warmup, "stage_seconds": stage_time, "results": results},
                      "| pair | system | RCA | F0 RMSE (c) | LSD | RRD | MCD | RTF |\n|---|---|---|---|---|---|---|---|",
                      lines)
    if args.cross_singer:
        import cross_singer   # beside this file (it imports from this module: imported late)

        print()
        return cross_singer.main(["--pairs-dir", str(args.pairs_dir), "--baseline", "--identity"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
