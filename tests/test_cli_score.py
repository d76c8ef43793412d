"""The score engine through the command line: every melody source, and its bad inputs."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from alignsts import api
from alignsts.audio import frontend as fe
from alignsts.audio import io

from test_cli import PNG_MAGIC, SR, assert_one_line_error, run

TWINKLE = "C3 0.5\nC3 0.5\nG3 0.5\nG3 0.5\nA3 0.5\nA3 0.5\nG3 1\nrest 0.3\n" \
          "F3 0.5\nF3 0.5\nE3 0.5\nE3 0.5\nD3 0.5\nD3 0.5\nC3 1\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("score_in")
    speech, sing, midi = api.demo_files()
    (d / "tune.txt").write_text(TWINKLE)
    f0 = fe.f0_praat(io.load(sing), official_shift=False)
    np.save(d / "contour.npy", f0)
    np.savetxt(d / "contour.csv", np.c_[fe.frame_times(len(f0)), f0], delimiter=",", header="time,Hz",
               comments="")
    return {"speech": speech, "sing": sing, "midi": midi, "dir": d}


@pytest.mark.parametrize("source", [
    ["--midi", "{midi}", "--tempo", "1.2"],
    ["--notes", "{dir}/tune.txt"],
    ["--f0", "{dir}/contour.npy"],
    ["--f0", "{dir}/contour.csv"],
    ["--melody-from", "{sing}"],
    ["--melody-from", "{sing}", "--notes-only", "--vibrato-depth", "30"],
], ids=["midi", "notes", "f0-npy", "f0-csv", "melody-from", "notes-only"])
@pytest.mark.slow
def test_score_sources_convert(tmp_path, files, source):
    args = [a.format(**files) for a in source]
    proc = run(["convert", files["speech"], *args, "-o", "out.wav", "--plot", "out.png"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    y, sr = sf.read(str(tmp_path / "out.wav"))
    assert sr == SR and np.all(np.isfinite(y)) and np.abs(y).max() > 0.05
    assert (tmp_path / "out.png").read_bytes()[:8] == PNG_MAGIC


@pytest.mark.slow
def test_tempo_shortens_the_song(tmp_path, files):
    lengths = []
    for tempo in ("1", "2"):
        proc = run(["convert", files["speech"], "--midi", files["midi"], "--tempo", tempo, "-o", f"t{tempo}.wav"],
                   tmp_path)
        assert proc.returncode == 0, proc.stderr
        lengths.append(sf.info(str(tmp_path / f"t{tempo}.wav")).duration)
    assert lengths[1] < 0.6 * lengths[0]


def _drums_only(path):
    import mido

    mid = mido.MidiFile()
    trk = mido.MidiTrack()
    mid.tracks.append(trk)
    trk.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0))
    trk.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=480))
    mid.save(str(path))


@pytest.mark.parametrize("make, args, needle", [
    (lambda d: (d / "neg.txt").write_text("C4 0.5\nD4 -1\n"), ["--notes", "neg.txt"], "positive"),
    (lambda d: (d / "bad.txt").write_text("H4 0.5\n"), ["--notes", "bad.txt"], "not a note name"),
    (lambda d: (d / "empty.mid").write_bytes(b""), ["--midi", "empty.mid"], "MIDI"),
    (lambda d: (d / "junk.mid").write_bytes(b"not a midi file at all"), ["--midi", "junk.mid"], "MIDI"),
    (lambda d: _drums_only(d / "drums.mid"), ["--midi", "drums.mid"], "no pitched notes"),
    (lambda d: (d / "nan.csv").write_text("0,100\n0.1,nan\n"), ["--f0", "nan.csv"], "NaN"),
    (lambda d: np.save(d / "neg.npy", np.array([100.0, -5.0])), ["--f0", "neg.npy"], "negative"),
    (lambda d: None, ["--notes", "missing.txt"], "--notes missing.txt: no such file"),
    (lambda d: (d / "t.txt").write_text("C4 1\n"), ["--notes", "t.txt", "--tempo", "0"], "tempo"),
], ids=["negative-duration", "bad-name", "empty-midi", "garbage-midi", "drums-only", "nan-f0", "negative-f0",
        "missing-notes", "zero-tempo"])
def test_score_bad_melody_one_line_no_output(tmp_path, files, make, args, needle):
    make(tmp_path)
    proc = run(["convert", files["speech"], *args, "-o", "out.wav"], tmp_path)
    assert_one_line_error(proc, needle)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".wav", ".tmp") or ".part" in p.name) == []


def test_two_melody_sources_are_refused(tmp_path, files):
    proc = run(["convert", files["speech"], "--midi", files["midi"], "--notes", "x.txt", "-o", "o.wav"], tmp_path)
    assert proc.returncode != 0 and "not allowed with" in proc.stderr


# ---------------------------------------------------------------- scores with words

SCORES = __import__("pathlib").Path(__file__).resolve().parent / "assets" / "scores"


@pytest.mark.parametrize("name", ["twinkle.musicxml", "twinkle.ustx"])
@pytest.mark.slow
def test_score_with_words_analysis_and_mix(tmp_path, files, name):
    import json

    proc = run(["convert", files["speech"], "--score", str(SCORES / name), "-o", "out.flac",
                "--analysis", "out.json", "--accompaniment", files["sing"], "--lead-in", "0.1"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "lead-in" in proc.stderr                      # an explicit shift is reported
    y, sr = sf.read(str(tmp_path / "out.flac"))
    assert sr == SR and np.abs(y).max() > 0.5            # normalised to -16 LUFS, peak -1 dBFS
    mix, msr = sf.read(str(tmp_path / "out_mix.wav"))
    assert msr == SR and len(mix) >= len(y) and np.abs(mix).max() <= 0.9
    d = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert d["lead_in"] == 0.1 and d["notes"][1]["lyric"] == "Twin" and d["notes"][1]["onset"] == 0.1


def test_lyrics_from_a_file_on_a_note_list(tmp_path, files):
    (tmp_path / "tune.txt").write_text(TWINKLE)
    (tmp_path / "words.txt").write_text("Twinkle twinkle little star\nhow I wonder what you are\n")
    proc = run(["convert", files["speech"], "--notes", "tune.txt", "--lyrics", "@words.txt", "-o", "o.wav",
                "--analysis", "o.json", "--loudness", "off"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "lyrics: 14 syllables (10 words) on 14 notes, one per note" in proc.stderr
    import json

    rows = json.loads((tmp_path / "o.json").read_text())["notes"]
    assert [r["lyric"] for r in rows if r["pitch"] is not None][:3] == ["Twin", "kle", "twin"]


@pytest.mark.parametrize("args, needle", [
    (["--score", "missing.ust"], "no such file"),
    (["--score", "bad.ust"], "not a UST file"),
    (["--notes", "t.txt", "--lyrics", "@missing.txt"], "cannot read lyrics"),
    (["--notes", "t.txt", "--analysis", "a.txt"], "JSON"),
    (["--notes", "t.txt", "--accompaniment", "missing.wav"], "accompaniment"),
    (["--notes", "t.txt", "--lead-in", "-1"], "lead-in"),
    (["--reference", "{sing}", "--analysis", "a.json"], "score engine only"),
    (["--reference", "{sing}", "--lyrics", "la la"], "lyrics"),
], ids=["missing-score", "bad-ust", "missing-lyrics", "analysis-suffix", "missing-backing", "negative-lead-in",
        "analysis-reference", "lyrics-reference"])
def test_words_options_bad_input_one_line_no_output(tmp_path, files, args, needle):
    (tmp_path / "bad.ust").write_text("hello\n")
    (tmp_path / "t.txt").write_text("C4 1\nD4 1\n")
    proc = run(["convert", files["speech"], *[a.format(**files) for a in args], "-o", "out.wav"], tmp_path)
    assert_one_line_error(proc, needle)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".wav", ".json") or ".part" in p.name) == []


def test_loudness_option_is_checked(tmp_path, files):
    proc = run(["convert", files["speech"], "--notes", "x.txt", "--loudness", "loud", "-o", "o.wav"], tmp_path)
    assert proc.returncode == 2 and "LUFS" in proc.stderr
