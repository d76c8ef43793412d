#!/usr/bin/env python
"""Quality and speed of the score engine on the real speech/singing pairs (melody from sing.wav).

    python benchmarks/score_pairs.py [--pairs-dir DIR] [--out-dir DIR] [--no-mcd]
                                     [--expression {auto,on,off}] [--part {all,pairs,targets}]

``--part targets`` runs only issue 11's targets (timeline, voicing, level, words on notes;
see score_targets.py); ``--part pairs`` only the table below.

For every pair folder (speech.wav + sing.wav, see ../shared/data/sts-pairs/README.md) the
notes of sing.wav are transcribed with ``alignsts.melody.sources.from_recording`` (its notes
only, not its words or its performed F0), the speech is sung to those notes with
``alignsts.engines.score.convert`` (default ScoreConfig; --expression on/off overrides
``ScoreConfig().expression.expression``), and the output is scored against sing.wav with
``alignsts.eval.metrics.score``. The published AlignSTS scores (README table of the pairs
folder) are shown for the English pairs.

Only the conversion is timed (not loading or transcription); RTF = conversion wall time /
duration of the output. One untimed transcription + conversion of the first pair runs first,
so imports and numba JIT loading are not timed. Exit code: 0, or 2 when the pairs folder
does not exist.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

# shared helpers of the reference-engine benchmark (same folder; import has no side effects)
from reference_pairs import DEFAULT_PAIRS, METRICS, fmt, mean_scores, pairs_or_none, readme_scores, write_results

TARGET_RCA = 0.85
TARGET_RRD_RATIO = 1.25    # ours within 25% of published AlignSTS (English mean)
TARGET_RTF = 0.2
EXPRESSION = {"default": None, "on": True, "off": False}
HEADER = ("| pair | syllables | notes | groups | RCA | F0 RMSE (c) | LSD | RRD | MCD | RTF |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def row_cells(lead: list, s: dict | None, rtf: float | None) -> str:
    """A table row: the leading cells, then the metrics of ``s`` and the RTF."""
    cells = ["-"] * 5 if s is None else [
        fmt(s.get("rca"), ".3f"), fmt(s.get("f0_rmse_cents"), ".0f"), fmt(s.get("lsd"), ".2f"),
        fmt(s.get("rrd"), ".2f"), fmt(s.get("mcd"), ".2f")]
    return "| " + " | ".join([str(c) for c in lead] + cells + [fmt(rtf, ".3f")]) + " |"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="also write <pair>.wav outputs, results.json and results.md here")
    ap.add_argument("--no-mcd", action="store_true", help="skip MCD (the slowest metric)")
    ap.add_argument("--melody", choices=["notes", "contour"], default="notes",
                    help="notes: sing the transcribed notes only (default, the issue's protocol); "
                         "contour: sing sing.wav's performed pitch contour on the notes' rhythm")
    ap.add_argument("--expression", choices=sorted(EXPRESSION), default="default",
                    help="expressive F0 (overshoot, preparation, vibrato) for notes: default = the config's (on)")
    ap.add_argument("--part", choices=["all", "pairs", "targets"], default="all",
                    help="pairs: the table against sing.wav; targets: issue 11's targets; all: both")
    args = ap.parse_args(argv)

    pairs = pairs_or_none(args.pairs_dir)
    if pairs is None:
        return 2
    if args.part in ("all", "targets"):
        print_targets(args.pairs_dir, pairs)
        if args.part == "targets":
            return 0
        print()

    import logging

    import numpy as np

    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.engines import score as engine
    from alignsts.eval import metrics
    from alignsts.melody import sources

    logging.getLogger("alignsts").setLevel(logging.ERROR)   # grouping messages go in the table
    sr = fe.SAMPLE_RATE
    with_mcd = not args.no_mcd
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)

    def config() -> engine.ScoreConfig:
        cfg = engine.ScoreConfig()
        if EXPRESSION[args.expression] is not None:
            cfg.expression.expression = EXPRESSION[args.expression]
        return cfg

    def load(p: Path) -> np.ndarray:
        return io.load(p, sr)

    # untimed warm-up: imports, numba cache loading, first-call costs
    t0 = time.perf_counter()
    engine.convert(load(pairs[0] / "speech.wav"),
                   sources.from_recording(load(pairs[0] / "sing.wav"), contour=args.melody == "contour"),
                   config())
    warmup = time.perf_counter() - t0

    published = readme_scores(args.pairs_dir)   # (pair, system) -> (rca, rmse, lsd, rrd)
    results, lines = [], []
    for pair_dir in pairs:
        pair = pair_dir.name
        speech, sing = load(pair_dir / "speech.wav"), load(pair_dir / "sing.wav")
        rec: dict = {"pair": pair}
        try:
            melody = sources.from_recording(sing, where=f"{pair}/sing.wav", contour=args.melody == "contour")
            t0 = time.perf_counter()
            out, an = engine.convert(speech, melody, config())
            elapsed = time.perf_counter() - t0
        except Exception as e:  # keep going: a benchmark reports, it does not stop
            rec["error"] = f"{type(e).__name__}: {e}"
            results.append(rec)
            lines.append(row_cells([pair, "-", "-", f"FAILED: {rec['error']}"], None, None))
            continue
        s = metrics.score(sing, out, with_mcd=with_mcd)
        rec.update(syllables=len(an.syllables), notes=len(an.notes), groups=an.message or "1:1",
                   transpose=float(an.transpose), seconds=elapsed, duration=len(out) / sr,
                   rtf=elapsed / (len(out) / sr),
                   **{k: (None if getattr(s, k) is None else float(getattr(s, k))) for k in METRICS})
        pub_file = pair_dir / "alignsts.wav"
        if pub_file.is_file():   # RRD sums over frames: also score ours over the published output's span
            import soundfile as sf

            info = sf.info(str(pub_file))
            n = min(int(round(info.frames * sr / info.samplerate)), len(out), len(sing))
            if n < 0.98 * min(len(out), len(sing)):
                rec["rrd_over_published_span"] = metrics.rrd(sing[:n], out[:n])
                rec["published_span_s"] = n / sr
        results.append(rec)
        lines.append(row_cells([pair, rec["syllables"], rec["notes"], rec["groups"]], rec, rec["rtf"]))
        if (pair, "alignsts") in published:
            p = dict(zip(("rca", "f0_rmse_cents", "lsd", "rrd"), published[(pair, "alignsts")]))
            lines.append(row_cells([f"{pair} (published AlignSTS)", "", "", ""], p, None))
        if args.out_dir is not None:
            io.write_audio(args.out_dir / f"{pair}.wav", out, sr)

    ok_rows = [r for r in results if "error" not in r]
    failed = [r["pair"] for r in results if "error" in r]
    en = [r for r in ok_rows if r["pair"].startswith("en-")]
    pub = {p: dict(zip(("rca", "f0_rmse_cents", "lsd", "rrd"), v))
           for (p, system), v in published.items() if system == "alignsts" and p.startswith("en-")}
    en_pub = [r for r in en if r["pair"] in pub]

    def mean(rows: list[dict], key: str):
        vals = [r[key] for r in rows if r.get(key) is not None and not math.isnan(r[key])]
        return sum(vals) / len(vals) if vals else None

    print(f"# Score engine on {len(pairs)} real pairs ({args.pairs_dir})")
    print()
    print(f"melody: sing.wav transcribed (sources.from_recording), sung as its {args.melody}; ScoreConfig() defaults, "
          f"expression={args.expression}")
    print(f"warm-up transcription + conversion of {pairs[0].name} (untimed): {warmup:.2f} s")
    print("RTF = conversion wall time / output duration; scores against sing.wav, 24 kHz, frames compared "
          "in place; MCD after DTW" + (" (skipped: --no-mcd)" if not with_mcd else ""))
    print()
    print(HEADER)
    for ln in lines:
        print(ln)

    print()
    print("## Summary (means)")
    print()
    print("| set | pairs | RCA | F0 RMSE (c) | LSD | RRD | MCD | RTF |\n|---|---|---|---|---|---|---|---|")

    def summary_row(label: str, rows: list[dict], rtf) -> str:
        return row_cells([label, f"n={len(rows)}"], mean_scores(rows) if rows else None, rtf)

    print(summary_row("ours, English (en-*)", en, mean(en, "rtf")))
    print(summary_row("published AlignSTS, English", list(pub.values()), None))
    print(summary_row("ours, all pairs", ok_rows, mean(ok_rows, "rtf")))

    print()
    print("## Targets")
    print()
    if ok_rows:
        worst = min(ok_rows, key=lambda r: r["rca"] if not math.isnan(r["rca"]) else -1)
        m_rca = mean(ok_rows, "rca")
        low = [f"{r['pair']} {r['rca']:.3f}" for r in ok_rows if not (r["rca"] >= TARGET_RCA)]
        ok = m_rca is not None and m_rca >= TARGET_RCA and not low and not failed
        detail = f"mean {fmt(m_rca, '.3f')}, min {worst['rca']:.3f} ({worst['pair']})"
        detail += ("; below: " + ", ".join(low)) if low else ""
    else:
        ok, detail = False, "no successful conversion"
    detail += ("; conversion failed: " + ", ".join(failed)) if failed else ""
    print(f"{'PASS' if ok else 'FAIL'}  RCA >= {TARGET_RCA} (mean over pairs, and on every pair): {detail}")

    label = (f"RRD within {100 * (TARGET_RRD_RATIO - 1):.0f}% of published AlignSTS "
             "on the English pairs (mean)")
    if en_pub and len(en_pub) == len(pub):
        a, b = mean(en_pub, "rrd"), mean(list(pub.values()), "rrd")
        line = (f"{'PASS' if a <= TARGET_RRD_RATIO * b else 'FAIL'}  {label}: {a:.2f} vs {b:.2f} "
                f"(ratio {a / b:.2f}, limit {TARGET_RRD_RATIO * b:.2f}, n={len(pub)})")
        clipped = [r for r in en_pub if "rrd_over_published_span" in r]
        if clipped:
            c = mean([{"rrd": r.get("rrd_over_published_span", r["rrd"])} for r in en_pub], "rrd")
            spans = ", ".join(f"{r['pair']} first {r['published_span_s']:.1f} s" for r in clipped)
            line += (f"; over the published outputs' span ({spans}): {c:.2f} "
                     f"(ratio {c / b:.2f}, {'PASS' if c <= TARGET_RRD_RATIO * b else 'FAIL'})")
        print(line)
    else:
        missing = sorted(set(pub) - {r["pair"] for r in en_pub}) or ["no published scores"]
        print(f"FAIL  {label}: no data for {', '.join(missing)}")

    if ok_rows:
        max_rtf = max(ok_rows, key=lambda r: r["rtf"])
        ok = max_rtf["rtf"] <= TARGET_RTF and not failed
        print(f"{'PASS' if ok else 'FAIL'}  RTF <= {TARGET_RTF}: "
              f"max {max_rtf['rtf']:.3f} ({max_rtf['pair']}), mean {mean(ok_rows, 'rtf'):.3f}")
    else:
        print(f"FAIL  RTF <= {TARGET_RTF}: no successful conversion")

    if args.out_dir is not None:
        write_results(args.out_dir, {"pairs_dir": str(args.pairs_dir), "expression": args.expression,
                                     "with_mcd": with_mcd, "warmup_seconds": warmup, "results": results,
                                     "published_alignsts": pub}, HEADER, lines)
    return 0


def print_targets(pairs_dir: Path, pairs: list[Path]) -> None:
    """Issue 11's targets: the timeline, voicing and level on MIDIs of the sung melodies of the
    English pairs (with their README lyrics and without words), and words on notes."""
    import logging

    import score_targets as st

    logging.getLogger("alignsts").setLevel(logging.ERROR)
    lyrics = st.readme_lyrics(pairs_dir)
    rows = st.midi_pairs(pairs, lyrics)
    print("# Score engine targets (issue 11)")
    print()
    print("MIDI = sing.wav transcribed (notes only) and written as MIDI; api.convert(speech, midi=..., "
          "transpose=0[, lyrics=README lyrics]); default settings (loudness -16 LUFS, peak <= -1 dBFS)")
    print()
    print("| pair | words | notes | syllables | mapping | lag (ms) | RCA at lag 0 | voiced note frames | peak dBFS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['pair']} | {r['words']} | FAILED: {r['error']} |||||||")
            continue
        mapping = "aligned to lyrics" if r["aligned"] else ("score's (count-matched)" if r.get("mapped") else r["groups"])
        print(f"| {r['pair']} | {r['words']} | {r['notes']} | {r['syllables']} | {mapping} | {r['lag_ms']:+.1f} | "
              f"{r['rca0']:.3f} | {r['voiced']:.3f} | {r['peak_dbfs']:.1f} |")
    ok_rows = [r for r in rows if "error" not in r]
    print()

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    if ok_rows:
        worst_lag = max(ok_rows, key=lambda r: abs(r["lag_ms"]))
        worst_rca = min(ok_rows, key=lambda r: r["rca0"])
        worst_voiced = min(ok_rows, key=lambda r: r["voiced"])
        peaks = [r["peak_dbfs"] for r in ok_rows]
        lo, hi = st.TARGET_PEAK
        failed = len(rows) - len(ok_rows)
        print(f"{verdict(abs(worst_lag['lag_ms']) <= st.TARGET_LAG_MS and not failed)}  timeline lag within "
              f"+-{st.TARGET_LAG_MS:.0f} ms: worst {worst_lag['lag_ms']:+.1f} ms ({worst_lag['pair']}, {worst_lag['words']})")
        print(f"{verdict(worst_rca['rca0'] >= st.TARGET_RCA and not failed)}  chroma accuracy at lag 0 >= "
              f"{st.TARGET_RCA}: min {worst_rca['rca0']:.3f} ({worst_rca['pair']}, {worst_rca['words']})")
        print(f"{verdict(worst_voiced['voiced'] >= st.TARGET_VOICED and not failed)}  voiced on >= "
              f"{st.TARGET_VOICED} of note frames: min {worst_voiced['voiced']:.3f} ({worst_voiced['pair']}, "
              f"{worst_voiced['words']})")
        print(f"{verdict(all(lo <= p <= hi for p in peaks) and not failed)}  peak between {lo:g} and {hi:g} dBFS: "
              f"{min(peaks):.1f} .. {max(peaks):.1f}")
    else:
        print("FAIL  no conversion succeeded")
    words = st.words_on_notes()
    if words is None:
        print("SKIP  words on notes: festival is not installed (make sysdeps)")
    else:
        how = "speech aligned to the lyrics" if words["aligned"] else \
            f"{words['syllables']} syllables found without text" + (", the score's mapping" if words["mapped"] else ", DP")
        print(f"{verdict(words['right'] >= st.TARGET_WORDS and words['order_kept'])}  syllables on the right notes "
              f">= {st.TARGET_WORDS} of {words['notes']} ('Mary had a little lamb', festival, {how}): "
              f"{words['right']} of {words['notes']}, order within words {'kept' if words['order_kept'] else 'BROKEN'}"
              f" [{words['detail']}]")


if __name__ == "__main__":
    sys.exit(main())
