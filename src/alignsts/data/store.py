"""On-disk format of prepared training data: one shard of arrays per split, read lazily.

A split folder (``<data>/train``, ``<data>/valid``, ``<data>/test``) holds

- ``index.json``: ``{"version": 1, "keys": {key: {"dtype": str, "tail": [..]}}, "items": [...]}``,
  each item ``{"id", "speaker", "song", "text", "offsets": {key: [start, length]}}``;
- ``<key>.npy`` per key: every item's array of that key concatenated along axis 0
  (e.g. ``sing_mel.npy [sum of T1, 80]``), opened memory-mapped, so only the rows a batch
  needs are read.

Per-item features are kept as ``<data>/items/<id>.npz`` (written atomically) until they are
packed; :func:`write_split` packs them, :class:`SplitReader` reads a packed split.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..atomic import atomic_open, atomic_path
from ..errors import DataError

FORMAT_VERSION = 1
INDEX = "index.json"


def save_item(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write one item's arrays as ``.npz`` atomically."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def load_item(path: str | os.PathLike) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write_split(folder: str | os.PathLike, items: Sequence[Mapping[str, object]],
                load: Callable[[Mapping[str, object]], Mapping[str, np.ndarray]]) -> Path:
    """Pack ``items`` (dicts with ``id``, ``speaker``, ``song``, ``text``) into ``folder``.

    ``load(item)`` returns the item's arrays (axis 0 is time, or 1 for per-item vectors); every
    item must have the same keys, dtypes and trailing shapes. Memory holds one item at a time.
    The folder is built beside the target and swapped in, so a crash leaves the old one intact.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder, folder=True) as tmp:
        _pack(tmp, items, load)
    return folder


def _pack(tmp: Path, items: Sequence[Mapping[str, object]],
          load: Callable[[Mapping[str, object]], Mapping[str, np.ndarray]]) -> None:
    """Write the split's ``<key>.npy`` arrays and ``index.json`` into the empty folder ``tmp``."""
    keys: dict[str, dict] = {}
    totals: dict[str, int] = {}
    for it in items:
        for k, a in load(it).items():
            spec = {"dtype": str(a.dtype), "tail": list(a.shape[1:])}
            if keys.setdefault(k, spec) != spec:
                raise DataError(f"item {it['id']}: {k} is {spec}, other items have {keys[k]}")
            totals[k] = totals.get(k, 0) + a.shape[0]
    outs = {k: np.lib.format.open_memmap(tmp / f"{k}.npy", mode="w+", dtype=np.dtype(s["dtype"]),
                                         shape=(totals[k], *s["tail"])) for k, s in keys.items()}
    pos = dict.fromkeys(keys, 0)
    index_items = []
    for it in items:
        arrays = load(it)
        if set(arrays) != set(keys):
            raise DataError(f"item {it['id']}: keys {sorted(arrays)} differ from {sorted(keys)}")
        offsets = {}
        for k, a in arrays.items():
            n = a.shape[0]
            outs[k][pos[k]:pos[k] + n] = a
            offsets[k] = [pos[k], n]
            pos[k] += n
        index_items.append({"id": str(it["id"]), "speaker": str(it.get("speaker", "")),
                            "song": str(it.get("song", "")), "text": it.get("text"), "offsets": offsets})
    for m in outs.values():
        m.flush()
    del outs
    with open(tmp / INDEX, "w", encoding="utf-8") as fh:
        json.dump({"version": FORMAT_VERSION, "keys": keys, "items": index_items}, fh, ensure_ascii=False)


class SplitReader:
    """Lazy reader of one packed split: ``reader[i]`` -> dict of arrays (copies of the rows)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        index = self.folder / INDEX
        if not index.is_file():
            raise DataError(f"{self.folder}: no prepared split here (run `alignsts prepare` first)")
        with open(index, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("version") != FORMAT_VERSION:
            raise DataError(f"{index}: format version {data.get('version')}, expected {FORMAT_VERSION}")
        self.keys: dict[str, dict] = data["keys"]
        self.items: list[dict] = data["items"]
        self._arrays: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.items)

    def array(self, key: str) -> np.ndarray:
        if key not in self.keys:
            raise DataError(f"{self.folder}: no '{key}' feature (have {', '.join(sorted(self.keys))})")
        if key not in self._arrays:
            self._arrays[key] = np.load(self.folder / f"{key}.npy", mmap_mode="r")
        return self._arrays[key]

    def lengths(self, key: str) -> np.ndarray:
        """Length along axis 0 of ``key`` for every item: int64 ``[N]``."""
        return np.array([it["offsets"][key][1] for it in self.items], dtype=np.int64)

    def get(self, i: int, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        it = self.items[i]
        out = {}
        for k in (keys if keys is not None else self.keys):
            start, n = it["offsets"][k]
            out[k] = np.array(self.array(k)[start:start + n])
        return out

    def window(self, i: int, key: str, start: int, n: int) -> np.ndarray:
        """Rows ``[start, start + n)`` of item ``i``'s ``key`` (cut at the item's end): only those are read."""
        first, length = self.items[i]["offsets"][key]
        start = min(max(start, 0), length)
        return np.array(self.array(key)[first + start:first + min(start + n, length)])

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        return self.get(i)

    def __getstate__(self):   # picklable for DataLoader workers: re-open the memory maps there
        state = self.__dict__.copy()
        state["_arrays"] = {}
        return state
