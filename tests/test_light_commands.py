"""The light commands (--version, --help, command-line and missing-file errors) import none of the
heavy modules: a check of what they cost, not of how long they take."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "scipy.signal", "scipy.ndimage", "numba", "matplotlib", "gradio", "pyloudnorm", "librosa",
         "resemblyzer", "alignsts.align.dtw", "alignsts.engines.reference", "alignsts.engines.score")


def _imported(args: list[str], cwd: Path) -> tuple[set[str], subprocess.CompletedProcess]:
    """The modules ``python -X importtime -m alignsts ARGS`` imported, and the finished process."""
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               ALIGNSTS_IN_PROCESS="1")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "alignsts", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and line.count("|") == 2}
    assert "alignsts.cli" in names        # the parse worked: the CLI itself was imported
    return names, proc


@pytest.mark.parametrize("args, code", [
    (["--version"], 0),
    (["--help"], 0),
    (["convert", "--help"], 0),
    (["convert", "missing.wav", "--reference", "also_missing.wav", "-o", "out.wav"], 2),
    (["convert", "speech.wav", "--reference", "sing.wav", "-o", "out.wav", "--formant", "5"], 2),
    (["convert", "speech.wav", "--reference", "sing.wav", "-o", "out.wav", "--transpose", "up"], 2),
    (["convert", "speech.wav", "-o", "out.wav"], 2),                     # no melody
    (["no-such-command"], 2),
])
def test_light_commands_import_no_heavy_module(tmp_path, args, code):
    names, proc = _imported(args, tmp_path)
    assert proc.returncode == code, proc.stderr[-500:]
    heavy = sorted(m for m in names if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert not heavy, f"{args} imported {heavy}"
    if code == 2:   # one line on stderr beside the import report, naming the problem
        lines = [x for x in proc.stderr.splitlines() if not x.startswith("import time:")]
        assert len(lines) == 1 and lines[0].startswith("alignsts"), lines
    assert not [p for p in tmp_path.iterdir()], "nothing written"


def test_version_does_not_import_numpy(tmp_path):
    names, proc = _imported(["--version"], tmp_path)
    assert "alignsts 0." in proc.stdout
    assert "numpy" not in names


def test_the_api_is_still_one_import_away():
    import alignsts

    assert callable(alignsts.convert) and callable(alignsts.save) and callable(alignsts.demo)
    assert alignsts.Result is alignsts.api.Result
    assert "convert" in dir(alignsts)
    with pytest.raises(AttributeError):
        alignsts.no_such_name   # noqa: B018


def test_the_program_runs_blas_on_one_thread_unless_told_otherwise(tmp_path):
    """`alignsts` sets OPENBLAS_NUM_THREADS=1 before numpy loads (small products: a second thread
    only spins), and keeps a value the user set."""
    import os
    import subprocess
    import sys

    code = ("import os, sys\n"
            "from alignsts import cli\n"
            "try:\n"
            "    cli.entry(['--version'])\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(os.environ.get('OPENBLAS_NUM_THREADS'))\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "1"
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "2"
