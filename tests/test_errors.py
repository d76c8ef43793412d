"""One error home: every exception class of the package lives in alignsts.errors and is an AlignSTSError."""
from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from alignsts import errors

PACKAGE = Path(errors.__file__).resolve().parent


def _exception_classes_outside_errors() -> list[str]:
    """Classes outside errors.py whose bases name an exception (…Error, …Exception, Unsupported…)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception", "Warning")) or "Unsupported" in b for b in bases):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}({', '.join(bases)})")
    return found


def test_every_exception_class_is_defined_in_errors():
    assert _exception_classes_outside_errors() == []


def test_every_exception_derives_from_the_base():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, BaseException)]
    assert len(classes) >= 12
    assert all(issubclass(c, errors.AlignSTSError) for c in classes), classes


def test_old_import_paths_name_the_same_classes():
    from alignsts.config import ConfigError
    from alignsts.data.corpus import CorpusError
    from alignsts.data.prepare import PrepareError
    from alignsts.data.store import DataError

    assert (ConfigError, CorpusError, PrepareError, DataError) == (
        errors.ConfigError, errors.CorpusError, errors.PrepareError, errors.DataError)
    assert issubclass(errors.PrepareError, errors.DataError)
    assert issubclass(errors.UnsupportedConfig, ValueError)   # still caught where ValueError was


def test_import_official_of_an_unsupported_config_is_one_line(tmp_path):
    pytest.importorskip("torch")
    src = tmp_path / "official"
    src.mkdir()
    (src / "config.yaml").write_text("diffvae_type: diffvae2\ndiffvae_hidden: 64\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "alignsts", "import-official", str(src), str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "diffvae_type" in lines[0] and "internal error" not in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_an_option_is_named_as_each_caller_spells_it():
    from alignsts.errors import InvalidValueError, option, raw_message, render

    e = InvalidValueError(f"{option('melody_from')} x.wav: no such file; try {option('midi', 'score')}")
    assert str(e) == "melody_from x.wav: no such file; try midi, score"
    assert e.rendered("cli") == "--melody-from x.wav: no such file; try --midi, --score"
    assert e.rendered("page") == "'Tune of a recording' x.wav: no such file; try 'MIDI / score'"
    assert raw_message(e) == e.raw and raw_message(ValueError("plain")) == "plain"
    assert render(f"{option('not_an_option')} stays", "cli") == "not_an_option stays"
    assert "\x1e" not in str(e) and "\x1f" not in e.rendered("page")


def test_option_names_survive_a_re_raised_error():
    """A note-list error re-raised with its line keeps the option's marks: each caller sees its name."""
    from alignsts import api
    from alignsts.errors import MelodyError, option

    with pytest.raises(MelodyError) as e:
        api.notes_from_text("C4 1\nZ9 1", where=option("notes"))
    assert str(e.value).startswith("notes:2: not a note name")
    assert e.value.rendered("cli").startswith("--notes:2:") and e.value.rendered("page").startswith("'Notes':2:")
