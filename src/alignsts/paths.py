"""Users' files are sacred: no output may be, or replace, any input.

Paths are compared by identity, not spelling: ``os.path.samefile`` (device and inode) for files
that exist, so symlinks, hard links, ``./x`` and ``../dir/x`` are all caught; ``realpath`` for
outputs that do not exist yet (two planned outputs must not collide either).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

from .errors import OutputError

PathLike = str | os.PathLike


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (same inode), or resolve to the same path."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def input_files(inputs: Mapping[str, PathLike | Iterable[PathLike] | None]) -> list[tuple[str, Path]]:
    """{role: path or paths or None} -> [(role, path)] of the given ones (folders expand to their files)."""
    out = []
    for role, value in inputs.items():
        if value is None:
            continue
        values = [value] if isinstance(value, (str, os.PathLike)) else list(value)
        for v in values:
            if v is None or not isinstance(v, (str, os.PathLike)):
                continue
            p = Path(v)
            if p.is_dir():   # a checkpoint folder: every file in it is an input
                out.extend((role, f) for f in sorted(p.iterdir()) if f.is_file())
            else:
                out.append((role, p))
    return out


def check_outputs(outputs: Mapping[str, PathLike | None], inputs: Mapping[str, PathLike | Iterable[PathLike] | None]) -> None:
    """OutputError when an output is (or would overwrite) an input, or two outputs are one file.

    ``outputs``: {role: path}; ``inputs``: {role: path, paths or None}.
    """
    given = [(role, Path(p)) for role, p in outputs.items() if p is not None]
    ins = input_files(inputs)
    for role, out in given:
        for in_role, src in ins:
            if same_file(out, src):
                raise OutputError(f"{out}: the {role} would overwrite the {in_role} {src}; "
                                  f"choose another output name")
    for k, (role_a, a) in enumerate(given):
        for role_b, b in given[k + 1:]:
            if same_file(a, b):
                raise OutputError(f"{a}: the {role_a} and the {role_b} would be the same file")
