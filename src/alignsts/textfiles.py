"""The one bounded reader of text and score files: nothing endless, nothing huge, nothing that is not a file.

Every text or score file the package reads (lyrics ``@file``, note lists, .ust, .ustx, MusicXML,
.mxl, MIDI, manifest and pairs CSVs, F0 CSVs, YAML configs) goes through :func:`check_file`
(a regular file, not a device, fifo or folder, symlinks followed; at most ``max_bytes``) and,
for text, :func:`read_text` (read at most ``max_bytes + 1`` bytes, so a file that grows while it
is read is refused too; no NUL bytes). :func:`load_yaml` caps YAML aliases (an alias bomb
expands exponentially); :func:`check_zip` caps what a zip archive (.mxl) unpacks to.
Each failure is one line naming the file and, for sizes, its size and the cap.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

from .errors import AlignSTSError

PathLike = str | os.PathLike

MAX_TEXT_BYTES = 4_000_000      # a score, note list, CSV or config larger than this is not one
MAX_LYRICS_BYTES = 1_000_000    # the words of a song: a long song's lyrics are a few kB
MAX_MIDI_BYTES = 4_000_000
MAX_SCORE_BYTES = 4_000_000     # a UST / USTX file (a song's is < 0.5 MB)
MAX_MUSICXML_BYTES = 3_000_000  # MusicXML, also unpacked from .mxl: music21 needs ~130 MB and ~3 s per MB
MAX_UNZIPPED_BYTES = 40_000_000  # what a compressed MusicXML (.mxl) may unpack to
MAX_YAML_NODES = 2_000_000      # values of a YAML file once aliases are expanded (a song's .ustx: < 200k)
MAX_WORDS = 20_000              # words a song can have
MAX_NOTES = 20_000              # notes a song can have


def _mb(n: float) -> str:
    return f"{n / 1e9:.3g} GB" if n >= 1e9 else f"{n / 1e6:.3g} MB"


def check_file(path: PathLike, what: str, error: type[AlignSTSError] = AlignSTSError,
               max_bytes: int = MAX_TEXT_BYTES) -> Path:
    """``path`` as a Path when it names a regular file (symlinks followed) of at most ``max_bytes``;
    else ``error`` in one line: missing, a folder, a device/fifo/socket, unreadable, too large."""
    if not isinstance(path, (str, os.PathLike)):
        raise error(f"{what}: expected a file path, got {type(path).__name__}")
    p = Path(path)
    if "\x00" in str(p):
        raise error(f"{what}: the file name contains a NUL byte")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise error(f"{p}: cannot read {what} (no such file)") from None
    except OSError as e:
        raise error(f"{p}: cannot read {what} ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{p}: is a directory, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{p}: is not a regular file (a device, pipe or socket); a {what} must be a file")
    if st.st_size > max_bytes:
        raise error(f"{p}: {_mb(st.st_size)} is too large for a {what} (at most {_mb(max_bytes)})")
    return p


def read_bytes(path: PathLike, what: str, error: type[AlignSTSError] = AlignSTSError,
               max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (checked again while reading)."""
    p = check_file(path, what, error, max_bytes)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))   # a fifo swapped in never blocks
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise error(f"{p}: is not a regular file; a {what} must be a file")
            with os.fdopen(fd, "rb", closefd=False) as fh:
                data = fh.read(max_bytes + 1)
        finally:
            os.close(fd)
    except OSError as e:
        raise error(f"{p}: cannot read {what} ({e.strerror})") from None
    if len(data) > max_bytes:
        raise error(f"{p}: more than {_mb(max_bytes)}, too large for a {what}")
    return data


def decode_text(raw: bytes, where: str, what: str, error: type[AlignSTSError] = AlignSTSError,
                encodings: Iterable[str] = ("utf-8-sig",)) -> str:
    """Bytes -> text in the first encoding that fits; NUL bytes are refused (not text)."""
    encodings = tuple(encodings)
    for enc in encodings:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        nul = text.find("\x00")
        if nul >= 0:
            line = text.count("\n", 0, nul) + 1
            raise error(f"{where}: line {line} contains a NUL byte; a {what} is text")
        return text
    names = " or ".join({"utf-8-sig": "UTF-8", "cp932": "Shift-JIS"}.get(e, e) for e in encodings)
    raise error(f"{where}: cannot read {what} (not {names} text)")


def read_text(path: PathLike, what: str, error: type[AlignSTSError] = AlignSTSError,
              max_bytes: int = MAX_TEXT_BYTES, encodings: Iterable[str] = ("utf-8-sig",)) -> str:
    """The text of a regular file of at most ``max_bytes`` (see :func:`read_bytes`, :func:`decode_text`)."""
    p = Path(path) if isinstance(path, (str, os.PathLike)) else path
    return decode_text(read_bytes(path, what, error, max_bytes), str(p), what, error, encodings)


def load_yaml(text: str, where: str, error: type[AlignSTSError] = AlignSTSError,
              max_nodes: int = MAX_YAML_NODES, invalid: str = "not valid YAML"):
    """yaml.safe_load of ``text``, refused when its aliases (``*name``) would expand it beyond
    ``max_nodes`` nodes (an alias bomb: each level refers to the one before many times). The
    document is composed once, its expanded size counted on the node graph (shared nodes
    counted once per reference, in linear time), then constructed."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded = _expanded_nodes(node, {}, max_nodes)
        if expanded > max_nodes:
            raise error(f"{where}: its YAML aliases (*name) expand to more than {max_nodes:,} values; "
                        f"refused as an alias bomb")
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        raise error(f"{where}: {invalid} ({str(e).splitlines()[0]})") from None
    except RecursionError:
        raise error(f"{where}: YAML nested too deeply") from None
    finally:
        loader.dispose()


def _expanded_nodes(node, memo: dict, cap: int) -> int:
    """Nodes of a composed YAML node once every alias is expanded (stops counting past ``cap``)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = cap + 1          # a node that contains itself expands without end
    total = 1
    if isinstance(node.value, list):
        for item in node.value:
            children = item if isinstance(item, tuple) else (item,)   # mapping: (key, value) pairs
            for child in children:
                total += _expanded_nodes(child, memo, cap)
                if total > cap:
                    memo[key] = total
                    return total
    memo[key] = total
    return total


def check_zip(path: PathLike, what: str, error: type[AlignSTSError] = AlignSTSError,
              max_unzipped: int = MAX_UNZIPPED_BYTES) -> None:
    """A zip archive (.mxl) that unpacks to at most ``max_unzipped`` bytes: the declared sizes are
    summed, then every member is actually unpacked (in blocks, stopping at the cap), since a
    forged header can under-state them."""
    import zipfile

    p = Path(path)
    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
            if len(infos) > 10_000:
                raise error(f"{p}: {len(infos)} entries in the archive; a {what} has a few")
            declared = sum(i.file_size for i in infos)
            if declared > max_unzipped:
                raise error(f"{p}: unpacks to {_mb(declared)}, too large for a {what} (at most "
                            f"{_mb(max_unzipped)})")
            total = 0
            for info in infos:
                with z.open(info) as fh:
                    while True:
                        block = fh.read(1 << 20)
                        if not block:
                            break
                        total += len(block)
                        if total > max_unzipped:
                            raise error(f"{p}: unpacks to more than {_mb(max_unzipped)}, too large for a "
                                        f"{what}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise error(f"{p}: not a readable compressed {what} ({reason})") from None


def check_count(n: int, what: str, where: str, error: type[AlignSTSError] = AlignSTSError,
                limit: int = MAX_NOTES) -> int:
    """``n`` items (notes, words) are at most what a song can have."""
    if n > limit:
        raise error(f"{where}: {n} {what}; a song has at most {limit}")
    return n


class Text(str):
    """Words given as text, never as '@file': what the web page and its endpoint pass, so no field
    can make the server read one of its files (``melody.lyrics.read_lyrics_arg(Text('@/etc/passwd'))``
    is the two words 'etc passwd')."""
