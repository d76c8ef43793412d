"""Command line for building and judging models: ``alignsts import-official``, ``prepare``,
``train``, ``train-vocoder`` and ``evaluate`` (thin layers over models.official, data.prepare,
train and eval)."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("alignsts")


def add_commands(sub, verbosity: argparse.ArgumentParser) -> None:
    """The five commands' parsers on the ``sub`` subparsers (``verbosity``: the -q/-v parent)."""
    imp = sub.add_parser("import-official", parents=[verbosity],
                         help="rewrite an official AlignSTS or HiFi-GAN folder as model.safetensors + config.yaml")
    imp.add_argument("src", help="official folder (config.yaml + model_ckpt_steps_*.ckpt, or config.json + generator_v1)")
    imp.add_argument("dst", help="new folder to create")
    imp.add_argument("--trust-checkpoint", action="store_true",
                     help="allow checkpoints that hold Python objects (unpickling can run code)")

    pr = sub.add_parser("prepare", parents=[verbosity], help="compute training features of a corpus",
                        description="Compute the features the acoustic model and the vocoder train on, for every "
                                    "speech/singing pair of a corpus, in worker processes; resumable (finished "
                                    "items are kept). Writes OUT/{train,valid,test}/, stats.json, problems.txt.")
    pr.add_argument("--corpus", choices=["popbutfy", "nhss", "manifest"], default="popbutfy")
    pr.add_argument("source", nargs="?", help="corpus folder (or, with --manifest, unused)")
    pr.add_argument("--manifest", metavar="CSV", help="CSV with speech_path,singing_path,speaker[,text]")
    pr.add_argument("--out", required=True, help="output folder")
    pr.add_argument("--content-model", metavar="DIR",
                    help="local wav2vec2-base-960h folder: content = its CTC logits (as the official model); "
                         "default: the log mel of the monotone speech")
    pr.add_argument("--speaker-embedding", choices=["resemblyzer", "none"], default="resemblyzer")
    pr.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count)")
    pr.add_argument("--split-by", choices=["speaker", "song"], default="speaker")
    pr.add_argument("--valid", type=float, default=0.1, help="fraction of speakers/songs for validation")
    pr.add_argument("--test", type=float, default=0.1, help="fraction of speakers/songs for test")
    pr.add_argument("--valid-groups", nargs="+", metavar="NAME", help="these speakers/songs are the valid split")
    pr.add_argument("--test-groups", nargs="+", metavar="NAME", help="these speakers/songs are the test split")
    pr.add_argument("--max-seconds", type=float, default=None, help="leave out (and report) longer pairs")
    pr.add_argument("--seed", type=int, default=0)

    for name, what, default_cfg in (("train", "the AlignSTS acoustic model", "configs/alignsts.yaml"),
                                    ("train-vocoder", "the NSF HiFi-GAN vocoder", "configs/hifigan.yaml")):
        t = sub.add_parser(name, parents=[verbosity], help=f"train {what} (resumes a run folder)",
                           description=f"Train {what} on prepared data. Run the same command again to resume "
                                       f"exactly where it stopped; Ctrl-C / SIGTERM stop after writing a "
                                       f"checkpoint. Under torchrun every process trains one share of each "
                                       f"step (DistributedDataParallel; NCCL on GPUs, gloo on the CPU).")
        t.add_argument("--config", required=True, help=f"training YAML (e.g. {default_cfg})")
        t.add_argument("--data", required=True, help="folder written by `alignsts prepare`")
        t.add_argument("--run", required=True, help="run folder: checkpoints, tb/, metrics.jsonl")
        t.add_argument("--steps", type=int, default=None, help="train to this step (default: the config's)")
        t.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)

    e = sub.add_parser("evaluate", parents=[verbosity], help="score outputs against target singing",
                       description="Score OUTPUT against the TARGET singing (or every row of --pairs): RCA, RPA, "
                                   "F0 RMSE in cents, voicing F1, LSD, RRD, MCD after DTW and speaker similarity "
                                   "(Resemblyzer, when installed); frames compared in place at 24 kHz, hop 128, "
                                   "Praat F0, as the AlignSTS evaluation. Definitions: README, 'Evaluating outputs'.")
    e.add_argument("output", nargs="?", help="the recording to score (e.g. a converted output)")
    e.add_argument("target", nargs="?", help="the singing it should match (ground truth)")
    e.add_argument("--speech", help="the speech OUTPUT was made from (adds similarity to the speaker)")
    e.add_argument("--pairs", metavar="CSV", help="CSV with columns output,target[,speech] (paths relative to it)")
    e.add_argument("--json", metavar="FILE", help='write {"rows": [...], "mean": {...}} here')
    e.add_argument("--csv", metavar="FILE", help="write one line per pair here")
    e.add_argument("--plot", metavar="DIR", help="write a pitch overlay PNG per pair into this folder")
    e.add_argument("--no-mcd", action="store_true", help="skip MCD (the slowest metric)")
    e.add_argument("--speaker", choices=["auto", "on", "off"], default="auto",
                   help="speaker similarity: auto = when resemblyzer is installed (default)")


def cmd_import_official(args) -> int:
    from .models.official import import_official

    try:
        import torch  # noqa: F401
    except ImportError:
        from .errors import AlignSTSError

        raise AlignSTSError("import-official needs PyTorch: pip install 'alignsts[neural]'") from None
    out = import_official(args.src, args.dst, trust=args.trust_checkpoint)
    if not args.quiet:
        print(f"wrote {out}/model.safetensors and {out}/config.yaml")
    return 0


def cmd_prepare(args) -> int:
    from .data.prepare import PrepareConfig, prepare
    from .errors import AlignSTSError

    if args.corpus == "manifest" or args.manifest:
        corpus, source = "manifest", args.manifest or args.source
    else:
        corpus, source = args.corpus, args.source
    if not source:
        raise AlignSTSError("give the corpus folder (or --manifest CSV)")
    cfg = PrepareConfig(corpus=corpus, source=source, out=args.out, content_model=args.content_model,
                        speaker=args.speaker_embedding, split_by=args.split_by, valid=args.valid, test=args.test,
                        valid_groups=args.valid_groups, test_groups=args.test_groups, seed=args.seed,
                        max_seconds=args.max_seconds)
    if args.workers:
        cfg.workers = args.workers
    report = prepare(cfg, progress=not args.quiet)
    if not args.quiet:
        print(report.summary())
    return 0


def _training(args, vocoder: bool) -> int:
    from .errors import AlignSTSError

    try:
        import torch  # noqa: F401
    except ImportError:
        raise AlignSTSError("training needs PyTorch: pip install 'alignsts[neural,train]'") from None
    import os

    if os.environ.get("RANK", "0") != "0":   # torchrun: only the first process talks
        logging.getLogger("alignsts").setLevel(logging.WARNING)
    if vocoder:
        from .train.config import load_vocoder_config
        from .train.vocoder import train_vocoder as run
        cfg = load_vocoder_config(args.config)
    else:
        from .train.acoustic import train_acoustic as run
        from .train.config import load_acoustic_config
        cfg = load_acoustic_config(args.config)
    if args.device:
        cfg.device = args.device
    if args.run:   # the run folder's files never replace the training config (the one output check)
        from .paths import check_output

        for name in ("config.yaml", "best/config.yaml", "metrics.jsonl"):
            target = Path(args.run) / name
            if target.parent.is_dir():
                check_output(target, "run folder's " + name, {"--config": args.config})
    result = run(cfg, args.data, args.run, steps=args.steps)
    if not args.quiet and os.environ.get("RANK", "0") == "0":
        print(f"{result['run']}: step {result['step']} (best validation {result['best']['score']:.4f} "
              f"at step {result['best']['step']})")
    return 0


def cmd_train(args) -> int:
    return _training(args, vocoder=False)


def cmd_train_vocoder(args) -> int:
    return _training(args, vocoder=True)


def cmd_evaluate(args) -> int:
    from .errors import AlignSTSError
    from .eval import evaluate as ev

    if args.pairs and (args.output or args.target or args.speech):
        raise AlignSTSError("give either --pairs CSV or OUTPUT TARGET [--speech SPEECH], not both")
    if args.pairs:
        pairs = ev.read_pairs(args.pairs)
    elif args.output and args.target:
        pairs = [ev.Pair(Path(args.output), Path(args.target), Path(args.speech) if args.speech else None)]
    else:
        raise AlignSTSError("give OUTPUT TARGET (the recording to score and the singing it should match) or --pairs CSV")
    given = [args.pairs] if args.pairs else []
    json_path = ev.check_report_path(args.json, pairs, ".json", given) if args.json else None
    csv_path = ev.check_report_path(args.csv, pairs, ".csv", given) if args.csv else None
    import os

    if json_path and csv_path and os.path.realpath(json_path) == os.path.realpath(csv_path):
        raise AlignSTSError(f"{json_path}: the JSON and CSV reports would be the same file")
    options = ev.EvalOptions(mcd=not args.no_mcd, speaker=args.speaker,
                             plot_dir=Path(args.plot) if args.plot else None)

    def on_row(pair, row, error):
        if error is not None and len(pairs) > 1:   # one pair: its error is the command's error
            log.error("skipped: %s", error)
        else:
            log.info("scored %s", pair.output)

    report = ev.evaluate(pairs, options, on_row=on_row)
    if report.failures and not report.rows and len(pairs) == 1:
        raise AlignSTSError(report.failures[0][1])
    if not args.quiet and report.rows:
        print(ev.format_table(report))
    if json_path:
        ev.write_json(report, json_path)
    if csv_path:
        ev.write_csv(report, csv_path)
    if report.failures:
        log.error("%d of %d pairs could not be scored", len(report.failures), len(pairs))
        return 1
    return 0


COMMANDS = {"import-official": cmd_import_official, "prepare": cmd_prepare, "train": cmd_train,
            "train-vocoder": cmd_train_vocoder, "evaluate": cmd_evaluate}
