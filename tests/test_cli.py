"""Command line, run as a user would: ``python -m alignsts ...`` in a scratch folder."""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from alignsts import api

SR = 24000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(args, cwd, timeout=300):
    """Run the CLI; the timeout only guards against hangs (no timing is asserted)."""
    return subprocess.run([sys.executable, "-m", "alignsts", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_error(proc, needle=None):
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("alignsts:") and len(lines[0]) > len("alignsts: error: ")
    if needle:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def demo_in(tmp_path_factory):
    """Copies of the bundled speech/sing files in a scratch folder."""
    folder = tmp_path_factory.mktemp("demo_in")
    speech, sing, _midi = api.demo_files()
    shutil.copyfile(speech, folder / "speech.wav")
    shutil.copyfile(sing, folder / "sing.wav")
    return folder / "speech.wav", folder / "sing.wav"


@pytest.mark.slow
def test_help(tmp_path):
    for args in (["--help"], ["convert", "--help"], ["demo", "--help"]):
        proc = run(args, tmp_path)
        assert proc.returncode == 0 and "usage: alignsts" in proc.stdout
    assert "--reference" in run(["convert", "--help"], tmp_path).stdout
    proc = run(["--version"], tmp_path)
    assert proc.returncode == 0 and "alignsts" in proc.stdout


def test_no_command_prints_help(tmp_path):
    proc = run([], tmp_path)
    assert proc.returncode == 2 and "usage: alignsts" in proc.stdout


def test_convert_writes_output_and_plot(tmp_path, demo_in):
    speech, sing = demo_in
    proc = run(["convert", speech, "-r", sing, "-o", "song.wav", "--plot", "song.png"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    y, sr = sf.read(str(tmp_path / "song.wav"))
    assert sr == SR and abs(len(y) - sf.info(str(sing)).frames) <= 128
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) > 0.01
    assert (tmp_path / "song.png").read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.png", "song.wav"]


def test_convert_transpose_fit_and_formant_verbose(tmp_path, demo_in):
    speech, sing = demo_in
    proc = run(["convert", speech, "-r", sing, "-o", "song.wav", "--transpose", "fit", "--formant", "1.1", "-v"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "key: transpose" in proc.stderr and "(fit)" in proc.stderr
    assert (tmp_path / "song.wav").is_file()


@pytest.mark.parametrize("args,needle", [(["--formant", "2"], "formant"), (["--formant", "x"], "--formant"),
                                         (["--transpose", "up"], "--transpose")])
def test_convert_rejects_bad_key_options(tmp_path, demo_in, args, needle):
    speech, sing = demo_in
    proc = run(["convert", speech, "-r", sing, "-o", "song.wav", *args], tmp_path)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "song.wav").exists()


@pytest.mark.slow
def test_convert_other_format_and_rate(tmp_path, demo_in):
    speech, sing = demo_in
    proc = run(["convert", speech, "-r", sing, "-o", "song.flac", "--sr", "16000", "--transpose", "-12", "-q"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    info = sf.info(str(tmp_path / "song.flac"))
    assert info.samplerate == 16000 and info.format == "FLAC"
    assert abs(info.duration - sf.info(str(sing)).duration) < 0.02


def test_convert_with_config_file(tmp_path, demo_in):
    speech, sing = demo_in
    (tmp_path / "c.yaml").write_text("follow_loudness: false\nalign:\n  radius: 8\n")
    proc = run(["convert", speech, "-r", sing, "-o", "song.wav", "--config", "c.yaml"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "song.wav").is_file()


# ---------------------------------------------------------------- error cases
def _make_inputs(folder):
    folder.mkdir()
    rng = np.random.default_rng(0)
    (folder / "text.wav").write_text("this is a text file renamed .wav, not audio\n" * 10)
    (folder / "empty.wav").write_bytes(b"")
    nan = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    nan[1000:1100] = np.nan
    sf.write(str(folder / "nan.wav"), nan, SR, subtype="FLOAT")
    sf.write(str(folder / "short.wav"), (0.3 * rng.standard_normal(SR // 10)).astype(np.float32), SR)
    sf.write(str(folder / "silent.wav"), np.zeros(SR, np.float32), SR)
    sf.write(str(folder / "noise.wav"), (0.3 * rng.standard_normal(2 * SR)).astype(np.float32), SR)
    burst = np.zeros(2 * SR, np.float32)
    burst[SR // 2: SR] = 0.01 * rng.standard_normal(SR // 2)
    sf.write(str(folder / "burst.wav"), burst, SR)
    (folder / "bad.yaml").write_text("transpose: auto\nnot_a_setting: 1\n")


# name -> (speech, reference, output, extra args, expected text in the message)
ERROR_CASES = {
    "missing-speech": ("in/nope.wav", "SING", "out/o.wav", [], "nope.wav: no such file"),
    "missing-reference": ("SPEECH", "in/nope_ref.wav", "out/o.wav", [], "nope_ref.wav: no such file"),
    "not-audio": ("in/text.wav", "SING", "out/o.wav", [], "not a readable audio file"),
    "empty-file": ("in/empty.wav", "SING", "out/o.wav", [], "empty"),
    "nan": ("in/nan.wav", "SING", "out/o.wav", [], "NaN"),
    "too-short": ("in/short.wav", "SING", "out/o.wav", [], "too short"),
    "silent-speech": ("in/silent.wav", "SING", "out/o.wav", [], "silent"),
    "silent-reference": ("SPEECH", "in/silent.wav", "out/o.wav", [], "silent"),
    "noise-reference": ("SPEECH", "in/noise.wav", "out/o.wav", [], "no voiced"),
    "noise-burst-reference": ("SPEECH", "in/burst.wav", "out/o.wav", [], "no voiced"),
    "missing-output-dir": ("SPEECH", "SING", "out/nodir/o.wav", [], "does not exist"),
    "bad-output-extension": ("SPEECH", "SING", "out/o.m4a", [], "unsupported output format"),
    "bad-config": ("SPEECH", "SING", "out/o.wav", ["--config", "in/bad.yaml"], "not_a_setting"),
    "missing-config": ("SPEECH", "SING", "out/o.wav", ["--config", "in/nope.yaml"], "cannot read config"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_convert_errors(tmp_path, demo_in, case):
    _make_inputs(tmp_path / "in")
    (tmp_path / "out").mkdir()
    speech, ref, out, extra, needle = ERROR_CASES[case]
    subst = {"SPEECH": demo_in[0], "SING": demo_in[1]}
    proc = run(["convert", subst.get(speech, speech), "-r", subst.get(ref, ref), "-o", out,
                "--plot", "out/plot.png", *extra], tmp_path)
    assert_one_line_error(proc, needle)
    assert proc.returncode == 2
    # nothing written: no output, no plot, no temp file, no folder created
    assert list((tmp_path / "out").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


@pytest.mark.slow
def test_batch_converts_good_files_and_reports_bad_ones(tmp_path, demo_in):
    _make_inputs(tmp_path / "in")
    (tmp_path / "out").mkdir()
    shutil.copyfile(demo_in[0], tmp_path / "in" / "good.wav")
    proc = run(["convert", "in/good.wav", "in/text.wav", "-r", demo_in[1], "-o", "out"], tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "text.wav" in proc.stderr and "not a readable audio file" in proc.stderr
    assert "1 of 2" in proc.stderr
    assert all(line.startswith(("alignsts:", "  ")) for line in proc.stderr.splitlines())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good_sung.wav"]
    assert sf.info(str(tmp_path / "out" / "good_sung.wav")).frames > 0


def test_batch_output_must_be_a_folder(tmp_path, demo_in):
    proc = run(["convert", demo_in[0], demo_in[0], "-r", demo_in[1], "-o", "nofolder"], tmp_path)
    assert_one_line_error(proc, "existing folder")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_demo_command(tmp_path):
    proc = run(["demo", "-o", "demo_dir"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "demo_dir"
    names = sorted(p.name for p in out.iterdir())
    assert names == ["demo_midi.mid", "demo_midi_sung.png", "demo_midi_sung.wav", "demo_reference.wav",
                     "demo_speech.wav", "demo_sung.png", "demo_sung.wav"]
    assert (out / "demo_sung.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / "demo_midi_sung.png").read_bytes()[:8] == PNG_MAGIC
    ym, srm = sf.read(str(out / "demo_midi_sung.wav"))
    assert srm == SR and np.all(np.isfinite(ym)) and np.abs(ym).max() > 0.01
    y, sr = sf.read(str(out / "demo_sung.wav"))
    assert sr == SR and abs(len(y) - sf.info(str(api.demo_files()[1])).frames) <= 128
    assert "demo_sung.wav" in proc.stdout


def test_demo_without_plot_into_unwritable_place(tmp_path):
    (tmp_path / "afile").write_text("x")
    proc = run(["demo", "-o", "afile/sub", "--no-plot"], tmp_path)
    assert_one_line_error(proc, "cannot create output folder")
