"""`alignsts convert SPEECH --song SONG -o OUT [--stems DIR] [--separator classic|demucs|PATH]`:
the options and outputs of a whole song as the melody (kept out of cli.py)."""
from __future__ import annotations

from pathlib import Path


def add_options(melody_group, convert_parser) -> None:
    """--song in the melody group (one source of the melody); --stems and --separator beside it."""
    melody_group.add_argument("--song", metavar="SONG",
                              help="a whole song (MP3, M4A, WAV, a video's audio ...): its lead vocal is separated "
                                   "and sung with your voice on the song's timeline; also writes <output>_mix.<ext>, "
                                   "your vocal over its instrumental")
    g = convert_parser.add_argument_group("song (--song)")
    g.add_argument("--stems", metavar="DIR", help="also write DIR/vocals.wav and DIR/instrumental.wav (the separated song)")
    g.add_argument("--separator", default="classic", metavar="classic|demucs|PATH",
                   help="how the song is separated: classic (default, no weights); demucs (htdemucs) or "
                        "demucs:NAME from the model caches, or PATH, a demucs model file, bag .yaml or folder "
                        "(pip install demucs; the model files must be on disk: nothing is downloaded)")


def mix_path(output) -> Path:
    """Where a song's cover goes: ``<output stem>_mix<output suffix>`` beside the output."""
    p = Path(output)
    return p.with_name(f"{p.stem}_mix{p.suffix}")


def stem_paths(stems_dir) -> dict[str, Path]:
    d = Path(stems_dir)
    return {"vocals stem": d / "vocals.wav", "instrumental stem": d / "instrumental.wav"}


def check_args(args, outputs: list[Path]) -> dict[str, Path]:
    """The song's extra outputs by role (checked with the others before any work); raises on
    options that do not go together."""
    from .errors import AlignSTSError, OutputError

    song = getattr(args, "song", None)
    if not song:
        if getattr(args, "stems", None) or getattr(args, "separator", "classic") != "classic":
            raise AlignSTSError("--stems and --separator go with --song")
        return {}
    from .engines.cover import check_separator
    if args.accompaniment:
        raise AlignSTSError("--song brings its own instrumental: leave out --accompaniment")
    if args.lyrics is not None or args.analysis:
        raise AlignSTSError("--lyrics and --analysis go with a score; --song sings the song's own words")
    if args.engine == "score":
        raise AlignSTSError("--song is sung by the reference (or neural) engine, not the score engine")
    check_separator(args.separator)
    extra = {}
    for out in outputs:
        extra[f"mix of {out}" if len(outputs) > 1 else "mix"] = mix_path(out)
    if args.stems:
        if len(outputs) > 1:
            raise AlignSTSError("--stems goes with one speech file (the stems are the same for every one)")
        d = Path(args.stems)
        if not d.is_dir():
            raise OutputError(f"{d}: --stems folder does not exist")
        extra.update(stem_paths(d))
    return extra


def save_outputs(args, result, output) -> list[Path]:
    """Write the cover (and the stems with --stems), atomically; returns the paths written."""
    from . import api
    from .audio import io

    written = []
    if getattr(args, "song", None) is None or result.stems is None:
        return written
    written.append(io.write_audio(mix_path(output), result.mix, result.sr, out_sr=args.sr))
    if args.stems:
        paths = stem_paths(args.stems)
        written += api.save_stems(result, paths["vocals stem"], paths["instrumental stem"], sr=args.sr)
    return written
