"""paths: an output may never be, or replace, an input (by inode, not by spelling)."""
from __future__ import annotations

import os

import pytest

from alignsts.errors import OutputError
from alignsts.paths import check_outputs, same_file


def test_same_file_by_inode_and_spelling(tmp_path):
    a = tmp_path / "a.wav"
    a.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    assert same_file(a, tmp_path / "sub" / ".." / "a.wav")
    link = tmp_path / "link.wav"
    link.symlink_to(a)
    hard = tmp_path / "hard.wav"
    os.link(a, hard)
    assert same_file(link, a) and same_file(hard, a)
    assert not same_file(a, tmp_path / "b.wav")


@pytest.mark.parametrize("make_out", [
    lambda d: d / "in.wav",
    lambda d: d / "sym.wav",
    lambda d: d / "hard.wav",
    lambda d: d / "." / "in.wav",
])
def test_output_that_is_an_input_is_refused(tmp_path, make_out):
    src = tmp_path / "in.wav"
    src.write_bytes(b"RIFF")
    (tmp_path / "sym.wav").symlink_to(src)
    os.link(src, tmp_path / "hard.wav")
    with pytest.raises(OutputError, match=r"would overwrite the speech .*in\.wav"):
        check_outputs({"output": make_out(tmp_path)}, {"speech": [src], "reference": None})
    assert src.read_bytes() == b"RIFF"


def test_files_in_an_input_folder_are_inputs(tmp_path):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.yaml").write_text("a: 1\n")
    with pytest.raises(OutputError, match="checkpoint"):
        check_outputs({"output": ckpt / "config.yaml"}, {"checkpoint": ckpt})
    check_outputs({"output": ckpt / "new.wav"}, {"checkpoint": ckpt})


def test_two_outputs_must_differ(tmp_path):
    with pytest.raises(OutputError, match="would be the same file"):
        check_outputs({"output": tmp_path / "x.wav", "plot": tmp_path / "." / "x.wav"}, {})
