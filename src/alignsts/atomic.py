"""The one atomic writer: every file and folder the package writes appears complete or not at all.

:func:`atomic_path` yields a temp path beside the target (``.<name>.<random>.tmp``, in the same
folder so the final rename stays on one file system); when the block succeeds the temp file is
fsynced and renamed onto the target, when it fails the temp is removed and the old target (if
any) is untouched. Writers that pick a format from the file name must be told the format, since
the temp name ends in ``.tmp``. :func:`atomic_open` and :func:`atomic_write_text` are the
file-handle forms of the same writer.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from . import tempfiles
from .errors import OutputError

TEMP_SUFFIX = ".tmp"


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a folder's entry table) to disk; best effort where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _make_temp(target: Path, folder: bool) -> Path:
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{target}: output folder {parent} does not exist")
    try:
        if folder:
            return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=parent))
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=parent)
    except OSError as e:
        raise OutputError(f"{target}: cannot write there ({e.strerror})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)   # mkstemp's 0600 would otherwise survive the rename
    return Path(name)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def _swap_in(tmp: Path, target: Path, folder: bool) -> None:
    """Rename ``tmp`` onto ``target``; a folder target that exists is moved aside first (a rename
    cannot replace a non-empty folder), then removed."""
    old = None
    if folder and target.exists():
        old = target.with_name(f".{target.name}.old{TEMP_SUFFIX}")
        _remove(old)
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        _remove(old)


@contextmanager
def atomic_path(path: str | os.PathLike, *, folder: bool = False) -> Iterator[Path]:
    """Temp path beside ``path`` (an empty file, or an empty folder when ``folder``); renamed onto
    ``path`` on success only. Raises :class:`~alignsts.errors.OutputError` when the folder does
    not exist or is not writable."""
    target = Path(path)
    if target.exists() and not (target.is_dir() if folder else target.is_file()):
        kind = "a folder" if target.is_dir() else "not a regular file (a device, pipe or socket)"
        raise OutputError(f"{target}: is {kind}; not writing there")
    tmp = _make_temp(target, folder)
    tempfiles.created(tmp)   # whoever stops the process (runner.supervise) removes it if we cannot
    try:
        yield tmp
        if not folder:
            _fsync(tmp)
        try:
            _swap_in(tmp, target, folder)
        except OSError as e:
            raise OutputError(f"{target}: cannot write there ({e.strerror})") from None
        _fsync(target.parent if str(target.parent) else Path("."))
    finally:
        if tmp.exists():
            _remove(tmp)
        tempfiles.gone(tmp)


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """``open(path, mode)`` through :func:`atomic_path`: the handle writes the temp file, which is
    flushed, fsynced and renamed onto ``path`` when the block succeeds (text modes use UTF-8)."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w") as fh:
        fh.write(text)
