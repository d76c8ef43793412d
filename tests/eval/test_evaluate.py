"""`alignsts evaluate`: pairs files, rows, means, JSON/CSV/plots, and the published scores of the real pairs."""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from alignsts.eval import evaluate as ev

SR = 24000
PROJECT_ROOT = Path(__file__).resolve().parents[2]
STS_PAIRS_DIR = PROJECT_ROOT / ".." / "shared" / "data" / "sts-pairs"
KEYS = {"output", "target", "rca", "rpa", "f0_rmse_cents", "vuv_f1", "lsd", "rrd", "mcd",
        "speaker_sim_target", "speaker_sim_speech"}


def melody_wav(freqs, note_s=0.25, gap_s=0.05):
    """Notes of a harmonic tone separated by short silences: [N] float32 at 24 kHz."""
    parts = []
    for f in freqs:
        t = np.arange(int(note_s * SR)) / SR
        parts.append(0.3 * sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, 6)) * np.hanning(len(t)) ** 0.2)
        parts.append(np.zeros(int(gap_s * SR)))
    return np.concatenate(parts).astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval")
    notes = [220, 247, 262, 294, 330, 294, 262, 220]
    sf.write(folder / "target.wav", melody_wav(notes), SR)
    sf.write(folder / "same.wav", melody_wav(notes), SR)
    sf.write(folder / "sharp.wav", melody_wav([f * 2 ** (1 / 12) for f in notes]), SR)   # a semitone up
    sf.write(folder / "octave.wav", melody_wav([f * 2 for f in notes]), SR)
    return folder


def test_identical_output_scores_perfectly(files):
    row = ev.evaluate_pair(ev.Pair(files / "same.wav", files / "target.wav"), ev.EvalOptions(speaker="off"))
    assert set(row) == KEYS
    assert row["rca"] == pytest.approx(1.0) and row["rpa"] == pytest.approx(1.0)
    assert row["f0_rmse_cents"] == pytest.approx(0.0, abs=1e-6) and row["vuv_f1"] == pytest.approx(1.0)
    assert row["lsd"] == pytest.approx(0.0, abs=1e-6) and row["rrd"] == pytest.approx(0.0, abs=1e-6)
    assert row["mcd"] == pytest.approx(0.0, abs=1e-6)
    assert row["speaker_sim_target"] is None and row["speaker_sim_speech"] is None


def test_pitch_errors_show_in_the_pitch_metrics(files):
    opts = ev.EvalOptions(mcd=False, speaker="off")
    sharp = ev.evaluate_pair(ev.Pair(files / "sharp.wav", files / "target.wav"), opts)
    assert sharp["rca"] < 0.1 and sharp["rpa"] < 0.1
    assert sharp["f0_rmse_cents"] == pytest.approx(100, abs=10)
    assert sharp["vuv_f1"] > 0.9 and sharp["lsd"] > 0.5 and sharp["mcd"] is None
    octave = ev.evaluate_pair(ev.Pair(files / "octave.wav", files / "target.wav"), opts)
    assert octave["rca"] > 0.9 and octave["rpa"] < 0.1        # chroma forgives octaves, raw pitch does not
    assert octave["f0_rmse_cents"] == pytest.approx(1200, abs=20)


@pytest.mark.slow
def test_speaker_similarity(files):
    pytest.importorskip("resemblyzer")
    from alignsts.api import demo_files

    speech, sing, _ = demo_files()
    row = ev.evaluate_pair(ev.Pair(sing, sing, speech), ev.EvalOptions(mcd=False, speaker="on"))
    assert row["speaker_sim_target"] == pytest.approx(1.0, abs=1e-5)       # the same recording
    other = ev.evaluate_pair(ev.Pair(files / "same.wav", sing, speech), ev.EvalOptions(mcd=False, speaker="on"))
    assert other["speaker_sim_target"] < row["speaker_sim_speech"]         # a buzzing tone is nobody's voice
    assert -1 <= other["speaker_sim_speech"] <= 1


def test_pairs_file_report_means_and_failures(files, tmp_path):
    pairs_csv = tmp_path / "pairs.csv"
    rel = Path("..") / files.name
    pairs_csv.write_text("output,target\n"
                         f"{files / 'same.wav'},{files / 'target.wav'}\n"
                         f"{rel / 'sharp.wav'},{rel / 'target.wav'}\n"   # relative to the CSV
                         f"{tmp_path / 'missing.wav'},{files / 'target.wav'}\n")
    pairs = ev.read_pairs(pairs_csv)
    assert pairs[1].output == tmp_path / rel / "sharp.wav" and pairs[1].speech is None
    seen = []
    report = ev.evaluate(pairs, ev.EvalOptions(mcd=False, speaker="off", plot_dir=tmp_path / "plots"),
                         on_row=lambda pair, row, err: seen.append(err is None))
    assert seen == [True, True, False]
    assert len(report.rows) == 2 and "missing.wav" in report.failures[0][1]
    mean = report.mean()
    assert mean["rca"] == pytest.approx((report.rows[0]["rca"] + report.rows[1]["rca"]) / 2)
    assert mean["mcd"] is None
    data = report.to_dict()
    assert set(data) == {"rows", "mean"} and all(set(r) == KEYS for r in data["rows"])
    assert set(data["mean"]) == KEYS - {"output", "target"}
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["same_pitch.png", "sharp_pitch.png"]
    assert (tmp_path / "plots" / "same_pitch.png").read_bytes()[:4] == b"\x89PNG"
    table = ev.format_table(report)
    assert "| same.wav |" in table and "mean (n=2)" in table


@pytest.mark.parametrize("text, needle", [
    ("output,speech\na.wav,b.wav\n", "missing target"),
    ("output,target\n", "no pairs"),
    ("output,target\na.wav,\n", "line 2"),
])
def test_bad_pairs_files(tmp_path, text, needle):
    (tmp_path / "p.csv").write_text(text)
    with pytest.raises(ev.EvaluateError, match=needle):
        ev.read_pairs(tmp_path / "p.csv")


def run_cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "alignsts", "evaluate", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_cli_writes_table_json_and_csv(files, tmp_path):
    proc = run_cli([files / "sharp.wav", files / "target.wav", "--speech", files / "same.wav", "--no-mcd",
                    "--speaker", "off", "--json", "s.json", "--csv", "s.csv", "--plot", "plots"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "| sharp.wav |" in proc.stdout and "RCA" in proc.stdout
    data = json.loads((tmp_path / "s.json").read_text())
    assert set(data) == {"rows", "mean"} and set(data["rows"][0]) == KEYS
    assert data["rows"][0]["f0_rmse_cents"] == pytest.approx(100, abs=10) and data["rows"][0]["mcd"] is None
    with open(tmp_path / "s.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert float(rows[0]["rca"]) == pytest.approx(data["rows"][0]["rca"]) and rows[0]["mcd"] == ""
    assert (tmp_path / "plots" / "sharp_pitch.png").is_file()


def test_cli_errors_are_one_line(files, tmp_path):
    proc = run_cli([files / "same.wav"], tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1 and "TARGET" in proc.stderr
    proc = run_cli([tmp_path / "nope.wav", files / "target.wav"], tmp_path)
    assert proc.returncode == 2 and "nope.wav" in proc.stderr and len(proc.stderr.splitlines()) == 1
    proc = run_cli([files / "same.wav", files / "target.wav", "--json", files / "target.wav"], tmp_path)
    assert proc.returncode == 2 and ".json" in proc.stderr
    before = (files / "target.wav").read_bytes()
    (tmp_path / "t.json").symlink_to(files / "target.wav")
    proc = run_cli([files / "same.wav", files / "target.wav", "--json", tmp_path / "t.json"], tmp_path)
    assert proc.returncode == 2 and "would overwrite" in proc.stderr
    assert (files / "target.wav").read_bytes() == before


def published_scores(readme: Path) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(pair, system) -> (RCA, F0 RMSE cents, LSD) from the pairs folder's README table."""
    row = re.compile(r"^\|\s*([\w-]+)\s*\|\s*(\w+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*[\d.]+\s*\|$")
    out = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = row.match(line.strip())
        if m:
            out[(m.group(1), m.group(2))] = tuple(float(v) for v in m.groups()[2:])
    return out


@pytest.mark.realdata
@pytest.mark.slow
def test_reproduces_the_published_scores_of_the_real_pairs(tmp_path):
    if not (STS_PAIRS_DIR / "README.md").is_file():
        pytest.skip(f"real pairs not found at {STS_PAIRS_DIR}")
    want = published_scores(STS_PAIRS_DIR / "README.md")
    assert len(want) >= 6, "the README's table of published scores was not found"
    lines = ["output,target,speech"]
    for pair, system in want:
        folder = STS_PAIRS_DIR.resolve() / pair
        lines.append(f"{folder / (system + '.wav')},{folder / 'sing.wav'},{folder / 'speech.wav'}")
    (tmp_path / "pairs.csv").write_text("\n".join(lines) + "\n")
    proc = run_cli(["--pairs", "pairs.csv", "--json", "scores.json", "--no-mcd", "--speaker", "off"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((tmp_path / "scores.json").read_text())["rows"]
    assert len(rows) == len(want)
    for r, ((pair, system), (rca, rmse, lsd)) in zip(rows, want.items()):
        assert r["output"].endswith(f"{pair}/{system}.wav")
        assert r["rca"] == pytest.approx(rca, abs=0.01), (pair, system)
        assert r["f0_rmse_cents"] == pytest.approx(rmse, abs=5), (pair, system)
        assert r["lsd"] == pytest.approx(lsd, abs=0.3), (pair, system)
