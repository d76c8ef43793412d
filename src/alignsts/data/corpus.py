"""Corpus readers that list speech/singing training pairs, and a speaker/song-disjoint split.

Every reader returns a :class:`CorpusListing`: the usable ``pairs`` plus a list of human-readable
``problems`` (a speech file without its singing counterpart or vice versa, an unrecognised file
name, a bad manifest row, a missing file). Nothing is dropped silently: an item that is not in
``pairs`` is named in ``problems``. Readers only list files; they do not decode audio.

A missing corpus root or manifest, or a manifest with a wrong header, raises :class:`CorpusError`
(the whole corpus is unusable, so there is nothing to list).
"""
from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

from ..errors import CorpusError

__all__ = ["CorpusError", "CorpusListing", "Pair", "read_manifest", "read_nhss", "read_popbutfy", "split"]

AUDIO_SUFFIXES = (".wav",)


@dataclass(frozen=True)
class Pair:
    """One parallel training item.

    speech:  path of the spoken recording (lyrics read aloud).
    singing: path of the sung recording of the same lyrics by the same speaker.
    speaker: speaker/singer id (str).
    song:    song id (str); used with ``split(by="song")``.
    item:    id of the item within (speaker, song), e.g. a segment index (str).
    text:    lyrics / transcript if the corpus provides it, else None.
    """

    speech: Path
    singing: Path
    speaker: str
    song: str
    item: str
    text: str | None = None


@dataclass
class CorpusListing:
    """Result of a corpus reader.

    pairs:    list[Pair], in a deterministic (sorted) order.
    problems: list[str], one line per item that could not be paired or read.
    """

    pairs: list[Pair] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


MAX_MANIFEST_BYTES = 64_000_000   # a corpus manifest (hundreds of thousands of rows) stays below this


def _require_dir(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"corpus folder not found: {root}")
    return root


def _audio_files(folder: Path, recursive: bool = True) -> list[Path]:
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


# --------------------------------------------------------------------------- PopBuTFy

POPBUTFY_SPEECH = "歌词"  # "lyrics": the lyrics read aloud
POPBUTFY_SINGING = "专业"  # "professional": the sung take


def read_popbutfy(root: str | Path) -> CorpusListing:
    """List PopBuTFy speech/singing pairs under ``root``.

    Files are named ``[spk]#[song]#[歌词|专业]#[idx].wav`` (歌词 = speech, 专业 = singing) and may sit
    in any nested folder. Pairs are formed by ``(spk, song, idx)``; ``item`` is ``idx``, ``text`` is
    None. Reported problems: names that do not have that shape, duplicate (spk, song, kind, idx),
    and an item with only one side.
    """
    root = _require_dir(root)
    sides: dict[tuple[str, str, str], dict[str, Path]] = {}
    problems: list[str] = []
    for path in _audio_files(root):
        parts = path.stem.split("#")
        if len(parts) != 4 or parts[2] not in (POPBUTFY_SPEECH, POPBUTFY_SINGING) or not all(parts):
            problems.append(f"unrecognised file name (want spk#song#歌词|专业#idx.wav): {path}")
            continue
        spk, song, kind, idx = parts
        side = "speech" if kind == POPBUTFY_SPEECH else "singing"
        slot = sides.setdefault((spk, song, idx), {})
        if side in slot:
            problems.append(f"duplicate {side} for {spk}#{song}#{idx}: {path} (keeping {slot[side]})")
            continue
        slot[side] = path
    pairs = _pairs_from_sides(sides, problems)
    return CorpusListing(pairs=pairs, problems=problems)


def _pairs_from_sides(sides: dict[tuple[str, str, str], dict[str, Path]], problems: list[str]) -> list[Pair]:
    """Turn {(speaker, song, item): {"speech": p, "singing": p}} into pairs; report one-sided items."""
    pairs = []
    for (spk, song, item), slot in sorted(sides.items()):
        if "speech" in slot and "singing" in slot:
            pairs.append(Pair(slot["speech"], slot["singing"], spk, song, item, None))
        else:
            have, missing = ("speech", "singing") if "speech" in slot else ("singing", "speech")
            problems.append(f"missing {missing} for {spk}/{song}/{item} (have {have}: {slot[have]})")
    return pairs


# --------------------------------------------------------------------------- NHSS

_SPEECH_WORDS = ("speech", "speak", "spoken", "read")
_SINGING_WORDS = ("sing", "song", "sung")


def _side_of(name: str) -> str | None:
    low = name.lower()
    if any(w in low for w in _SPEECH_WORDS):
        return "speech"
    if any(w in low for w in _SINGING_WORDS):
        return "singing"
    return None


def read_nhss(root: str | Path) -> CorpusListing:
    """List NHSS (NUS-HLT Speak-Sing) speech/singing pairs under ``root``.

    NHSS (Sharma et al., Speech Communication 2021; https://hltnus.github.io/NHSSDatabase/) has 10
    singers x 10 English pop songs, each sung and read aloud by the same singer. The release's
    ``Data/<Speaker>/<Song>/`` holds whole-song recordings (wav + TextGrid) beside ``Song/`` and
    ``Speech/`` folders of segment wavs (+ .lab), as the public SVCC 2023 script that builds its
    data from NHSS reads it (e.g. ``Data/M04/S05/Song``); give ``Data`` as ``root``. That the two
    folders' segments share file stems is assumed, not confirmed. Accepted shapes of a song folder:

    1. segment folders: a speech sub-folder (name contains speech/speak/spoken/read) and a singing
       sub-folder (name contains sing/song/sung), e.g. ``Speech/`` and ``Song/``; wav files are
       paired by file stem, ``item`` = stem;
    2. whole recordings: one speech wav and one singing wav directly in the song folder, classified
       by the same words in the file stem (e.g. ``speech.wav`` and ``song.wav``); ``item`` = "".

    A song folder that fits neither (no classifiable audio, several files for one side, a side
    missing) is reported in ``problems``. ``text`` is None (annotations are not read here).
    """
    root = _require_dir(root)
    problems: list[str] = []
    sides: dict[tuple[str, str, str], dict[str, Path]] = {}
    for spk_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for song_dir in sorted(p for p in spk_dir.iterdir() if p.is_dir()):
            spk, song = spk_dir.name, song_dir.name
            sub = {_side_of(d.name): d for d in sorted(song_dir.iterdir()) if d.is_dir() and _side_of(d.name)}
            if sub:
                for side in ("speech", "singing"):
                    if side not in sub:
                        problems.append(f"missing {side} folder in {song_dir}")
                for side, folder in sub.items():
                    for path in _audio_files(folder):
                        sides.setdefault((spk, song, path.stem), {})[side] = path
                continue
            files: dict[str, list[Path]] = {"speech": [], "singing": []}
            for path in _audio_files(song_dir, recursive=False):
                side = _side_of(path.stem)
                if side is None:
                    problems.append(f"cannot tell speech from singing by file name: {path}")
                else:
                    files[side].append(path)
            if not files["speech"] and not files["singing"]:
                problems.append(f"no speech/singing audio in {song_dir}")
                continue
            for side, found in files.items():
                if len(found) > 1:
                    problems.append(f"several {side} files in {song_dir}: {', '.join(p.name for p in found)}")
                elif found:
                    sides.setdefault((spk, song, ""), {})[side] = found[0]
    pairs = _pairs_from_sides(sides, problems)
    return CorpusListing(pairs=pairs, problems=problems)


# --------------------------------------------------------------------------- manifest

MANIFEST_COLUMNS = ("speech_path", "singing_path", "speaker")


def read_manifest(csv_path: str | Path) -> CorpusListing:
    """List pairs from a UTF-8 CSV with header ``speech_path,singing_path,speaker[,text]``.

    Relative paths are resolved against the CSV's folder. ``song`` is the singing file's stem (the
    manifest has no song column), ``item`` is the speech path as written, ``text`` is the text
    column or None when absent/empty. Rows with a wrong field count, an empty required field or a
    missing audio file are reported as ``line N: ...`` (N = 1-based line in the file) and skipped.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise CorpusError(f"manifest not found: {csv_path}")
    base = csv_path.parent
    from ..textfiles import read_text

    text = read_text(csv_path, "corpus manifest", CorpusError, max_bytes=MAX_MANIFEST_BYTES)
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CorpusError(f"manifest is empty: {csv_path}") from None
    if tuple(header) not in (MANIFEST_COLUMNS, MANIFEST_COLUMNS + ("text",)):
        raise CorpusError(f"manifest {csv_path} header must be speech_path,singing_path,speaker[,text], got {','.join(header)}")
    ncol = len(header)
    pairs: list[Pair] = []
    problems: list[str] = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {start}: unreadable row ({exc})")
            continue
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != ncol:
            problems.append(f"line {start}: expected {ncol} fields, got {len(row)}: {row!r}")
            continue
        speech_s, singing_s, speaker = (c.strip() for c in row[:3])
        empty = [name for name, val in zip(MANIFEST_COLUMNS, (speech_s, singing_s, speaker)) if not val]
        if empty:
            problems.append(f"line {start}: empty {', '.join(empty)}")
            continue
        speech, singing = base / speech_s, base / singing_s
        missing = [str(p) for p in (speech, singing) if not p.is_file()]
        if missing:
            problems.append(f"line {start}: missing file {', '.join(missing)}")
            continue
        txt = row[3].strip() if ncol == 4 else ""
        pairs.append(Pair(speech, singing, speaker, singing.stem, speech_s, txt or None))
    return CorpusListing(pairs=pairs, problems=problems)


# --------------------------------------------------------------------------- split


def split(
    pairs: Iterable[Pair],
    valid: float = 0.1,
    test: float = 0.1,
    by: Literal["speaker", "song"] = "speaker",
    seed: int = 0,
) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """Split pairs into (train, valid, test) with no speaker (or song) in more than one split.

    valid, test: fractions of the *groups* (speakers or songs), in [0, 1). A non-zero fraction
    gets at least one group. Groups are sorted, then shuffled with ``random.Random(seed)``, so the
    result depends only on the set of group names, the fractions and the seed. Within each split
    pairs keep their input order. Raises ValueError if no group would be left for training.
    """
    if by not in ("speaker", "song"):
        raise ValueError(f"by must be 'speaker' or 'song', got {by!r}")
    if not (0 <= valid < 1 and 0 <= test < 1):
        raise ValueError("valid and test must be fractions in [0, 1)")
    pairs = list(pairs)
    groups = sorted({getattr(p, by) for p in pairs})
    random.Random(seed).shuffle(groups)

    def count(frac: float) -> int:
        return max(1, round(frac * len(groups))) if frac > 0 else 0

    n_valid, n_test = count(valid), count(test)
    if n_valid + n_test >= len(groups) and pairs:
        raise ValueError(f"{len(groups)} {by}s are too few for valid={valid}, test={test} and a train split")
    valid_g = set(groups[:n_valid])
    test_g = set(groups[n_valid : n_valid + n_test])
    train_p, valid_p, test_p = [], [], []
    for p in pairs:
        g = getattr(p, by)
        (valid_p if g in valid_g else test_p if g in test_g else train_p).append(p)
    return train_p, valid_p, test_p
