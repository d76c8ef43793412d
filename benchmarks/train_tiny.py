"""The tiny acoustic model trained on the CPU on the seven real pairs of ../shared/data/sts-pairs:
prepare (manifest -> features), train, and the loss curve as a PNG.

    python benchmarks/train_tiny.py [--steps 600] [--work /tmp/alignsts_train_tiny] [--png docs/training_tiny_loss.png]

Content is the log mel of the monotone speech (no wav2vec2 weights here), no speaker embedding
(the tiny model is 32 wide), zh-svpt-7 held out for validation. Prints a table of the loss at
the start and end, the validation losses, steps/s and peak RSS; writes the curve to --png.
"""
from __future__ import annotations

import argparse
import csv
import logging
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the pair-folder helpers of the reference-engine benchmark (same folder; import has no side effects)
from reference_pairs import DEFAULT_PAIRS, pairs_or_none  # noqa: E402


def write_manifest(path: Path, pairs: list[Path]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["speech_path", "singing_path", "speaker"])
        for d in pairs:
            w.writerow([str(d / "speech.wav"), str(d / "sing.wav"), d.name])


def plot(history, valid, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [s for s, _ in history]
    ax.plot(steps, [v["total"] for _, v in history], label="train total")
    ax.plot(steps, [v["l1"] / 0.5 for _, v in history], label="train mel L1")
    if valid:
        ax.plot([r["step"] for r in valid], [r["l1"] / 0.5 for r in valid], "o-", label="valid mel L1 (teacher-forced)")
        ax.plot([r["step"] for r in valid], [r["infer_mel_l1"] for r in valid], "s--", label="valid mel L1 (inference)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log10 mel units)")
    ax.set_title("tiny AlignSTS on 6 real pairs (CPU)")
    ax.legend()
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)


def main() -> int:
    import json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--work", default="/tmp/alignsts_train_tiny")
    ap.add_argument("--png", default=str(ROOT / "docs" / "training_tiny_loss.png"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    args = ap.parse_args()
    pairs = pairs_or_none(args.pairs_dir)
    if pairs is None:
        return 2
    logging.basicConfig(level=logging.WARNING)
    from alignsts.data.prepare import PrepareConfig, prepare
    from alignsts.train.acoustic import train_acoustic
    from alignsts.train.config import load_acoustic_config

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    write_manifest(work / "pairs.csv", pairs)
    t = time.perf_counter()
    report = prepare(PrepareConfig(corpus="manifest", source=work / "pairs.csv", out=work / "data", speaker="none",
                                   workers=2, valid_groups=["zh-svpt-7"], test_groups=[]), progress=False)
    prep_s = time.perf_counter() - t
    run = work / "run"
    shutil.rmtree(run, ignore_errors=True)
    cfg = load_acoustic_config(ROOT / "configs" / "alignsts_tiny.yaml")
    cfg.max_frames, cfg.batch_frames, cfg.log_every, cfg.valid_every = 3200, 3200, 10, 100
    cfg.ckpt_every, cfg.threads, cfg.valid_plots = 10 ** 9, args.threads, 1
    t = time.perf_counter()
    res = train_acoustic(cfg, work / "data", run, steps=args.steps)
    train_s = time.perf_counter() - t
    valid = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    valid = [r for r in valid if r["split"] == "valid"]
    hist = res["history"]
    plot(hist, valid, Path(args.png))
    print(f"prepare: {report.summary()} ({prep_s:.1f} s)")
    print("\n| what | value |\n|---|---|")
    rows = [("steps", args.steps), ("train items", report.counts["train"].packed),
            ("train total loss, first / last logged", f"{hist[0][1]['total']:.3f} / {hist[-1][1]['total']:.3f}"),
            ("train mel L1, first / last logged", f"{hist[0][1]['l1'] / 0.5:.3f} / {hist[-1][1]['l1'] / 0.5:.3f}"),
            ("valid mel L1 teacher-forced, first / last", f"{valid[0]['l1'] / 0.5:.3f} / {valid[-1]['l1'] / 0.5:.3f}"),
            ("valid mel L1 inference, first / last", f"{valid[0]['infer_mel_l1']:.3f} / {valid[-1]['infer_mel_l1']:.3f}"),
            ("steps/s (mean)", f"{args.steps / train_s:.2f}"),
            ("peak RSS", f"{max(v['peak_rss_mb'] for _, v in hist):.0f} MB"),
            ("curve", args.png)]
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
