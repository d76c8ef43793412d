"""Command line: ``alignsts convert`` and ``alignsts demo`` (a thin layer over alignsts.api)."""
from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from pathlib import Path

from . import __version__, cli_range

log = logging.getLogger("alignsts")


def _transpose(value: str):
    from .validate import TRANSPOSE_WORDS, transpose

    if value.strip().lower() in TRANSPOSE_WORDS:
        return value.strip().lower()
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {' or '.join(map(repr, TRANSPOSE_WORDS))} or semitones, "
                                         f"got {value!r}") from None


def _formant(value: str) -> float:
    from .audio.world import check_formant
    from .errors import AlignSTSError

    try:
        return check_formant(value)
    except AlignSTSError as e:
        raise argparse.ArgumentTypeError(e.rendered("cli")) from None


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line (exit 2), as every other error."""

    def error(self, message):
        import re

        # "argument --formant: --formant (...) must be ...": the message already names its flag
        message = re.sub(r"^argument (--[\w-]+)(?:/[^:]*)?: (?=\1\b)", "", message)
        self.exit(2, f"alignsts: error: {message} (see {self.prog} --help)\n")


def _loudness(value: str):
    if value.lower() in ("off", "none"):
        return None
    if value.lower() == "auto":
        return "auto"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LUFS (e.g. -16), 'auto' or 'off', got {value!r}") from None


class _Progress:
    """Renders (stage, fraction) callbacks on stderr; silent when quiet."""

    def __init__(self, enabled: bool, label: str = ""):
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.label = label
        self.last = None
        self.t0 = time.perf_counter()

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        if self.tty:
            sys.stderr.write(f"\r{self.label}{stage:<10} {100 * fraction:3.0f}%   ")
            if stage == "done":
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif stage != self.last:
            log.info("%s%s (%.1f s)", self.label, stage, time.perf_counter() - self.t0)
        self.last = stage


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="alignsts", description="Turn spoken lyrics into singing.")
    p.add_argument("--version", action="version", version=f"alignsts {__version__}")
    verbosity = _Parser(add_help=False)
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="print timings and tracebacks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("convert", parents=[verbosity], help="sing a speech recording to a melody",
                       description="Sing SPEECH (your spoken lyrics) to a melody: the melody and rhythm of "
                                   "a sung reference of the same words (--reference), or a melody without "
                                   "words (--midi, --notes, --f0, --melody-from), or a score with words (--score).")
    c.add_argument("speech", nargs="*", help="speech recording(s): wav/flac/ogg/mp3, any rate")
    src = c.add_argument_group("melody (exactly one)")
    one = src.add_mutually_exclusive_group()
    one.add_argument("-r", "--reference", help="sung recording of the same lyrics (reference engine)")
    one.add_argument("--midi", help="MIDI file (score engine)")
    one.add_argument("--notes", help="note list: 'C4 0.5' per line, seconds (or beats with --bpm)")
    one.add_argument("--f0", help="F0 contour: CSV 'time,Hz' (0 = unvoiced) or .npy at hop 128 / 24 kHz")
    one.add_argument("--melody-from", help="any singing/playing: its melody is used, not its words")
    one.add_argument("--score", help="a score with words: MusicXML (.musicxml/.xml/.mxl), UTAU .ust, OpenUtau "
                                     ".ustx, or MIDI with lyric events (its syllable-to-note mapping is sung)")
    from . import cli_song

    cli_song.add_options(one, c)
    score = c.add_argument_group("score engine")
    score.add_argument("--track", type=int, help="MIDI track index (default: the one with most notes)")
    score.add_argument("--channel", type=int, help="MIDI channel 0-15 (default: all but drums)")
    score.add_argument("--tempo", type=float, default=1.0, help="tempo factor, e.g. 1.1 = 10%% faster")
    score.add_argument("--bpm", type=float, help="note-list durations are in beats at this tempo")
    score.add_argument("--notes-only", action="store_true",
                       help="with --melody-from: sing its transcribed notes, not its performed pitch contour")
    score.add_argument("--no-expression", dest="expression", action="store_false", default=None,
                       help="flat notes: no vibrato, overshoot or preparation")
    score.add_argument("--vibrato-depth", type=float, help="vibrato depth in cents (default 45)")
    score.add_argument("--vibrato-rate", type=float, help="vibrato rate in Hz (default 6)")
    score.add_argument("--lyrics", metavar="TEXT",
                       help="the words, for a melody without them: the text or @file.txt (one syllable per "
                            "note, extra notes extend the last syllable)")
    score.add_argument("--lead-in", type=float, metavar="SECONDS",
                       help="start the output this long before score time 0 (default 0: output time = score time)")
    score.add_argument("--analysis", metavar="JSON",
                       help="also write what was sung where: notes with their lyric and the speech span sung on "
                            "them (in batch mode: any value writes <name>_sung.json beside each output)")
    c.add_argument("--accompaniment", metavar="FILE",
                   help="a backing track starting at score time 0: also writes <output>_mix.wav, the vocal over it")
    c.add_argument("--loudness", type=_loudness, default="auto", metavar="LUFS",
                   help="output loudness (integrated, LUFS; peak at most -1 dBFS); default 'auto': a --reference's "
                        "own level, else --accompaniment + 3 LU, else -16; 'off' keeps the engine's level")
    c.add_argument("-o", "--output",
                   help="output file (.wav/.flac/.ogg); a folder when several speech files are given")
    many = c.add_argument_group("manifest batch (pip install 'alignsts[batch]' for --dask-scheduler)")
    many.add_argument("--manifest", metavar="CSV",
                      help="convert every row of this CSV (columns speech, one of reference/midi/score/notes/f0/"
                           "melody_from, output; optional transpose, engine, lyrics); rows with a valid output "
                           "are skipped, so running it again resumes")
    many.add_argument("--workers", type=int, help="worker processes (default: the CPU count)")
    c.add_argument("--threads", type=int, default=None, metavar="N",
                   help="threads of one conversion (default: the cores, at most 4; with --manifest: the cores "
                        "each worker has to itself); the output is the same for any N")
    many.add_argument("--dask-scheduler", metavar="ADDRESS",
                      help="send the rows to this Dask scheduler (e.g. tcp://10.0.0.5:8786) instead of local workers")
    many.add_argument("--problems", metavar="CSV",
                      help="where failed rows are listed (default: <manifest>.problems.csv beside the manifest)")
    c.add_argument("--engine", choices=["reference", "score", "neural"],
                   help="default: reference with --reference, score otherwise")
    nn = c.add_argument_group("neural engine (pip install 'alignsts[neural]')")
    nn.add_argument("--checkpoint", help="official AlignSTS folder (config.yaml + model_ckpt_steps_*.ckpt)")
    nn.add_argument("--vocoder", help="official HiFi-GAN folder (YAML or JSON format); default Griffin-Lim")
    nn.add_argument("--content-model", help="local wav2vec2-base-960h folder (Wav2Vec2ForCTC)")
    nn.add_argument("--trust-checkpoint", action="store_true",
                    help="allow checkpoints that hold Python objects (unpickling can run code)")
    nn.add_argument("--speaker-embedding", choices=["resemblyzer", "none"], default="resemblyzer")
    nn.add_argument("--seed", type=int, default=0, help="noise seed (the output is deterministic per seed)")
    nn.add_argument("--device", default="auto", help="auto, cpu or cuda")
    c.add_argument("--transpose", type=_transpose, default="auto",
                   help="'auto' (default: whole octaves, chosen from your speech and the melody's voice), "
                        "'fit' (the semitone shift that best fits your singing range) or semitones, e.g. 0 or -12")
    cli_range.add_convert_options(c)
    c.add_argument("--formant", type=_formant, default=None, metavar="F",
                   help="move the output's formants by this factor, pitch kept (0.8-1.25; >1 brighter, "
                        "<1 darker; default: the config's, 1 = your own voice colour)")
    c.add_argument("--config", help="YAML file with engine settings (configs/reference.yaml, configs/score.yaml)")
    c.add_argument("--sr", type=int, default=None, help="output sample rate (default 24000)")
    c.add_argument("--plot", metavar="PNG",
                   help="also write a PNG of the pitch curves and the alignment (in batch mode: any "
                        "value writes <name>_sung.png beside each output)")

    from . import cli_training

    cli_training.add_commands(sub, verbosity)

    u = sub.add_parser("ui", parents=[verbosity], help="serve the web page and HTTP API (pip install 'alignsts[ui]')",
                       description="Serve a web page to record or upload speech, pick a melody and hear it sung; "
                                   "the same conversion is the HTTP endpoint /convert (gradio_client). Binds "
                                   "127.0.0.1 unless --host says otherwise.")
    u.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    u.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    u.add_argument("--max-upload-mb", type=int, default=50, help="largest uploaded file in MB (default 50)")
    u.add_argument("--max-seconds", type=float, default=300.0,
                   help="longest uploaded recording in seconds (default 300)")
    u.add_argument("--concurrency", type=int, default=None,
                   help="conversions at once (default and ceiling: the CPU cores)")
    u.add_argument("--queue-size", type=int, default=16, help="waiting conversions before 'queue full' (default 16)")
    u.add_argument("--keep-minutes", type=float, default=60.0,
                   help="results and uploads are deleted after this many minutes (default 60)")
    u.add_argument("--checkpoint", help="AlignSTS folder: offers the neural engine")
    u.add_argument("--vocoder", help="HiFi-GAN folder for the neural engine")
    u.add_argument("--content-model", help="local wav2vec2-base-960h folder for the neural engine")

    cli_range.add_command(sub, verbosity)
    d = sub.add_parser("demo", parents=[verbosity], help="convert the bundled example")
    d.add_argument("-o", "--output", default="demo_out", help="output folder (default demo_out)")
    d.add_argument("--no-plot", action="store_true", help="skip the PNG")
    return p


def _load_config(args):
    """The engine's config (YAML file or defaults, from the API), with the command-line options on top."""
    from . import api

    engine = api.choose_engine(args.engine, args.reference or getattr(args, "song", None))
    return api.engine_options(api.engine_config(engine, args.config), engine, expression=args.expression,
                              vibrato_depth=args.vibrato_depth, vibrato_rate=args.vibrato_rate,
                              checkpoint=args.checkpoint, vocoder=args.vocoder, content_model=args.content_model,
                              trust_checkpoint=args.trust_checkpoint, speaker=args.speaker_embedding,
                              seed=args.seed, device=args.device, threads=args.threads)


def _melody_source(args) -> dict:
    """The melody as api.convert takes it: the sung reference, or the melody read once (every
    speech file of a batch sings the same one)."""
    from . import api

    if args.reference:
        return {"reference": args.reference}
    if getattr(args, "song", None):
        return {"song": args.song, "separator": args.separator}
    return {"melody": api.load_melody(midi=args.midi, notes=args.notes, f0=args.f0, melody_from=args.melody_from,
                                      score=args.score, lyrics=args.lyrics, track=args.track, channel=args.channel,
                                      tempo=args.tempo, bpm=args.bpm, notes_only=args.notes_only)}


def _convert_one(args, speech: str, output: Path, plot: Path | None, config, source: dict) -> str:
    """Convert and write one file; returns the 'wrote ...' line (logged by the caller once the file is
    counted as done, so an interrupt can never fall between the message and the count)."""
    from . import api, cli_song

    t0 = time.perf_counter()
    label = f"{Path(speech).name}: " if len(args.speech) > 1 else ""
    result = api.convert(speech, engine=args.engine, transpose=args.transpose, formant=args.formant,
                         config=config, progress=_Progress(not args.quiet, label), lead_in=args.lead_in,
                         accompaniment=args.accompaniment, loudness=args.loudness, range=args.range,
                         voice=args.voice, **source)
    api.save(result, output, sr=args.sr, plot=plot)
    cli_song.save_outputs(args, result, output)
    if result.mix is not None and result.stems is None:   # a song's cover: cli_song.save_outputs
        api.save_mix(result, api.mix_path(output), sr=args.sr)
    if args.analysis:
        api.save_analysis(result, _analysis_path(args, output))
    if result.analysis.key is not None:
        log.info("%skey: %s", label, result.analysis.key.summary())
    dur = len(result.wav) / result.sr
    wall = time.perf_counter() - t0
    return (f"wrote {output} ({dur:.1f} s of audio, transposed {result.analysis.transpose:+g} st, "
            f"{wall:.1f} s, RTF {wall / max(dur, 1e-9):.2f})")


_ROLES = {"speech": "speech", "reference": "reference", "midi": "MIDI file", "notes": "note list",
          "f0": "F0 file", "melody_from": "melody recording", "config": "config"}
_NOT_INPUTS = ("output", "plot", "command")


def _inputs(args) -> dict:
    """Every file the command reads, by role: no output may be or replace one of them. Any option
    whose value names an existing file or folder counts, so options added later are covered too."""
    import os

    found = {}
    for key, value in vars(args).items():
        if key in _NOT_INPUTS or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if key == "lyrics":    # '@file' lyrics: the file is an input
            values = [v[1:] for v in values if isinstance(v, str) and v.startswith("@")]
        paths = [v for v in values if isinstance(v, str) and v and "\x00" not in v and os.path.exists(v)]
        if paths:
            found[_ROLES.get(key, "--" + key.replace("_", "-"))] = paths
    return found


def _plan(args) -> list[tuple[str, Path, Path | None]]:
    """(speech, output, plot) per conversion; batch outputs are <stem>_sung.wav in the folder."""
    from .errors import OutputError

    if len(args.speech) == 1:
        return [(args.speech[0], Path(args.output), Path(args.plot) if args.plot else None)]
    out_dir = Path(args.output)
    if not out_dir.is_dir():
        raise OutputError(f"{out_dir}: with several speech files, --output must be an existing folder")
    plan, used = [], set()
    for speech in args.speech:
        stem = Path(speech).stem
        while stem in used:  # two inputs with one name must not overwrite each other
            stem += "_"
        used.add(stem)
        plan.append((speech, out_dir / f"{stem}_sung.wav", out_dir / f"{stem}_sung.png" if args.plot else None))
    return plan


def _settings(args):
    """The manifest batch's shared settings, from the convert options."""
    from .batch import Settings

    score = tuple((k, v) for k, v in (("expression", args.expression), ("vibrato_depth", args.vibrato_depth),
                                      ("vibrato_rate", args.vibrato_rate)) if v is not None)
    neural = tuple((k, v) for k, v in (("checkpoint", args.checkpoint), ("vocoder", args.vocoder),
                                       ("content_model", args.content_model)) if v)
    neural += (("trust_checkpoint", args.trust_checkpoint), ("speaker", args.speaker_embedding),
               ("seed", args.seed), ("device", args.device))
    convert = tuple((k, v) for k, v in (("track", args.track), ("channel", args.channel), ("bpm", args.bpm))
                    if v is not None)
    convert += (("tempo", args.tempo), ("notes_only", args.notes_only), ("loudness", args.loudness))
    if args.formant is not None:
        convert += (("formant", args.formant),)
    if args.range or args.voice:
        convert += (("range", args.range), ("voice", args.voice))
    if args.lead_in is not None:
        convert += (("lead_in", args.lead_in),)
    if getattr(args, "separator", "classic") != "classic":   # for the rows with a song
        convert += (("separator", args.separator),)
    return Settings(engine=args.engine, config=args.config, sr=args.sr, score=score, neural=neural,
                    convert=convert)


def _batch_threads(value: int | None) -> int | None:
    """--threads for a manifest: None or 0 -> batch.run's default (the cores each worker has to
    itself), else that many; checked as the API checks it."""
    if value is None:
        return None
    from . import validate as check
    from .errors import option

    return check.integer(value, option("threads"), 0, 64) or None


def cmd_convert_manifest(args) -> int:
    from . import batch
    from .errors import AlignSTSError

    given = [f"--{k.replace('_', '-')}" for k in ("reference", "midi", "notes", "f0", "melody_from", "score", "lyrics",
                                                  "output", "plot", "analysis", "accompaniment", "song", "stems")
             if getattr(args, k, None)]
    if args.speech or given:
        raise AlignSTSError("with --manifest, the speech files, melodies and outputs come from the CSV; "
                            f"remove {', '.join(args.speech[:1] + given)}")
    if args.separator != "classic":
        from .engines.cover import check_separator

        check_separator(args.separator)    # installed, its files on disk: before any row runs
    report = batch.run(args.manifest, _settings(args), workers=args.workers, dask_scheduler=args.dask_scheduler,
                       threads=_batch_threads(args.threads),
                       problems_path=args.problems, progress=not args.quiet)
    if not args.quiet or report.problems:
        print(f"alignsts: {report.summary()}", file=sys.stderr)
    if report.interrupted:
        return 128 + report.interrupted
    return 1 if report.problems else 0


# melody options and the sources they apply to: given with another source they would be ignored
_MELODY_OPTIONS = (("track", "--track", ("midi", "score"), "--midi or --score"),
                   ("channel", "--channel", ("midi",), "--midi"),
                   ("bpm", "--bpm", ("notes",), "--notes (durations in beats)"),
                   ("notes_only", "--notes-only", ("melody_from",), "--melody-from"))


def _check_melody_options(args) -> None:
    """An option that does nothing with the chosen melody source is an error, not silently ignored."""
    from .errors import AlignSTSError

    source = next((k for k in ("reference", "midi", "notes", "f0", "melody_from", "score") if getattr(args, k, None)),
                  None)
    for key, option, sources, hint in _MELODY_OPTIONS:
        value = getattr(args, key, None)
        if value not in (None, False) and source not in sources:
            given = "--" + (source or "").replace("_", "-")
            raise AlignSTSError(f"{option} goes with {hint}; it does nothing with {given}")


def _analysis_path(args, output: Path) -> Path | None:
    """Where --analysis goes: its path, or in batch mode <stem>_sung.json beside each output."""
    if not args.analysis:
        return None
    return Path(args.analysis) if len(args.speech) == 1 else output.with_suffix(".json")


def _missing_inputs(speech: str, reference: str | None) -> None:
    """A missing speech or reference file is named before the engines are imported (a quick error)."""
    from .errors import AudioInputError, option

    for name, value in (("speech", speech), ("reference", reference)):
        if value and not Path(value).exists():
            raise AudioInputError(f"{option(name)} {value}: no such file")


def cmd_convert(args) -> int:
    from . import api, cli_song
    from .errors import AlignSTSError
    from .validate import check_config

    if args.manifest:
        return cmd_convert_manifest(args)
    if args.workers or args.dask_scheduler or args.problems:
        raise AlignSTSError("--workers, --dask-scheduler and --problems go with --manifest CSV")
    if not args.speech:
        raise AlignSTSError("give the speech recording(s) to convert, or --manifest CSV")
    if not any((args.reference, args.midi, args.notes, args.f0, args.melody_from, args.score, args.song)):
        raise AlignSTSError("give a melody: --reference, --song, --midi, --notes, --f0, --melody-from or --score")
    if not args.output:
        raise AlignSTSError("give the output file with -o/--output")

    _check_melody_options(args)
    plan = _plan(args)
    # everything that can be checked is checked before any work: outputs, rates, paths, settings
    batch = len(plan) > 1
    if args.lyrics is not None and args.reference:
        raise AlignSTSError("--lyrics go on the notes of a melody (--midi, --notes, --score, ...); a sung "
                            "reference already carries its words")
    if args.analysis and (args.reference or args.engine in ("reference", "neural")):
        raise AlignSTSError("--analysis (what was sung on which note) is written by the score engine only")
    if args.analysis and not batch and Path(args.analysis).suffix.lower() != ".json":
        from .errors import OutputError

        raise OutputError(f"{args.analysis}: the analysis is written as JSON; give a .json path")
    audio = {f"output of {speech}" if batch else "output": out for speech, out, _ in plan}
    audio.update(cli_song.check_args(args, [out for _, out, _ in plan]))
    if args.accompaniment:
        audio.update({f"mix of {speech}" if batch else "mix": api.mix_path(out) for speech, out, _ in plan})
    api.check_outputs(audio, plots={f"plot of {speech}" if batch else "plot": p for speech, _, p in plan},
                      sr=args.sr, inputs=_inputs(args),
                      others={f"analysis of {speech}" if batch else "analysis": _analysis_path(args, out)
                              for speech, out, _ in plan})
    if len(plan) == 1:
        _missing_inputs(plan[0][0], args.reference)
    config = _load_config(args)
    check_config(config, "config")
    source = _melody_source(args)
    if len(plan) == 1:
        speech, output, plot = plan[0]
        log.info("%s", _convert_one(args, speech, output, plot, config, source))
        return 0
    from .runner import report_done, report_planned

    report_planned(len(plan))
    failed, done = [], []
    try:
        for speech, output, plot in plan:
            try:
                wrote = _convert_one(args, speech, output, plot, config, source)
                done.append(output)
                report_done(output)
                log.info("%s", wrote)
            except AlignSTSError as e:
                log.error("skipped: %s", e.rendered("cli"))
                failed.append(e.rendered("cli"))
    except KeyboardInterrupt:
        log.error("interrupted after %d of %d files: %s", len(done), len(plan),
                  ", ".join(map(str, done)) or "none written")
        raise
    if failed:
        log.error("%d of %d conversions failed:\n  %s", len(failed), len(plan), "\n  ".join(failed))
        return 1
    return 0


def cmd_demo(args) -> int:
    from . import api

    files = api.demo(args.output, plot=not args.no_plot, progress=_Progress(not args.quiet))
    if not args.quiet:
        for role, path in files.items():
            print(f"{role:>26}: {path}")
    return 0


def cmd_ui(args) -> int:
    from .errors import AlignSTSError

    if args.port < 0 or args.port > 65535:
        raise AlignSTSError(f"--port must be 0-65535, got {args.port}")
    if args.concurrency is not None and args.concurrency < 1:
        raise AlignSTSError(f"--concurrency must be at least 1, got {args.concurrency}")
    for name in ("max_upload_mb", "max_seconds", "queue_size", "keep_minutes"):
        if not getattr(args, name) > 0:
            raise AlignSTSError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    try:
        from .ui import UIConfig, serve
    except ImportError as e:
        raise AlignSTSError(f"the web UI needs Gradio: pip install 'alignsts[ui]' ({e})") from None
    cfg = UIConfig(host=args.host, port=args.port, max_upload_mb=args.max_upload_mb, max_seconds=args.max_seconds,
                   concurrency=args.concurrency, queue_size=args.queue_size, keep_minutes=args.keep_minutes,
                   checkpoint=args.checkpoint, vocoder=args.vocoder, content_model=args.content_model)
    return serve(cfg)


SUPERVISED = ("convert", "demo")   # commands run in a worker process that Ctrl-C / SIGTERM stop at once


def entry(argv: list[str] | None = None) -> int:
    """The ``alignsts`` program: conversions run under runner.supervise, so Ctrl-C and SIGTERM stop
    them within about a second even inside native code, and leave no temp file behind."""
    import os

    # The engines' matrix products are small (mel filterbanks, cepstra, the speaker LSTM): on two
    # OpenBLAS threads they run no faster and the idle thread spins, so an 8 s conversion took
    # 1.28 s wall and 1.75 s CPU, on one 1.21 s and 1.22 s. Set before numpy loads; the user's own
    # setting wins. (torch has its own thread pool: the neural engine and training keep theirs.)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)    # a bad command line exits here (2, one line)
    # a manifest batch is its own supervisor: its parent only waits (pure Python) on worker processes
    # that it terminates itself on Ctrl-C / SIGTERM (alignsts.batch)
    manifest = args.command == "convert" and getattr(args, "manifest", None)
    if (args.command in SUPERVISED and not manifest and hasattr(os, "fork")
            and not os.environ.get("ALIGNSTS_IN_PROCESS")):
        from .runner import supervise

        return supervise(lambda: main(argv))
    return main(argv)


def main(argv: list[str] | None = None) -> int:
    import threading
    import warnings

    from .errors import AlignSTSError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    chatty = args.command in ("prepare", "train", "train-vocoder")   # long jobs report progress
    level = logging.ERROR if args.quiet else logging.INFO if args.verbose or chatty else logging.WARNING
    logging.basicConfig(level=level, format="alignsts: %(message)s", stream=sys.stderr, force=True)
    if not args.verbose:
        warnings.filterwarnings("ignore")
    previous = None
    if args.command in SUPERVISED and threading.current_thread() is threading.main_thread():
        from .runner import install_stop_handlers

        previous = install_stop_handlers()   # SIGTERM takes the same path as Ctrl-C
    try:
        return _run(args)
    finally:
        if previous:
            from .runner import restore_handlers

            restore_handlers(previous)


def _run(args) -> int:
    from .errors import AlignSTSError

    try:
        from . import cli_training

        return {"convert": cmd_convert, "demo": cmd_demo, "ui": cmd_ui, "range": cli_range.cmd_range,
                **cli_training.COMMANDS}[args.command](args)
    except AlignSTSError as e:
        print(f"alignsts: error: {' '.join(e.rendered('cli').split())}", file=sys.stderr)   # one line, CLI flags
        return 2
    except KeyboardInterrupt as e:   # Ctrl-C or SIGTERM (runner.Interrupted): temp files are gone by now
        from .runner import exit_code

        print("alignsts: interrupted", file=sys.stderr)
        return exit_code(e)
    except Exception as e:  # a bug: still one line unless --verbose
        from .runner import stop_requested

        if args.command in SUPERVISED and stop_requested():   # the interrupt, re-raised as another exception
            print("alignsts: interrupted", file=sys.stderr)
            return 128 + stop_requested()
        if args.verbose:
            traceback.print_exc()
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"alignsts: internal error: {type(e).__name__}: {msg} (rerun with --verbose for details)",
              file=sys.stderr)
        return 1
