"""The one atomic writer: files and folders appear complete or not at all."""
from __future__ import annotations

import os

import pytest

from alignsts.atomic import atomic_open, atomic_path, atomic_write_text
from alignsts.errors import OutputError


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_open_replaces_the_file_only_on_success(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    with atomic_open(target, "wb") as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"new"
    assert _names(tmp_path) == ["a.json"]


def test_temp_file_sits_beside_the_target_and_ends_in_tmp(tmp_path):
    with atomic_path(tmp_path / "x.ckpt") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".x.ckpt.") and tmp.name.endswith(".tmp")
        tmp.write_bytes(b"1")
    assert _names(tmp_path) == ["x.ckpt"]


def test_new_file_gets_the_umask_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "p.txt", "x")
    finally:
        os.umask(umask)
    assert (tmp_path / "p.txt").stat().st_mode & 0o777 == 0o644


def test_folder_is_swapped_in_whole(tmp_path):
    target = tmp_path / "split"
    with atomic_path(target, folder=True) as tmp:
        assert tmp.is_dir() and not target.exists()
        (tmp / "a.npy").write_bytes(b"1")
    assert _names(target) == ["a.npy"]
    with atomic_path(target, folder=True) as tmp:        # replaces an existing folder
        (tmp / "b.npy").write_bytes(b"2")
    assert _names(target) == ["b.npy"]
    with pytest.raises(KeyError):
        with atomic_path(target, folder=True) as tmp:
            (tmp / "c.npy").write_bytes(b"3")
            raise KeyError("crash while packing")
    assert _names(target) == ["b.npy"]
    assert _names(tmp_path) == ["split"]


def test_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        atomic_write_text(tmp_path / "no" / "x.txt", "x")
    with pytest.raises(OutputError, match="does not exist"):
        with atomic_path(tmp_path / "no" / "d", folder=True):
            pass
