"""Manifest batch: reading and checking rows, valid-output detection, resume after Ctrl-C,
problems file, worker processes and a Dask cluster on 127.0.0.1."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from alignsts import api, batch
from alignsts.errors import AlignSTSError, ManifestError
from alignsts.manifest import (_TEMP, Row, check_outputs, check_paths, output_is_valid, read_manifest,
                               remove_temp_files)


SR = 24000
PROJECT_ROOT = Path(__file__).resolve().parents[1]
STS_PAIRS_DIR = PROJECT_ROOT / ".." / "shared" / "data" / "sts-pairs"


def harmonic_tone(f0: float = 220.0, dur: float = 1.0) -> np.ndarray:
    t = np.arange(int(round(dur * SR))) / SR
    return (0.4 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))).astype(np.float32)


def write_manifest(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([[str(c) for c in r] for r in rows])
    return path


def read_problems(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def cli(args, cwd, **kw):
    return subprocess.Popen([sys.executable, "-m", "alignsts", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture(scope="module")
def demo():
    speech, sing, midi = api.demo_files()
    return speech, sing, midi


# --------------------------------------------------------------------------- manifest reading

def test_read_manifest_resolves_relative_paths_and_reports_bad_rows(tmp_path):
    (tmp_path / "in").mkdir()
    m = write_manifest(tmp_path / "m.csv", ["speech", "reference", "midi", "output", "transpose", "engine", "lyrics"], [
        ["in/a.wav", "in/ref.wav", "", "out/a.wav", "", "", ""],
        ["/abs/b.wav", "", "in/x.mid", "out/b.flac", "-12", "score", "@words.txt"],
        ["in/c.wav", "", "", "out/c.wav", "", "", ""],                       # no melody
        ["in/d.wav", "in/ref.wav", "in/x.mid", "out/d.wav", "", "", ""],     # two melodies
        ["in/e.wav", "in/ref.wav", "", "out/e.m4a", "", "", ""],             # not an output format
        ["in/f.wav", "in/ref.wav", "", "out/f.wav", "up", "", ""],           # bad transpose
        ["", "", "", "", "", "", ""],                                        # blank line: ignored
        ["in/g.wav", "in/ref.wav", "", "out/g.wav", "fit", "", ""],
    ])
    rows, problems = read_manifest(m)
    base = tmp_path.resolve()
    assert [r.line for r in rows] == [2, 3, 9]
    a, b, g = rows
    assert a.speech == str(base / "in/a.wav") and a.melody_kind == "reference" and a.output == str(base / "out/a.wav")
    assert a.transpose == "auto" and a.engine is None
    assert b.speech == "/abs/b.wav" and b.melody_kind == "midi" and b.transpose == -12.0 and b.engine == "score"
    assert b.lyrics == "@" + str(base / "words.txt")
    assert g.transpose == "fit"
    reasons = {p.line: p.reason for p in problems}
    assert set(reasons) == {4, 5, 6, 7}
    assert "none" in reasons[4] and "reference, midi" in reasons[5]
    assert ".m4a" in reasons[6] and "'up'" in reasons[7]


@pytest.mark.parametrize("header, needle", [
    (["speech", "reference"], "'output' column"),
    (["speech", "output"], "melody column"),
    (["speech", "reference", "output", "colour"], "unknown column"),
])
def test_read_manifest_rejects_unusable_headers(tmp_path, header, needle):
    m = write_manifest(tmp_path / "m.csv", header, [["a"] * len(header)])
    with pytest.raises(ManifestError, match=needle):
        read_manifest(m)


def test_read_manifest_missing_file(tmp_path):
    with pytest.raises(ManifestError, match="cannot read"):
        read_manifest(tmp_path / "nope.csv")


def test_outputs_never_replace_inputs_or_each_other(tmp_path):
    rows = [Row(2, str(tmp_path / "a.wav"), "reference", str(tmp_path / "r.wav"), str(tmp_path / "o1.wav")),
            Row(3, str(tmp_path / "b.wav"), "reference", str(tmp_path / "r.wav"), str(tmp_path / "a.wav")),
            Row(4, str(tmp_path / "c.wav"), "reference", str(tmp_path / "r.wav"), str(tmp_path / "x/../r.wav")),
            Row(5, str(tmp_path / "d.wav"), "reference", str(tmp_path / "r.wav"), str(tmp_path / "o1.wav"))]
    good, problems = check_paths(rows)
    assert [r.line for r in good] == [2]
    reasons = {p.line: p.reason for p in problems}
    assert "input of the manifest (line 2)" in reasons[3]
    assert "input of the manifest" in reasons[4]
    assert "output of line 2" in reasons[5]
    (tmp_path / "settings.yaml").write_text("x: 1\n")                 # a file every row reads (--config)
    row = Row(6, "s.wav", "midi", "m.mid", str(tmp_path / "settings.yaml"))
    good, problems = check_paths([row], shared_inputs=[str(tmp_path / "settings.yaml")])
    assert good == [] and "not overwriting" in problems[0].reason


def test_an_output_hard_linked_to_an_input_is_refused(tmp_path, demo):
    speech, sing, _ = demo
    (tmp_path / "sing.wav").write_bytes(sing.read_bytes())
    os.link(tmp_path / "sing.wav", tmp_path / "alias.wav")
    rows = [Row(2, str(speech), "reference", str(tmp_path / "sing.wav"), str(tmp_path / "alias.wav"))]
    good, problems = check_paths(rows)
    assert good == [] and "not overwriting" in problems[0].reason


def test_outputs_go_through_the_single_file_checks(tmp_path, demo):
    speech, sing, _ = demo
    (tmp_path / "dir.wav").mkdir()
    rows = [Row(2, str(speech), "reference", str(sing), str(tmp_path / "dir.wav")),
            Row(3, str(speech), "reference", str(sing), str(tmp_path / "new" / "deep" / "b.ogg"))]
    good, problems = check_outputs(rows, sr=None)
    assert [r.line for r in good] == [3] and problems[0].line == 2 and "directory" in problems[0].reason
    assert (tmp_path / "new" / "deep").is_dir()
    good, problems = check_outputs(rows[1:], sr=500000)          # no format holds 500 kHz
    assert good == [] and "500000" in problems[0].reason


# --------------------------------------------------------------------------- resume helpers

def test_output_is_valid(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, harmonic_tone(dur=2.0), SR)
    assert output_is_valid(good)
    assert output_is_valid(good, expected=2.0)
    assert not output_is_valid(good, expected=3.0)           # not the length the row makes
    assert not output_is_valid(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    assert not output_is_valid(tmp_path / "empty.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF....WAVEjunk" * 10)
    assert not output_is_valid(tmp_path / "junk.wav")
    sf.write(tmp_path / "short.wav", harmonic_tone(dur=0.1), SR)
    assert not output_is_valid(tmp_path / "short.wav")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])   # header says 2 s, half is there
    assert not output_is_valid(truncated, expected=2.0)
    nan = harmonic_tone(dur=1.0).astype(np.float32)
    nan[-100] = np.nan
    sf.write(tmp_path / "nan.wav", nan, SR, subtype="FLOAT")
    assert not output_is_valid(tmp_path / "nan.wav")


def test_remove_temp_files_only_touches_the_writers_temps(tmp_path):
    out = tmp_path / "song.wav"
    temps = [tmp_path / ".song.wav.k2j3h4x9.tmp", tmp_path / ".song.wav.ab_cd12e.part.wav"]
    keep = [tmp_path / ".song.wav.backup", tmp_path / ".other.wav.k2j3h4x9.tmp", tmp_path / "song.wav"]
    for p in temps + keep:
        p.write_bytes(b"x")
    assert remove_temp_files(out) == 2
    assert not any(p.exists() for p in temps) and all(p.exists() for p in keep)


def test_worker_environment_limits_threads_and_has_a_writable_numba_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = batch.worker_environment()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        assert env[name] == "1"
    assert env["NUMBA_CACHE_DIR"] == str(tmp_path / "alignsts" / "numba")
    assert os.access(env["NUMBA_CACHE_DIR"], os.W_OK)


def test_convert_row_returns_one_line_reasons(tmp_path, demo):
    speech, sing, _ = demo
    row = Row(2, str(tmp_path / "missing.wav"), "reference", str(sing), str(tmp_path / "o.wav"))
    line, error, _, seconds = batch.convert_row(row, batch.Settings())
    assert line == 2 and "missing.wav" in error and "\n" not in error and seconds == 0.0
    row = Row(3, str(speech), "score", str(tmp_path / "x.musicxml"), str(tmp_path / "o.wav"))
    _, error, _, _ = batch.convert_row(row, batch.Settings())
    assert error and "\n" not in error


def test_row_transpose_and_shared_formant_reach_the_conversion(tmp_path, demo, centroid):
    speech, _, midi = demo
    m = write_manifest(tmp_path / "m.csv", ["speech", "midi", "output", "transpose"],
                       [[speech, midi, "fit.wav", "fit"], [speech, midi, "up.wav", " +2 "]])
    rows, bad = read_manifest(m)
    assert not bad and [r.transpose for r in rows] == ["fit", 2.0]
    plain = api.convert(speech, midi=midi, transpose=2.0)
    settings = batch.Settings(convert=(("formant", 1.2),))
    line, error, _, seconds = batch.convert_row(rows[1], settings)
    assert error is None and seconds > 0
    bright = sf.read(tmp_path / "up.wav")[0]
    assert len(bright) == len(plain.wav)
    assert centroid(bright) > 1.05 * centroid(plain.wav)


def test_bad_config_stops_the_run_before_any_work(tmp_path, demo):
    speech, sing, _ = demo
    (tmp_path / "bad.yaml").write_text("no_such_setting: 1\n")
    m = write_manifest(tmp_path / "m.csv", ["speech", "reference", "output"], [[speech, sing, "o.wav"]])
    with pytest.raises(AlignSTSError, match="unknown key"):
        batch.run(m, batch.Settings(config=str(tmp_path / "bad.yaml")), workers=1, progress=False)
    assert not (tmp_path / "o.wav").exists()


# --------------------------------------------------------------------------- whole runs

def synthetic_inputs(folder: Path, demo) -> dict[str, Path]:
    """Small synthetic melodies beside the bundled (festival-synthesised) speech and sung reference."""
    speech, sing, midi = demo
    notes = folder / "melody.txt"
    notes.write_text("C4 0.4\nD4 0.4\nE4 0.4\nF4 0.4\nG4 0.8\nrest 0.2\nE4 0.4\nC4 0.8\n")
    return {"speech": speech, "sing": sing, "midi": midi, "notes": notes}


def real_pairs(n: int) -> list[tuple[Path, Path]]:
    if not STS_PAIRS_DIR.is_dir():
        return []
    pairs = sorted(p for p in STS_PAIRS_DIR.iterdir() if (p / "speech.wav").is_file() and (p / "sing.wav").is_file())
    return [(p / "speech.wav", p / "sing.wav") for p in pairs[:n]]


def mixed_manifest(folder: Path, demo, n_synthetic: int, n_real: int) -> tuple[Path, list[Path]]:
    """A manifest of real pairs (when ../shared is there) and synthetic items; returns it and its outputs."""
    src = synthetic_inputs(folder, demo)
    rows = []
    for i in range(n_synthetic):
        kind = ("reference", "midi", "notes")[i % 3]
        melody = {"reference": src["sing"], "midi": src["midi"], "notes": src["notes"]}[kind]
        row = {"speech": src["speech"], kind: melody, "output": f"out/syn{i:02d}.wav"}
        rows.append(row)
    for i, (speech, sing) in enumerate(real_pairs(n_real)):
        rows.append({"speech": speech, "reference": sing, "output": f"out/real/{speech.parent.name}.flac",
                     "transpose": "0"})
    header = ["speech", "reference", "midi", "notes", "output", "transpose"]
    m = write_manifest(folder / "manifest.csv", header, [[r.get(h, "") for h in header] for r in rows])
    return m, [folder / r["output"] for r in rows]


def snapshot(paths):
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths if p.exists()}


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file() and _TEMP.match(p.name)]


@pytest.mark.slow
def test_interrupted_run_resumes_without_converting_twice(tmp_path, demo):
    manifest, outputs = mixed_manifest(tmp_path, demo, n_synthetic=18, n_real=4)
    proc = cli(["convert", "--manifest", manifest, "--workers", "2"], tmp_path)
    try:
        while proc.poll() is None and sum(p.exists() for p in outputs) < 3:
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be interrupted:\n" + proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    done_first = [p for p in outputs if p.exists()]
    assert 3 <= len(done_first) < len(outputs)
    assert temp_files(tmp_path) == []                      # nothing partial left behind
    assert all(output_is_valid(p) for p in done_first)
    before = snapshot(outputs)

    proc = cli(["convert", "--manifest", manifest, "--workers", "2", "-q"], tmp_path)
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    assert all(output_is_valid(p) for p in outputs)
    after = snapshot(outputs)
    assert {p: after[p] for p in before} == before         # the finished ones were not converted again
    assert temp_files(tmp_path) == []
    assert not (tmp_path / "manifest.problems.csv").exists()


@pytest.mark.slow
def test_bad_rows_go_to_the_problems_file_and_the_run_carries_on(tmp_path, demo):
    speech, sing, midi = demo
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    m = write_manifest(tmp_path / "m.csv", ["speech", "reference", "midi", "output"], [
        [speech, sing, "", "a.wav"],
        [tmp_path / "broken.wav", sing, "", "b.wav"],          # unreadable speech
        [speech, "", "", "c.wav"],                              # no melody
        [speech, "", midi, sing],                               # would overwrite an input
        [speech, "", midi, "d.ogg"],
    ])
    proc = cli(["convert", "--manifest", m, "--workers", "2"], tmp_path)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert output_is_valid(tmp_path / "a.wav") and output_is_valid(tmp_path / "d.ogg")
    assert not (tmp_path / "b.wav").exists() and not (tmp_path / "c.wav").exists()
    problems = {int(p["line"]): p for p in read_problems(tmp_path / "m.problems.csv")}
    assert set(problems) == {3, 4, 5}
    assert "not a readable audio file" in problems[3]["reason"]
    assert "melody" in problems[4]["reason"]
    assert "not overwriting" in problems[5]["reason"]
    assert all("\n" not in p["reason"] for p in problems.values())
    assert sf.info(str(sing)).frames > 0                    # the input is untouched
    assert f"problems listed in {tmp_path / 'm.problems.csv'}" in err


def test_manifest_and_single_file_options_do_not_mix(tmp_path, demo):
    speech, sing, _ = demo
    m = write_manifest(tmp_path / "m.csv", ["speech", "reference", "output"], [[speech, sing, "a.wav"]])
    proc = cli(["convert", "--manifest", m, "-r", sing], tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "--reference" in err and len(err.splitlines()) == 1
    proc = cli(["convert", speech, "-r", sing, "-o", "x.wav", "--workers", "2"], tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "--manifest" in err


@pytest.mark.slow
def test_run_in_process_pool_reports_and_skips(tmp_path, demo):
    manifest, outputs = mixed_manifest(tmp_path, demo, n_synthetic=3, n_real=0)
    report = batch.run(manifest, workers=2, progress=False)
    assert (report.converted, report.skipped, report.failed, report.interrupted) == (3, 0, 0, 0)
    assert report.audio_seconds > 0
    assert all(output_is_valid(p) for p in outputs)
    again = batch.run(manifest, workers=2, progress=False)
    assert (again.converted, again.skipped) == (0, 3)


@pytest.fixture
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=":0", worker_dashboard_address=":0")
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.mark.slow
def test_dask_cluster_converts_a_manifest(tmp_path, demo, dask_cluster):
    manifest, outputs = mixed_manifest(tmp_path, demo, n_synthetic=4, n_real=1)
    (tmp_path / "broken.wav").write_bytes(b"junk")
    with open(manifest, "a", newline="") as fh:
        csv.writer(fh).writerow([tmp_path / "broken.wav", demo[1], "", "", "out/bad.wav", ""])
    report = batch.run(manifest, dask_scheduler=dask_cluster.scheduler_address, progress=False)
    assert report.converted == len(outputs) and report.failed == 1
    assert all(output_is_valid(p) for p in outputs)
    assert "not a readable audio file" in read_problems(tmp_path / "manifest.problems.csv")[0]["reason"]
    before = snapshot(outputs)
    again = batch.run(manifest, dask_scheduler=dask_cluster.scheduler_address, progress=False)
    assert again.skipped == len(outputs) and again.converted == 0 and again.failed == 1
    assert snapshot(outputs) == before


@pytest.mark.slow
def test_unreachable_dask_scheduler_is_one_line(tmp_path, demo):
    pytest.importorskip("distributed")
    speech, sing, _ = demo
    m = write_manifest(tmp_path / "m.csv", ["speech", "reference", "output"], [[speech, sing, "a.wav"]])
    proc = cli(["convert", "--manifest", m, "--dask-scheduler", "tcp://127.0.0.1:9"], tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Dask scheduler" in err and len(err.strip().splitlines()) == 1, err


def test_read_manifest_range_column(tmp_path):
    m = write_manifest(tmp_path / "m.csv", ["speech", "reference", "output", "range"], [
        ["a.wav", "ref.wav", "out/a.wav", "a2 to e4"],
        ["b.wav", "ref.wav", "out/b.wav", "Baritone"],
        ["c.wav", "ref.wav", "out/c.wav", ""],
        ["d.wav", "ref.wav", "out/d.wav", "E4-A2"],            # low above high
    ])
    rows, problems = read_manifest(m)
    assert [r.sing_range for r in rows] == ["A2-E4", "baritone", None]
    assert len(problems) == 1 and problems[0].line == 5 and "range" in problems[0].reason
