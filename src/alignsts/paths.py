"""Users' files are sacred: no output may be, or replace, any input.

Paths are compared by identity, not spelling: ``os.path.samefile`` (device and inode) for files
that exist, so symlinks, hard links, ``./x`` and ``../dir/x`` are all caught; ``realpath`` for
outputs that do not exist yet (two planned outputs must not collide either).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping

from .errors import AlignSTSError, OutputError

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


SYSTEM_FOLDERS = ("/dev", "/proc", "/sys")   # kernel file systems: a root process could create files there


def _system_folder(folder: Path) -> str | None:
    """The system folder (SYSTEM_FOLDERS) ``folder`` lies in, symlinks followed; None otherwise."""
    real = os.path.realpath(folder)
    if real == "/dev/shm" or real.startswith("/dev/shm/"):   # plain memory-backed files: a fine scratch place
        return None
    for top in SYSTEM_FOLDERS:
        if real == top or real.startswith(top + os.sep):
            return top
    return None


def check_writable(path: PathLike, role: str = "output", error: type[AlignSTSError] = OutputError) -> Path:
    """``path`` can be created or replaced by a regular file: it has no NUL byte, is not a folder
    nor a device/fifo/socket (symlinks followed), and its folder exists and takes a new file (a
    real probe: a temp file made and removed, so ``/proc`` or a read-only mount fail here, before
    any work, and not after it). Raises ``error`` (OutputError) in one line."""
    if not isinstance(path, (str, os.PathLike)):
        raise error(f"the {role} must be a file name, got {type(path).__name__}")
    p = Path(path)
    if "\x00" in str(p):
        raise error(f"the {role} name contains a NUL byte")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise error(f"{p}: output folder {parent} does not exist (for the {role})")
    if p.is_dir():
        raise error(f"{p}: is a directory; the {role} must be a file name")
    if p.exists() and not p.is_file():
        raise error(f"{p}: exists and is not a regular file (a device, pipe or socket); not writing the {role} there")
    system = _system_folder(parent)
    if system is not None:
        raise error(f"{p}: {system} holds devices and kernel files, not outputs; choose another folder for the {role}")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{p.name[:40]}.", suffix=".probe", dir=parent)
    except OSError as e:
        raise error(f"{p}: cannot write the {role} in {parent} ({e.strerror})") from None
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass
    return p


def check_output(path: PathLike, role: str, inputs: Mapping[str, PathLike | Iterable[PathLike] | None],
                 error: type[AlignSTSError] = OutputError) -> Path:
    """The one check of every file the package writes, before any work: :func:`check_writable`,
    and never one of ``inputs`` (by inode, see :func:`same_file`)."""
    p = check_writable(path, role, error)
    for in_role, src in input_files(inputs):
        if same_file(p, src):
            raise error(f"{p}: the {role} would overwrite the {in_role} {src}; choose another output name")
    return p
