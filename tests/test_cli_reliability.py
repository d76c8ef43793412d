"""The CLI under adversarial input: every bad value, file or path ends with exit 2 and one line
on stderr, no traceback, the inputs unchanged (checksums) and no new file (temp files included).

The property-based part (hypothesis) generates bad values for every option and file type and
runs ``alignsts.cli.main`` in this process (fast); the cases of issue 9's "What was seen" are
also run as a user would, in a subprocess.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import math
import os
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignsts import api, cli
from alignsts import validate as check

SR = 24000
PROPERTY = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# ----------------------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder with valid inputs: take.wav (speech), ref.wav (singing), m.mid, notes.txt, f0.csv."""
    d = tmp_path_factory.mktemp("reliability")
    speech, sing, midi = api.demo_files()
    shutil.copyfile(speech, d / "take.wav")
    shutil.copyfile(sing, d / "ref.wav")
    shutil.copyfile(midi, d / "m.mid")
    (d / "notes.txt").write_text("C4 0.5\nD4 0.5\nE4 1\n")
    (d / "f0.csv").write_text("time,Hz\n0.0,220\n0.5,247\n1.0,262\n1.5,0\n")
    return d


def snapshot(folder: Path) -> dict[str, str]:
    """{relative name: sha256} of every file, hidden ones (temp files) included."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def cwd(folder: Path):
    old = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def run_main(argv: list[str], folder: Path) -> tuple[int, str]:
    err = io.StringIO()
    with cwd(folder), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as e:   # argparse
            code = e.code
    return code, err.getvalue()


def assert_refused(argv, folder: Path, needle: str | None = None) -> str:
    """Exit 2, exactly one stderr line, no traceback, inputs unchanged, nothing new."""
    before = snapshot(folder)
    code, err = run_main(argv, folder)
    lines = err.splitlines()
    assert code == 2, (argv, code, err)
    assert len(lines) == 1, (argv, err)
    assert lines[0].startswith("alignsts: error: ") and "Traceback" not in err, (argv, err)
    assert snapshot(folder) == before, (argv, err)
    if needle:
        assert needle in lines[0], (argv, lines[0])
    return lines[0]


SCORE = ["convert", "take.wav", "--midi", "m.mid", "-o", "out.wav"]
REFERENCE = ["convert", "take.wav", "-r", "ref.wav", "-o", "out.wav"]


# ----------------------------------------------------------------------------- strategies
def outside(lo: float, hi: float, integer: bool = False) -> st.SearchStrategy[str]:
    """Command-line spellings of numbers outside [lo, hi] (NaN and infinities included) and of non-numbers."""
    if integer:
        nums = st.one_of(st.integers(max_value=int(lo) - 1), st.integers(min_value=int(hi) + 1)).map(str)
    else:
        nums = st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not lo <= x <= hi),
                         st.floats(min_value=-1e300, max_value=lo, exclude_max=True).map(repr),
                         st.floats(min_value=hi, max_value=1e300, exclude_min=True)).map(str)
    words = st.sampled_from(["nan", "inf", "-inf", "abc", "", "1,5", "0x10", "1e999", "--", "[1]"])
    return st.one_of(nums, words)


OPTIONS = {   # option: (base command, strategy of bad values)
    "--transpose": (REFERENCE, outside(-check.MAX_TRANSPOSE, check.MAX_TRANSPOSE).filter(lambda v: v != "auto")),
    "--sr": (REFERENCE, outside(check.MIN_OUTPUT_SR, check.MAX_OUTPUT_SR, integer=True)),
    "--tempo": (SCORE, outside(*check.TEMPO_RANGE)),
    "--vibrato-depth": (SCORE, outside(*check.VIBRATO_DEPTH_RANGE)),
    "--vibrato-rate": (SCORE, outside(*check.VIBRATO_RATE_RANGE)),
    "--track": (SCORE, st.one_of(st.integers(max_value=-1), st.integers(min_value=1, max_value=10**9)).map(str)),
    "--channel": (SCORE, outside(0, 15, integer=True)),
    "--bpm": (["convert", "take.wav", "--notes", "notes.txt", "-o", "out.wav"], outside(*check.BPM_RANGE)),
}


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_bad_option_values(work, option):
    base, values = OPTIONS[option]

    @PROPERTY
    @given(values)
    def prop(value):
        assert_refused([*base, f"{option}={value}"], work)

    prop()


def _config_fields(cls, prefix=()):
    """(path, hint) of every leaf setting of a config dataclass, nested sections included."""
    hints = typing.get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        base = hints[f.name]
        inner = typing.get_args(base)[0] if typing.get_origin(base) is typing.Annotated else base
        if dataclasses.is_dataclass(inner):
            yield from _config_fields(inner, prefix + (f.name,))
        else:
            yield prefix + (f.name,), base


def _bad_setting(hint) -> st.SearchStrategy:
    meta = getattr(hint, "__metadata__", ())
    rng = next((m for m in meta if isinstance(m, check.Range)), None)
    base = typing.get_args(hint)[0] if meta else hint
    wrong_shape = st.sampled_from([[1, 2], {"a": 1}, [[0.5]]])
    if base is bool:
        return st.one_of(wrong_shape, st.sampled_from(["yes please", 2, 0.5]))
    if base in (int, float) or rng is not None:
        out = []
        if rng is not None and rng.lo is not None:
            out.append(st.floats(max_value=rng.lo, exclude_max=True, allow_nan=False, allow_infinity=False))
        if rng is not None and rng.hi is not None:
            out.append(st.floats(min_value=rng.hi, exclude_min=True, allow_nan=False, allow_infinity=False))
        return st.one_of(wrong_shape, st.sampled_from(["abc", True, ".nan", ".inf"]), *out)
    choices = any(isinstance(m, check.Check) for m in meta)   # free strings (paths) cannot be wrong text
    return st.one_of(wrong_shape, st.sampled_from([12345, "no-such-choice"] if choices else [12345, 0.5]))


def _yaml_value(v) -> str:
    import yaml

    return v if v in (".nan", ".inf") else yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("\n...")


def _nested(path, text):
    lines, indent = [], ""
    for part in path[:-1]:
        lines.append(f"{indent}{part}:")
        indent += "  "
    lines.append(f"{indent}{path[-1]}: {text}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("engine", ["reference", "score", "neural"])
def test_bad_config_settings(work, engine):
    from alignsts.engines.neural import NeuralConfig
    from alignsts.engines.reference import ReferenceConfig
    from alignsts.engines.score import ScoreConfig

    cls, base = {"reference": (ReferenceConfig, REFERENCE), "score": (ScoreConfig, SCORE),
                 "neural": (NeuralConfig, REFERENCE + ["--engine", "neural"])}[engine]
    fields = [(p, h) for p, h in _config_fields(cls) if p[-1] not in ("transpose", "seed", "device")] + \
             [(("transpose",), typing.Annotated[float, check.Range(-36, 36)])]

    @PROPERTY
    @given(st.sampled_from(fields).flatmap(lambda ph: st.tuples(st.just(ph[0]), _bad_setting(ph[1]))))
    def prop(case):
        path, value = case
        cfg = work / f"bad_{engine}.yaml"
        cfg.write_text(_nested(path, _yaml_value(value)))
        try:
            assert_refused([*base, "--config", cfg.name], work, needle=path[-1])
        finally:
            cfg.unlink()

    prop()


BAD_NOTE_LINES = st.one_of(
    st.sampled_from(["C-5 1", "G12 1", "200 1", "H4 1", "C4", "C4 1 2", "C4 -1", "C4 0", "C4 nan", "C4 inf",
                     "C4 1e9", "C4 abc", "rest -1", "0.5 1", "C#b# 1"]),
    st.tuples(st.sampled_from(["C4", "x", "rest", "99", "-3"]), st.floats(max_value=0) | st.floats(min_value=4000))
    .map(lambda t: f"{t[0]} {t[1]}"))


@PROPERTY
@given(line=BAD_NOTE_LINES, where=st.integers(0, 3), bom=st.booleans(), crlf=st.booleans())
def test_bad_note_lists(work, line, where, bom, crlf):
    lines = ["C4 0.5", "D4 0.5", "E4 1"]
    lines.insert(where, line)
    text = ("\ufeff" if bom else "") + ("\r\n" if crlf else "\n").join(lines)
    p = work / "bad_notes.txt"
    p.write_text(text, encoding="utf-8", newline="")
    try:
        assert_refused(["convert", "take.wav", "--notes", p.name, "-o", "out.wav"], work, needle="bad_notes.txt")
    finally:
        p.unlink()


BAD_F0_ROWS = st.one_of(
    st.sampled_from(["0.2,-5", "0.2,1e9", "0.2,2001", "0.1,220", "1e9,220", "-1,220", "0.2,nan", "0.2,inf",
                     "0.2,abc", "0.2", "0.2,220,3"]),
    st.floats(min_value=2000, exclude_min=True, allow_infinity=False).map(lambda hz: f"0.2,{hz!r}"))


@PROPERTY
@given(row=BAD_F0_ROWS)
def test_bad_f0_csv(work, row):
    p = work / "bad_f0.csv"
    p.write_text(f"0.0,220\n0.15,230\n{row}\n2.0,0\n")
    try:
        assert_refused(["convert", "take.wav", "--f0", p.name, "-o", "out.wav"], work, needle="bad_f0.csv")
    finally:
        p.unlink()


BAD_F0_ARRAYS = st.sampled_from([
    np.full((1200, 2), 220.0), np.full(1200, 220.0) * 1j, np.ones(1200, dtype=bool), np.full(1200, 1e9),
    np.full(1200, -1.0), np.array([220.0, np.nan] * 600), np.zeros(1200), np.zeros((0,)), np.full((2, 3, 4), 220.0),
    np.array(["220"] * 100), np.full(1200, np.inf)])


@PROPERTY
@given(f0=BAD_F0_ARRAYS)
def test_bad_f0_npy(work, f0):
    p = work / "bad_f0.npy"
    np.save(p, f0)
    try:
        assert_refused(["convert", "take.wav", "--f0", p.name, "-o", "out.wav"], work, needle="bad_f0.npy")
    finally:
        p.unlink()


def _bad_audio(kind: str, amp: float) -> tuple[np.ndarray | bytes, str | None]:
    t = np.arange(int(0.8 * SR)) / SR
    return {
        "silent": (np.zeros_like(t), "PCM_16"),
        "dc": (np.full_like(t, amp), "FLOAT"),
        "nan": (np.where(t > 0.3, np.nan, 0.1 * np.sin(2 * np.pi * 220 * t)), "FLOAT"),
        "short": (0.3 * np.sin(2 * np.pi * 220 * t[: int(0.1 * SR)]), "PCM_16"),
        "bytes": (b"RIFF\x00\x00garbage" * 10, None),
        "empty": (b"", None),
    }[kind]


@PROPERTY
@given(kind=st.sampled_from(["silent", "dc", "nan", "short", "bytes", "empty"]),
       amp=st.floats(min_value=-0.9, max_value=0.9), role=st.sampled_from(["speech", "reference", "melody"]))
def test_bad_audio_files(work, kind, amp, role):
    data, subtype = _bad_audio(kind, amp)
    p = work / "bad.wav"
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        sf.write(str(p), data, SR, subtype=subtype)
    argv = {"speech": ["convert", p.name, "-r", "ref.wav", "-o", "out.wav"],
            "reference": ["convert", "take.wav", "-r", p.name, "-o", "out.wav"],
            "melody": ["convert", "take.wav", "--melody-from", p.name, "-o", "out.wav"]}[role]
    try:
        assert_refused(argv, work, needle="bad.wav")
    finally:
        p.unlink()


OUTPUTS = st.sampled_from(["take.wav", "./take.wav", "ref.wav", "m.mid", "out.m4a", "out", "nodir/out.wav",
                           ".", "out.WAV/x.wav"])


@PROPERTY
@given(out=OUTPUTS, plot=st.sampled_from([None, "take.wav", "nodir/p.png", "p.jpg", "out.wav"]))
def test_bad_output_paths(work, out, plot):
    argv = ["convert", "take.wav", "-r", "ref.wav", "-o", out] + (["--plot", plot] if plot else [])
    if out == "out.wav" and plot is None:
        return
    assert_refused(argv, work)


def _midi_bytes(tracks, tpb=480, kind=1) -> bytes:
    import mido

    mid = mido.MidiFile(type=kind, ticks_per_beat=tpb)
    for msgs in tracks:
        mid.tracks.append(mido.MidiTrack(msgs))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _bad_midis():
    """MIDI files with nothing singable or broken timing, as bytes (or raw garbage)."""
    import mido

    def note(n, t=0, ch=0, on=True, vel=80):
        return mido.Message("note_on" if on else "note_off", note=n, velocity=vel if on else 0, time=t, channel=ch)

    drums = st.lists(st.integers(35, 81), min_size=1, max_size=4).map(
        lambda ns: _midi_bytes([[m for n in ns for m in (note(n, ch=9), note(n, 240, ch=9, on=False))]]))
    never_ending = st.lists(st.integers(40, 80), min_size=1, max_size=4).map(
        lambda ns: _midi_bytes([[note(n) for n in ns]]))
    zero_tempo = st.integers(40, 80).map(lambda n: _midi_bytes(
        [[mido.MetaMessage("set_tempo", tempo=0, time=0), note(n), note(n, 480, on=False)]]))
    endless_rest = st.integers(2 * 10**7, 10**9).map(lambda ticks: _midi_bytes(
        [[note(60), note(60, 480, on=False), note(62, ticks), note(62, 480, on=False)]]))
    empty = st.just(_midi_bytes([[mido.MetaMessage("track_name", name="x", time=0)]]))
    garbage = st.binary(min_size=0, max_size=64)
    truncated = st.integers(1, 20).map(lambda k: _midi_bytes([[note(60), note(60, 480, on=False)]])[:k])
    return st.one_of(drums, never_ending, zero_tempo, endless_rest, empty, garbage, truncated)


@PROPERTY
@given(data=_bad_midis())
def test_bad_midi_files(work, data):
    p = work / "bad.mid"
    p.write_bytes(data)
    try:
        assert_refused(["convert", "take.wav", "--midi", p.name, "-o", "out.wav"], work, needle="bad.mid")
    finally:
        p.unlink()


# ----------------------------------------------------------------------------- What was seen (issue 9)
def test_output_may_not_be_an_input(work):
    assert_refused(["convert", "take.wav", "-r", "ref.wav", "-o", "take.wav"], work, "would overwrite the speech")
    assert_refused(["convert", "take.wav", "-r", "ref.wav", "-o", "ref.wav"], work, "would overwrite the reference")
    assert_refused(["convert", "take.wav", "--melody-from", "ref.wav", "-o", "ref.wav"], work,
                   "would overwrite the melody recording")
    os.symlink("take.wav", work / "alias.wav")
    try:
        assert_refused(["convert", "take.wav", "-r", "ref.wav", "-o", "alias.wav"], work, "would overwrite")
    finally:
        (work / "alias.wav").unlink()


def test_batch_output_may_not_overwrite_a_later_input(work):
    shutil.copyfile(work / "take.wav", work / "take_sung.wav")
    try:
        assert_refused(["convert", "take.wav", "take_sung.wav", "-r", "ref.wav", "-o", "."], work,
                       "take_sung.wav: the output of take.wav would overwrite the speech take_sung.wav")
    finally:
        (work / "take_sung.wav").unlink()


def test_config_may_not_be_overwritten(work):
    (work / "c.yaml").write_text("max_gain_db: 30\n")
    try:
        assert_refused(["convert", "take.wav", "-r", "ref.wav", "-o", "out.wav", "--plot", "c.yaml"], work)
    finally:
        (work / "c.yaml").unlink()


@pytest.mark.parametrize("argv,needle", [
    (REFERENCE + ["--transpose", "nan"], "transpose must be 'auto' or 'fit' or semitones from -36 to 36, got nan"),
    (REFERENCE + ["--transpose", "1000"], "from -36 to 36"),
    (REFERENCE + ["--transpose", "inf"], "from -36 to 36"),
    (REFERENCE + ["--sr", "-8000"], "output sample rate (--sr) must be a whole number from 8000 to 192000"),
    (REFERENCE + ["--sr", "1"], "from 8000 to 192000, got 1"),
    (["convert", "take.wav", "-r", "ref.wav", "-o", "x.ogg", "--sr", "10000000"], "from 8000 to 192000"),
    (["convert", "take.wav", "-r", "ref.wav", "-o", "x.flac", "--sr", "1000000"], "from 8000 to 192000"),
    (REFERENCE + ["--plot", "nodir/p.png"], "nodir/p.png: output folder nodir does not exist"),
    (SCORE + ["--tempo", "1e-6"], "tempo must be a number from 0.1 to 10"),
    (SCORE + ["--tempo", "1e6"], "tempo must be a number from 0.1 to 10"),
    (SCORE + ["--vibrato-depth", "1e9"], "--vibrato-depth (cents) must be a number from 0 to 300"),
    (SCORE + ["--vibrato-rate", "-5"], "--vibrato-rate (Hz) must be a number from 0 to 15"),
    (SCORE + ["--channel", "16"], "channel must be a MIDI channel from 0 to 15"),
])
def test_seen_bad_values(work, argv, needle):
    assert_refused(argv, work, needle)


@pytest.mark.parametrize("yaml_text,needle", [
    ("balance_strength: [1, 2]\n", "balance_strength must be a number from 0 to 1, got [1, 2]"),
    ("align:\n  radius: -5\n", "align.radius must be a whole number from 1 to 200, got -5"),
    ("balance_strength: 2e-3\nmax_gain_db: 1e9\n", "max_gain_db must be a number from 0 to 120"),
])
def test_seen_bad_config_values(work, yaml_text, needle):
    (work / "c.yaml").write_text(yaml_text)
    try:
        assert_refused(REFERENCE + ["--config", "c.yaml"], work, needle)
    finally:
        (work / "c.yaml").unlink()


def test_yaml_float_notation_is_accepted(work):
    from alignsts.config import load_yaml
    from alignsts.engines.reference import ReferenceConfig

    (work / "c.yaml").write_text("balance_strength: 1e-3\n")
    try:
        assert load_yaml(ReferenceConfig, work / "c.yaml").balance_strength == 0.001
    finally:
        (work / "c.yaml").unlink()


def _midi(path: Path, messages, tempo: int | None = None):
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    trk = mido.MidiTrack()
    if tempo is not None:
        trk.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    trk.extend(messages)
    mid.tracks.append(trk)
    mid.save(str(path))


def test_seen_midi_messages(work):
    import mido

    notes = [mido.Message("note_on", note=60, velocity=80, time=0), mido.Message("note_off", note=60, time=480)]
    _midi(work / "t0.mid", notes, tempo=0)
    _midi(work / "open.mid", [mido.Message("note_on", note=60, velocity=80, time=0)])
    try:
        assert_refused(["convert", "take.wav", "--midi", "t0.mid", "-o", "out.wav"], work, "tempo 0")
        assert_refused(["convert", "take.wav", "--midi", "open.mid", "-o", "out.wav"], work, "never end")
        assert_refused(["convert", "take.wav", "--midi", "m.mid", "--channel", "5", "-o", "out.wav"], work,
                       "on channel 5 (channels with notes: 0)")
    finally:
        (work / "t0.mid").unlink()
        (work / "open.mid").unlink()


def test_seen_checkpoint_folders(work):
    bad = work / "ckpt_bad"
    bad.mkdir()
    (bad / "config.yaml").write_text("audio_num_mel_bins: [80\n")
    voc = work / "voc"
    voc.mkdir()
    (voc / "config.json").write_text('{"resblock": "1"}')
    try:
        for folder in ("ckpt_bad", "voc"):
            proc_err = assert_refused(REFERENCE + ["--engine", "neural", "--checkpoint", folder], work)
            assert folder in proc_err
    finally:
        shutil.rmtree(bad)
        shutil.rmtree(voc)


# ----------------------------------------------------------------------------- as a user runs it
def run(args, folder: Path, timeout=300):
    return subprocess.run([sys.executable, "-m", "alignsts", *map(str, args)], cwd=folder, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("argv,needle", [
    (["convert", "take.wav", "-r", "ref.wav", "-o", "take.wav"], "would overwrite the speech"),
    (["convert", "take.wav", "-r", "ref.wav", "-o", "out.wav", "--transpose", "1000"], "from -36 to 36"),
    (["convert", "take.wav", "-r", "ref.wav", "-o", "x.ogg", "--sr", "10000000"], "from 8000 to 192000"),
    (["convert", "take.wav", "--midi", "m.mid", "-o", "out.wav", "--track", "x"], "invalid int value"),
])
def test_subprocess_refusals(work, argv, needle):
    before = snapshot(work)
    proc = run(argv, work)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("alignsts: error:") and needle in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert snapshot(work) == before


def test_transposed_melody_out_of_the_voice_range_is_refused(work):
    """A C7 note moved up an octave leaves 20-2100 Hz: refused before WORLD ever sees it."""
    (work / "high.txt").write_text("C7 0.5\nC6 0.5\n")
    try:
        line = assert_refused(["convert", "take.wav", "--notes", "high.txt", "-o", "out.wav", "--transpose", "12"],
                              work)
    finally:
        (work / "high.txt").unlink()
    assert "outside the 20-2100 Hz a voice can sing" in line
