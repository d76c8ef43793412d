"""A manifest's rows (the CSV of ``alignsts convert --manifest``, see alignsts.batch): reading
them, checking every row's paths and outputs before any conversion, and telling a finished
output from one to convert again (resume)."""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import AlignSTSError, ManifestError, OutputError
from .validate import TRANSPOSE_WORDS

MELODY_COLUMNS = ("reference", "midi", "score", "notes", "f0", "melody_from", "song")   # song: also <output>_mix
OPTION_COLUMNS = ("transpose", "engine", "lyrics", "range")
COLUMNS = ("speech",) + MELODY_COLUMNS + ("output",) + OPTION_COLUMNS
OUTPUT_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MIN_OUTPUT_SECONDS = 0.3          # the shortest input alignsts accepts; an output is never shorter
LENGTH_TOLERANCE = 0.05           # a reference-engine output is the reference's length, +-5 %
TAIL_FRAMES = 4096                # the last samples of an existing output, read back to check it
PROBLEM_FIELDS = ("line", "speech", "output", "reason")


@dataclass(frozen=True)
class Row:
    """One conversion of the manifest; paths are absolute strings (picklable, for any worker)."""
    line: int                          # line in the CSV (the header is line 1)
    speech: str
    melody_kind: str                   # one of MELODY_COLUMNS
    melody: str
    output: str
    transpose: str | float = "auto"
    engine: str | None = None
    lyrics: str | None = None
    sing_range: str | None = None      # the speaker's range ('A2-E4' or a voice type); wins over --range/--voice


@dataclass(frozen=True)
class Problem:
    """A row that could not be converted, with its one-line reason."""
    line: int
    speech: str
    output: str
    reason: str


def read_manifest(path: str | os.PathLike) -> tuple[list[Row], list[Problem]]:
    """Parse a manifest CSV -> (good rows, problems of the bad ones). Raises ManifestError when the
    file itself is unusable. Checks that need no audio are done here (see the module doc)."""
    import io as _io

    from .textfiles import read_text

    p = Path(path)
    text = read_text(p, "manifest", ManifestError)   # -sig: a BOM from spreadsheet tools; NUL refused
    try:
        lines = list(csv.reader(_io.StringIO(text, newline="")))
    except csv.Error as e:
        raise ManifestError(f"{p}: not a readable CSV ({str(e).splitlines()[0]})") from None
    if not lines:
        raise ManifestError(f"{p}: the manifest is empty (expected a header: speech,reference,output,...)")
    header = [h.strip().lower().replace("-", "_") for h in lines[0]]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise ManifestError(f"{p}: unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    for need in ("speech", "output"):
        if need not in header:
            raise ManifestError(f"{p}: the manifest needs a '{need}' column (header: {','.join(header)})")
    if not any(c in header for c in MELODY_COLUMNS):
        raise ManifestError(f"{p}: the manifest needs a melody column: one of {', '.join(MELODY_COLUMNS)}")
    if len(set(header)) != len(header):
        raise ManifestError(f"{p}: a column appears twice in the header")
    base = p.resolve().parent
    rows, problems = [], []
    for line, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        try:
            if len(cells) > len(header):
                raise ManifestError(f"{len(cells)} cells for {len(header)} columns")
            rows.append(_row(line, values, base))
        except AlignSTSError as e:
            problems.append(Problem(line, values.get("speech", ""), values.get("output", ""), str(e)))
    return rows, problems


def _absolute(value: str, base: Path) -> str:
    q = Path(value).expanduser()
    return str(q if q.is_absolute() else base / q)


def _row(line: int, v: dict, base: Path) -> Row:
    if not v.get("speech"):
        raise ManifestError("no speech file")
    if not v.get("output"):
        raise ManifestError("no output file")
    given = [k for k in MELODY_COLUMNS if v.get(k)]
    if len(given) != 1:
        raise ManifestError(f"give exactly one melody ({', '.join(MELODY_COLUMNS)}), got "
                            + (", ".join(given) or "none"))
    out = _absolute(v["output"], base)
    if Path(out).suffix.lower() not in OUTPUT_SUFFIXES:
        raise OutputError(f"{v['output']}: unsupported output format {Path(out).suffix or '(none)'}; "
                          f"use .wav, .flac, .ogg or .mp3")
    transpose: str | float = (v.get("transpose") or "auto").strip().lower()
    if transpose not in TRANSPOSE_WORDS:
        try:
            transpose = float(transpose)
        except ValueError:
            raise ManifestError(f"transpose must be {', '.join(TRANSPOSE_WORDS)} or semitones, "
                                f"got {v['transpose']!r}") from None
    sing_range = None
    if (v.get("range") or "").strip():
        from .melody.key import range_setting

        try:
            sing_range = range_setting(v["range"], "range")
        except AlignSTSError as e:
            raise ManifestError(str(e)) from None
    lyrics = v.get("lyrics") or None
    if lyrics and lyrics.startswith("@"):
        lyrics = "@" + _absolute(lyrics[1:], base)
    return Row(line=line, speech=_absolute(v["speech"], base), melody_kind=given[0],
               melody=_absolute(v[given[0]], base), output=out, transpose=transpose,
               engine=(v.get("engine") or None), lyrics=lyrics, sing_range=sing_range)


def _identities(path: str) -> set:
    """What a path names, for comparing outputs with inputs as ``alignsts.paths.same_file`` does:
    its device and inode when it exists (symlinks, hard links), and its resolved spelling."""
    keys = {("path", os.path.realpath(path))}
    try:
        st = os.stat(path)
        keys.add(("inode", st.st_dev, st.st_ino))
    except OSError:
        pass
    return keys


def _row_inputs(row: Row) -> dict[str, str]:
    inputs = {"speech": row.speech, row.melody_kind.replace("_", " "): row.melody}
    if row.lyrics and row.lyrics.startswith("@"):
        inputs["lyrics"] = row.lyrics[1:]
    return inputs


def check_paths(rows: list[Row], shared_inputs: list[str] = ()) -> tuple[list[Row], list[Problem]]:
    """Rows whose output is nobody's input and nobody else's output -> (good rows, problems).

    An output may never replace an input of the manifest (any row's speech, melody or lyrics
    file, or one of ``shared_inputs``: the config, checkpoint files, the manifest itself) nor be
    written twice; the first row naming an output keeps it. Linear in the rows (identities are
    hashed, not compared pairwise)."""
    from .paths import input_files

    inputs: dict = {}
    for _role, path in input_files({"shared": list(shared_inputs)}):
        for key in _identities(str(path)):
            inputs.setdefault(key, 1)
    for r in rows:
        for path in _row_inputs(r).values():
            for key in _identities(path):
                inputs.setdefault(key, r.line)
    good, problems, outputs = [], [], {}
    for r in rows:
        keys = _identities(r.output)
        hit = next((inputs[k] for k in keys if k in inputs), None)
        twice = next((outputs[k] for k in keys if k in outputs), None)
        if hit is not None:
            problems.append(Problem(r.line, r.speech, r.output,
                                    f"{r.output}: is an input of the manifest (line {hit}); not overwriting it"))
        elif twice is not None:
            problems.append(Problem(r.line, r.speech, r.output, f"{r.output}: is already the output of line {twice}"))
        else:
            outputs.update({k: r.line for k in keys})
            good.append(r)
    return good, problems


def check_outputs(rows: list[Row], sr: int | None) -> tuple[list[Row], list[Problem]]:
    """Each row's output through the same checks as one file's (``alignsts.api.check_outputs``:
    format, sample rate, writable folder, never an input), its folder created first."""
    from . import api

    good, problems = [], []
    for r in rows:
        try:
            folder = Path(r.output).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise OutputError(f"{r.output}: cannot create the folder {folder} ({e.strerror})") from None
            mix = {"mix": _song_mix(r.output)} if r.melody_kind == "song" else {}
            api.check_outputs({"output": r.output, **mix}, sr=sr, inputs=_row_inputs(r))
            good.append(r)
        except AlignSTSError as e:
            problems.append(Problem(r.line, r.speech, r.output, str(e)))
    return good, problems


# --------------------------------------------------------------------------- resume

def expected_seconds(row: Row) -> float | None:
    """The output's length when it is known without converting: a sung reference's length
    (the reference and neural engines follow it frame by frame); None otherwise."""
    if row.melody_kind not in ("reference", "song"):   # a song's cover is as long as the song
        return None
    try:
        import soundfile as sf

        info = sf.info(row.melody)
        return info.frames / info.samplerate
    except Exception:   # an unreadable reference fails in conversion, with its own message
        return None


def output_is_valid(path: str | os.PathLike, expected: float | None = None) -> bool:
    """True when ``path`` holds readable audio at least 0.3 s long (and, when ``expected``
    seconds are given, within 5 % of that) whose last block reads back whole and finite. Only the
    header and the tail are read, so checking tens of thousands of outputs on a resume is quick;
    a truncated file fails the tail read and its row runs again. (alignsts writes outputs
    atomically, so a file under an output's name is whole unless something else damaged it.)"""
    import numpy as np
    import soundfile as sf

    p = Path(path)
    try:
        if not p.is_file() or p.stat().st_size == 0:
            return False
        with sf.SoundFile(str(p)) as fh:
            frames, sr = fh.frames, fh.samplerate
            start = max(0, frames - TAIL_FRAMES)
            fh.seek(start)
            tail = fh.read(frames - start, dtype="float32", always_2d=True)
    except Exception:
        return False
    seconds = frames / sr if sr else 0.0
    if seconds < MIN_OUTPUT_SECONDS or len(tail) != frames - start or not np.all(np.isfinite(tail)):
        return False
    if expected is not None and abs(seconds - expected) > LENGTH_TOLERANCE * expected + 0.05:
        return False
    return True


_TEMP = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{6,}(\.tmp|\.part\.\w+)$")


def remove_temp_files(output: str | os.PathLike) -> int:
    """Remove the atomic writer's leftover temp files of ``output`` (``.<name>.<random>.tmp`` or
    ``.part.<ext>``, left by a killed worker); returns how many."""
    p = Path(output)
    removed = 0
    try:
        candidates = list(p.parent.glob(f".{glob_escape(p.name)}.*"))
    except OSError:
        return 0
    for q in candidates:
        m = _TEMP.match(q.name)
        if m and m.group("name") == p.name:
            try:
                q.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def _song_mix(output: str) -> str:
    """A song row's cover: ``<output stem>_mix<suffix>`` beside its output."""
    p = Path(output)
    return str(p.with_name(f"{p.stem}_mix{p.suffix}"))
