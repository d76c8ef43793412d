"""The user's own singing range on the command line: `--range LOW-HIGH` / `--voice TYPE` for
convert, and `alignsts range my_singing.wav`, which measures a range from any singing of the
user (a scale, a song) and prints the option to use."""
from __future__ import annotations

import argparse


def _range_arg(value: str) -> str:
    from .errors import AlignSTSError, option
    from .melody import key

    try:
        return key.range_setting(value, option("range"))
    except AlignSTSError as e:
        raise argparse.ArgumentTypeError(e.rendered("cli")) from None


def add_convert_options(parser: argparse.ArgumentParser) -> None:
    """--range / --voice on the convert command (mutually exclusive)."""
    from .melody import voices as key   # constants only: building the parser loads no numpy

    g = parser.add_mutually_exclusive_group()
    g.add_argument("--range", type=_range_arg, metavar="LOW-HIGH",
                   help="where you sing, as note names (e.g. A2-E4; `alignsts range my_singing.wav` measures it): "
                        "--transpose auto/fit put the melody inside it")
    g.add_argument("--voice", choices=list(key.VOICE_RANGES),
                   help="your voice type, as a range: " + ", ".join(
                       f"{k} {key.note_name(lo)}-{key.note_name(hi)}" for k, (lo, hi) in key.VOICE_RANGES.items()))


def add_command(sub, verbosity) -> None:
    """The `range` subcommand."""
    r = sub.add_parser("range", parents=[verbosity], help="measure your singing range from a recording",
                       description="Measure where you sing from any recording of your singing (a scale, a song): "
                                   "the 5th-95th percentile of its voiced pitch. Prints the --range option to use.")
    r.add_argument("singing", help="a recording of you singing (wav/flac/ogg/mp3, any rate)")


def cmd_range(args) -> int:
    from . import api
    from .audio import frontend as fe
    from .melody import key

    wav = api.load_input(args.singing, "singing")
    f0 = fe.f0_praat(wav)
    r = key.measure_range(f0)
    med = key.median_semitones(f0) + 69.0
    voiced = float((f0 > 0).sum()) * fe.HOP / fe.SAMPLE_RATE
    if not args.quiet:
        print(f"measured on {voiced:.1f} s of voiced singing: {r.text} (median {key.note_name(med)}, "
              f"{r.high - r.low:g} semitones; nearest voice type: {key.nearest_voice(r)})")
    print(f"--range {r.text}")
    return 0
