"""Issue 17: the new surfaces as an attacker and a careless user would try them.

Every case ends with exit 2 and one stderr line (CLI) or one AlignSTSError (API), no traceback,
the inputs unchanged and nothing new on disk: side outputs never replace an input, files that
never end and bombs are refused by the one bounded reader (alignsts.textfiles), score fields are
type-checked, every tempo read from a file is within the --bpm range, and the web page's
handler reads no server file whatever a field holds. Property tests (hypothesis): arbitrary
USTX / UST / MusicXML / MIDI-lyric structures raise only AlignSTSError (or read), arbitrary
field values of the /convert handler never reveal whether a server path exists.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignsts import api, cli, textfiles
from alignsts.errors import AlignSTSError, InvalidValueError, MelodyError, OutputError
from alignsts.melody import lyrics as lyr
from alignsts.melody import scores
from alignsts.paths import check_output, check_writable

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# ----------------------------------------------------------------------------- helpers
@pytest.fixture
def work(tmp_path) -> Path:
    """take.wav (speech), ref.wav (singing), m.mid, notes.txt in a fresh folder."""
    speech, sing, midi = api.demo_files()
    shutil.copyfile(speech, tmp_path / "take.wav")
    shutil.copyfile(sing, tmp_path / "ref.wav")
    shutil.copyfile(midi, tmp_path / "m.mid")
    (tmp_path / "notes.txt").write_text("C4 0.5\nD4 0.5\nE4 1\n")
    return tmp_path


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def refused(argv, folder: Path, needle: str | None = None) -> str:
    """cli.main(argv) in ``folder``: exit 2, one 'alignsts: error:' line, inputs unchanged, nothing new."""
    before = snapshot(folder)
    err = io.StringIO()
    old = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = cli.main([str(a) for a in argv])
            except SystemExit as e:
                code = e.code
    finally:
        os.chdir(old)
    lines = err.getvalue().splitlines()
    assert code == 2, (argv, code, err.getvalue())
    assert len(lines) == 1 and lines[0].startswith("alignsts: error: "), (argv, err.getvalue())
    assert "Traceback" not in err.getvalue()
    assert snapshot(folder) == before, argv
    if needle:
        assert needle in lines[0], lines[0]
    return lines[0]


NOTES = ["convert", "take.wav", "--notes", "notes.txt", "-o", "out.wav"]


# ----------------------------------------------------------------------------- side outputs never replace inputs
def test_problems_file_cannot_replace_the_manifest(work):
    (work / "jobs.csv").write_text("speech,notes,output\ntake.wav,notes.txt,a.wav\n")
    refused(["convert", "--manifest", "jobs.csv", "--problems", "jobs.csv"], work, "would overwrite")


def test_evaluate_reports_cannot_replace_the_pairs_file(work):
    (work / "p.csv").write_text("output,target\ntake.wav,ref.wav\n")
    for option in ("--csv", "--json"):
        target = "p.csv" if option == "--csv" else "p.json"
        if option == "--json":
            os.symlink(work / "p.csv", work / "p.json")
        refused(["evaluate", "--pairs", "p.csv", option, target], work, "would overwrite")


def test_analysis_on_proc_fails_before_the_audio_is_written(work):
    refused([*NOTES, "--analysis", "/proc/x.json"], work, "/proc/x.json")
    assert not (work / "out.wav").exists()


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_no_output_is_a_device(work, device):
    refused(["convert", "take.wav", "--notes", "notes.txt", "-o", device], work)
    refused([*NOTES, "--analysis", device], work)
    with pytest.raises(OutputError, match="not a regular file"):
        check_writable(device, "plot")


def test_one_output_check_by_inode(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("x")
    os.link(src, tmp_path / "hard.json")
    with pytest.raises(OutputError, match="would overwrite"):
        check_output(tmp_path / "hard.json", "analysis", {"note list": src})
    with pytest.raises(OutputError, match="does not exist"):
        check_output(tmp_path / "no" / "x.json", "analysis", {})
    assert check_output(tmp_path / "fine.json", "analysis", {"note list": src}) == tmp_path / "fine.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.json", "in.txt"]   # the probe left nothing


@pytest.fixture(scope="module")
def score_result(tmp_path_factory):
    """A score-engine conversion whose note list is notes.json, with a 6-channel accompaniment."""
    d = tmp_path_factory.mktemp("score")
    speech, _sing, _midi = api.demo_files()
    (d / "notes.json").write_text("C4 0.5\nD4 0.5\nE4 0.5\nF4 0.5\nG4 1\n")
    t = np.arange(int(3.0 * 24000)) / 24000
    backing = np.stack([0.1 * np.sin(2 * np.pi * (110 + 20 * c) * t) for c in range(6)], axis=1)
    result = api.convert(speech, notes=str(d / "notes.json"), accompaniment=(backing, 24000))
    return d, result


def test_save_analysis_cannot_replace_the_note_list(score_result):
    d, result = score_result
    before = (d / "notes.json").read_bytes()
    with pytest.raises(OutputError, match="would overwrite"):
        api.save_analysis(result, d / "notes.json")
    assert (d / "notes.json").read_bytes() == before
    written = api.save_analysis(result, d / "analysis.json")
    assert json.loads(written.read_text())["notes"]


def test_six_channel_accompaniment_is_mixed(score_result, tmp_path):
    _d, result = score_result
    assert result.mix.shape[1] == 6 and np.all(np.isfinite(result.mix)) and np.max(np.abs(result.mix)) <= 1.0
    out = api.save_mix(result, tmp_path / "mix.wav")
    assert sf.info(str(out)).channels == 6


def test_more_than_eight_channels_refused_before_work(tmp_path):
    speech, _sing, _midi = api.demo_files()
    backing = np.zeros((24000, 9), np.float32)
    with pytest.raises(AlignSTSError, match="at most 8 channels"):
        api.convert(speech, notes=[], accompaniment=(backing, 24000))
    sf.write(tmp_path / "nine.wav", np.random.default_rng(0).normal(0, 0.1, (24000, 9)), 24000)
    with pytest.raises(AlignSTSError, match="9 channels"):
        api.convert(speech, notes="C4 1", accompaniment=str(tmp_path / "nine.wav"))


def test_save_refuses_nan_and_empty_results(score_result, tmp_path):
    _d, result = score_result
    for wav, needle in ((np.full(1000, np.nan, np.float32), "NaN"), (np.zeros(0, np.float32), "no samples")):
        bad = api.Result(wav=wav, sr=result.sr, analysis=result.analysis)
        with pytest.raises(InvalidValueError, match=needle):
            api.save(bad, tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- files that never end, bombs
@pytest.mark.parametrize("endless", ["/dev/zero", "/dev/urandom", "fifo", "link"])
def test_endless_files_are_refused(work, endless):
    if endless == "fifo":
        os.mkfifo(work / "fifo")
        path = "fifo"
    elif endless == "link":
        os.symlink("/dev/zero", work / "link.ust")
        path = "link.ust"
    else:
        path = endless
    refused([*NOTES, "--lyrics", f"@{path}"], work, "not a regular file")
    refused(["convert", "take.wav", "--notes", path, "-o", "out.wav"], work, "not a regular file")
    refused(["convert", "take.wav", "--score", "link.ust" if endless == "link" else path, "-o", "out.wav"], work)
    refused(["convert", "--manifest", path], work, "not a regular file")


def test_manifest_cell_naming_dev_zero_is_a_problem_not_a_hang(work):
    (work / "jobs.csv").write_text("speech,notes,output\ntake.wav,/dev/zero,a.wav\n")
    from alignsts import manifest

    rows, problems = manifest.read_manifest(work / "jobs.csv")
    assert rows  # the cell names a path; reading it is refused when the row runs (below)
    with pytest.raises(MelodyError, match="not a regular file"):
        api.load_melody(notes="/dev/zero")


def test_large_lyrics_and_word_counts(work):
    (work / "big.txt").write_text("la " * 700_000)
    line = refused([*NOTES, "--lyrics", "@big.txt"], work, "too large")
    assert "MB" in line
    with pytest.raises(MelodyError, match="words"):
        lyr.read_lyrics_arg("la " * (textfiles.MAX_WORDS + 1))


def test_nul_in_a_manifest_cell_is_one_line(work):
    (work / "jobs.csv").write_bytes(b"speech,notes,output\ntake.wav,no\x00tes.txt,a.wav\n")
    refused(["convert", "--manifest", "jobs.csv"], work, "NUL")


def test_mxl_bomb_is_refused(tmp_path):
    bomb = tmp_path / "bomb.mxl"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="s.xml"/></rootfiles></container>')
        z.writestr("s.xml", b"\x00" * 100_000_000)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(MelodyError, match="unpacks to"):
        scores.read_score(bomb)


def test_ustx_alias_bomb_is_refused(tmp_path):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for k in range(1, 12):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]")
    lines.append("voice_parts: [{notes: [{position: 0, duration: 480, tone: 60, lyric: *a11}]}]")
    (tmp_path / "bomb.ustx").write_text("\n".join(lines) + "\n")
    with pytest.raises(MelodyError, match="alias bomb"):
        scores.read_score(tmp_path / "bomb.ustx")
    (tmp_path / "loop.ustx").write_text("a: &a [*a]\nvoice_parts: []\n")
    with pytest.raises(MelodyError, match="alias bomb"):
        scores.read_score(tmp_path / "loop.ustx")
    from alignsts.config import load_yaml
    from alignsts.engines.score import ScoreConfig
    from alignsts.errors import ConfigError

    (tmp_path / "bomb.yaml").write_text((tmp_path / "bomb.ustx").read_text())
    with pytest.raises(ConfigError, match="alias bomb"):
        load_yaml(ScoreConfig, tmp_path / "bomb.yaml")


# ----------------------------------------------------------------------------- typed score fields, one tempo range
USTX_NOTE = {"position": 0, "duration": 480, "tone": 60, "lyric": "la"}


def ustx(tmp_path, doc) -> Path:
    p = tmp_path / "s.ustx"
    p.write_text(yaml.safe_dump(doc) if not isinstance(doc, str) else doc)
    return p


@pytest.mark.parametrize("doc, needle", [
    ({"voice_parts": [{"notes": [5, 6]}]}, "not a mapping"),
    ({"voice_parts": [{"notes": [{**USTX_NOTE, "position": "abc"}]}]}, "position 'abc'"),
    ({"resolution": "x", "voice_parts": [{"notes": [USTX_NOTE]}]}, "resolution 'x'"),
    ({"resolution": 0, "voice_parts": [{"notes": [USTX_NOTE]}]}, "resolution must be positive"),
    ({"tempos": 5, "voice_parts": [{"notes": [USTX_NOTE]}]}, "tempos 5"),
    ({"tempos": [{"position": 0, "bpm": 1e9}], "voice_parts": [{"notes": [USTX_NOTE]}]}, "BPM"),
    ({"voice_parts": [{"notes": [{**USTX_NOTE, "lyric": [1, 2]}]}]}, "lyric"),
])
def test_ustx_fields_are_typed(tmp_path, doc, needle):
    with pytest.raises(MelodyError, match=needle.replace("(", r"\(")) as e:
        scores.read_score(ustx(tmp_path, doc))
    assert str(tmp_path / "s.ustx") in str(e.value)


@pytest.mark.parametrize("field, needle", [("Length=inf", "Length 'inf'"), ("Length=1e400", "Length"),
                                           ("Tempo=1e9", "1e9"), ("NoteNum=nan", "NoteNum")])
def test_ust_fields_are_typed(tmp_path, field, needle):
    body = {"Length": "480", "Lyric": "la", "NoteNum": "60"}
    key, value = field.split("=")
    body[key] = value
    text = "[#SETTING]\nTempo=120\n[#0000]\n" + "".join(f"{k}={v}\n" for k, v in body.items())
    (tmp_path / "s.ust").write_text(text)
    with pytest.raises(MelodyError, match=needle):
        scores.read_score(tmp_path / "s.ust")


def musicxml(per_minute: str = "120", lyric: str = "la", duration: str = "4", step: str = "C") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>V</part-name></score-part></part-list>
<part id="P1"><measure number="1"><attributes><divisions>4</divisions><time><beats>4</beats><beat-type>4</beat-type></time></attributes>
<direction placement="above"><direction-type><metronome><beat-unit>quarter</beat-unit><per-minute>{per_minute}</per-minute></metronome></direction-type><sound tempo="{per_minute}"/></direction>
<note><pitch><step>{step}</step><octave>4</octave></pitch><duration>{duration}</duration><type>quarter</type><lyric><syllabic>single</syllabic><text>{lyric}</text></lyric></note>
<note><pitch><step>D</step><octave>4</octave></pitch><duration>4</duration><type>quarter</type></note>
</measure></part></score-partwise>"""


@pytest.mark.parametrize("per_minute", ["0", "1e-6", "1000000000"])
def test_musicxml_metronome_out_of_range(tmp_path, per_minute):
    pytest.importorskip("music21")
    (tmp_path / "s.musicxml").write_text(musicxml(per_minute))
    with pytest.raises(MelodyError, match="tempo|metronome") as e:
        scores.read_score(tmp_path / "s.musicxml")
    assert "s.musicxml" in str(e.value)


def midi_file(path: Path, tempo: int = 500000, lyrics=("la", "li"), extra=()) -> Path:
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    trk = mido.MidiTrack()
    mid.tracks.append(trk)
    trk.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    for k, word in enumerate(lyrics):
        trk.append(mido.MetaMessage("lyrics", text=word, time=0))
        trk.append(mido.Message("note_on", note=60 + k, velocity=90, time=0))
        trk.append(mido.Message("note_off", note=60 + k, velocity=0, time=480))
    for msg in extra:
        trk.append(msg)
    mid.save(str(path))
    return path


@pytest.mark.parametrize("tempo", [1, 10_000_000])   # 1 us per beat (6e7 BPM), 6 BPM
def test_midi_tempo_out_of_range(tmp_path, tempo):
    p = midi_file(tmp_path / "s.mid", tempo=tempo)
    with pytest.raises(MelodyError, match="BPM"):
        scores.read_score(p)


def test_one_f0_at_1_hz_is_refused(tmp_path):
    (tmp_path / "f0.csv").write_text("time,Hz\n0,1\n0.5,1\n1.0,1\n")
    with pytest.raises(MelodyError, match="C1"):
        api.load_melody(f0=str(tmp_path / "f0.csv"))


# ----------------------------------------------------------------------------- property tests of the score readers
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=8), st.sampled_from(["inf", "-1", "1e999", "R", "+~", "", "abc"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                      max_leaves=12)
ustx_note = st.fixed_dictionaries({}, optional={"position": values, "duration": values, "tone": values,
                                                "lyric": values})
ustx_doc = st.fixed_dictionaries(
    {"voice_parts": st.one_of(values, st.lists(st.one_of(values, st.fixed_dictionaries(
        {"notes": st.one_of(values, st.lists(st.one_of(ustx_note, values), max_size=4))},
        optional={"position": values})), max_size=3))},
    optional={"resolution": values, "tempos": st.one_of(values, st.lists(st.fixed_dictionaries(
        {}, optional={"position": values, "bpm": values}), max_size=3)), "bpm": values})


def reads_or_refuses(path: Path) -> None:
    try:
        notes = scores.read_score(path)
    except AlignSTSError:
        return
    assert notes and all(np.isfinite(x.onset) and x.offset > x.onset for x in notes)


def test_arbitrary_ustx_raises_only_alignsts_errors(tmp_path):
    @PROPERTY
    @given(ustx_doc)
    def prop(doc):
        reads_or_refuses(ustx(tmp_path, yaml.safe_dump(doc, allow_unicode=True)))

    prop()


ust_value = st.one_of(st.text(alphabet=st.characters(blacklist_characters="\r\n\x00", max_codepoint=0x2FF),
                              max_size=8),
                      st.sampled_from(["inf", "nan", "-5", "0", "1e400", "480", "60", "R", "1,5"]))
ust_section = st.tuples(st.one_of(st.sampled_from(["SETTING", "0000", "0001", "TRACKEND"]), st.from_regex(r"\d{1,4}", fullmatch=True)),
                        st.dictionaries(st.sampled_from(["Length", "Lyric", "NoteNum", "Tempo"]), ust_value, max_size=4))


def test_arbitrary_ust_raises_only_alignsts_errors(tmp_path):
    @PROPERTY
    @given(st.lists(ust_section, max_size=5))
    def prop(sections):
        text = "".join(f"[#{name}]\n" + "".join(f"{k}={v}\n" for k, v in kv.items()) for name, kv in sections)
        (tmp_path / "s.ust").write_text(text, encoding="utf-8")
        reads_or_refuses(tmp_path / "s.ust")

    prop()


xml_text = st.one_of(st.sampled_from(["0", "1e-6", "-3", "abc", "", "1e999", "nan", "60", "120.5", "&amp;", "]]>"]),
                     st.text(alphabet="0123456789.-eE", max_size=6))


def test_arbitrary_musicxml_raises_only_alignsts_errors(tmp_path):
    pytest.importorskip("music21")

    @settings(PROPERTY, max_examples=15)
    @given(xml_text, st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=6), xml_text,
           st.sampled_from(["C", "X", "", "c"]))
    def prop(per_minute, lyric, duration, step):
        from xml.sax.saxutils import escape

        (tmp_path / "s.musicxml").write_text(musicxml(per_minute, escape(lyric), duration, step), encoding="utf-8")
        reads_or_refuses(tmp_path / "s.musicxml")

    prop()


def test_arbitrary_midi_lyrics_raise_only_alignsts_errors(tmp_path):
    import mido

    @PROPERTY
    @given(st.integers(0, 2 ** 24 - 1), st.lists(st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=6),
                                                  max_size=5),
           st.lists(st.integers(0, 10 ** 6), max_size=3))
    def prop(tempo, words, times):
        extra = [mido.MetaMessage("lyrics", text=w, time=t) for w, t in zip(words, times)]
        reads_or_refuses(midi_file(tmp_path / "s.mid", tempo=tempo, lyrics=tuple(words) or ("la",), extra=extra))

    prop()


# ----------------------------------------------------------------------------- lyrics as text: never a file
def test_lyrics_text_never_reads_a_file(monkeypatch):
    def no_reading(*a, **k):
        raise AssertionError("a text field was read as a file")

    monkeypatch.setattr(textfiles, "read_bytes", no_reading)

    @PROPERTY
    @given(st.one_of(st.text(max_size=40), st.just("@/etc/passwd"), st.just("@/dev/zero"),
                     st.text(max_size=20).map(lambda s: "@" + s)))
    def prop(text):
        try:
            out = lyr.read_lyrics_arg(api.LyricsText(text))
        except MelodyError:
            return
        assert out == text

    prop()


# ----------------------------------------------------------------------------- the web page's handler (/convert)
gr = pytest.importorskip("gradio", reason="the ui extra is not installed")
from alignsts import ui  # noqa: E402


@pytest.fixture
def served(tmp_path):
    """A Converter as the server builds it: files only from its upload folder; speech uploaded."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    speech, _sing, _midi = api.demo_files()
    shutil.copyfile(speech, uploads / "speech.wav")
    conv = ui.Converter(ui.UIConfig(max_seconds=60), ui.WorkDirs(tmp_path / "work", 3600), uploads=uploads)
    return conv, uploads / "speech.wav"


def page_error(call) -> str:
    with pytest.raises(gr.exceptions.Error) as e:
        call()
    return str(e.value)


def test_lyrics_field_is_text_not_a_server_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("zyzzyva quixotic\n")
    conv = ui.Converter(ui.UIConfig(max_seconds=60), ui.WorkDirs(tmp_path / "work", 3600))
    speech, _sing, _midi = api.demo_files()
    _sung, _plot, analysis, _mix, _status, *_stems = conv(str(speech), notes_text="C4 0.5\nD4 0.5\nE4 1",
                                                           lyrics=f"@{secret}")
    text = Path(analysis).read_text()
    assert "zyzzyva" not in text and "quixotic" not in text      # the file's words were not read
    lyrics = [n["lyric"] for n in json.loads(text)["notes"] if n["lyric"]]
    assert "secret" in "".join(lyrics).replace("-", "").replace(" ", "")   # its name was sung, as text


def test_file_fields_reveal_nothing_about_server_paths(served, tmp_path):
    conv, speech = served
    for field in ("score", "f0_file", "reference", "melody_recording", "accompaniment"):
        existing = page_error(lambda: conv(str(speech), **{field: "/etc/passwd"}))
        missing = page_error(lambda: conv(str(speech), **{field: "/etc/no-such-file-here"}))
        assert existing == missing and "uploaded" in existing
    assert page_error(lambda: conv("/etc/passwd")) == page_error(lambda: conv("/etc/nope"))


def test_convert_fields_property(served):
    conv, speech = served
    text = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["@/etc/passwd", "@/dev/zero", "auto", "fit"]))
    server_path = st.sampled_from(["/etc/passwd", "/etc/hostname", "/nonexistent/x.mid", "/dev/zero", "/proc/self/environ",
                                   "../../etc/passwd", "/etc"])

    @PROPERTY
    @given(st.sampled_from(["score", "f0_file", "reference", "melody_recording", "accompaniment"]), server_path,
           text, text, text, st.one_of(st.none(), st.floats(allow_nan=True)))
    def prop(field, path, lyrics, notes_text, transpose, bpm):
        message = page_error(lambda: conv(str(speech), lyrics=lyrics, notes_text=notes_text, transpose=transpose,
                                          bpm=bpm, **{field: path}))
        assert message.strip("\x27\"").endswith("not a file uploaded to this page")   # the same whatever the path is
        assert "root:" not in message

    prop()


def test_text_fields_are_capped(served):
    conv, speech = served
    assert "too long" in page_error(lambda: conv(str(speech), notes_text="C4 1\n" * 100_000))


# ----------------------------------------------------------------------------- --dask-scheduler on a non-Dask listener
def test_dask_scheduler_that_answers_garbage_is_one_line(work):
    pytest.importorskip("distributed")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    stop = threading.Event()

    def answer():
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.sendall(b"\xff" * 64 + b"HTTP/1.0 200 OK\r\n\r\nnot dask\n" * 4)
                except OSError:
                    pass

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        (work / "jobs.csv").write_text("speech,notes,output\ntake.wav,notes.txt,a.wav\n")
        line = refused(["convert", "--manifest", "jobs.csv", "--dask-scheduler", f"tcp://127.0.0.1:{port}"], work,
                       "Dask scheduler")
        assert "Traceback" not in line
    finally:
        stop.set()
        thread.join(2)
        server.close()


# ----------------------------------------------------------------------------- prepared data, the one writer
def test_prepare_never_writes_over_the_corpus(tmp_path):
    from alignsts.data.prepare import PrepareConfig, prepare
    from alignsts.errors import PrepareError

    corpus = tmp_path / "corpus"
    (corpus / "train").mkdir(parents=True)
    (corpus / "train" / "a.wav").write_bytes(b"RIFF")
    before = snapshot(tmp_path)
    for out in (corpus, tmp_path):
        with pytest.raises(PrepareError, match="holds\\) the corpus"):
            prepare(PrepareConfig(corpus="manifest", source=str(corpus), out=str(out)), progress=False)
    assert snapshot(tmp_path) == before


def test_the_atomic_writer_refuses_devices():
    from alignsts.atomic import atomic_write_text

    with pytest.raises(OutputError, match="not a regular file"):
        atomic_write_text("/dev/null", "x")


# ----------------------------------------------------------------------------- messages that misled
@pytest.mark.parametrize("extra, needle", [
    (["--track", "2"], "--track goes with --midi or --score"),
    (["--channel", "3"], "--channel goes with --midi"),
    (["--notes-only"], "--notes-only goes with --melody-from"),
])
def test_options_that_do_nothing_with_the_source_are_named(work, extra, needle):
    refused([*NOTES, *extra], work, needle)


def test_bpm_with_a_midi_file_is_named(work):
    refused(["convert", "take.wav", "--midi", "m.mid", "-o", "out.wav", "--bpm", "100"], work, "--bpm goes with --notes")


def test_a_note_list_given_as_f0_is_named(work):
    refused(["convert", "take.wav", "--f0", "notes.txt", "-o", "out.wav"], work, "a note list goes to --notes")


def test_a_run_folder_never_replaces_the_training_config(tmp_path, project_root):
    pytest.importorskip("torch")
    run = tmp_path / "run"
    run.mkdir()
    shutil.copyfile(project_root / "configs" / "alignsts.yaml", run / "config.yaml")
    refused(["train", "--config", run / "config.yaml", "--data", tmp_path / "nodata", "--run", run], tmp_path,
            "would overwrite the --config")


# ----------------------------------------------------------------------------- issue 17, second round: the surfaces added since
SONG = ["convert", "take.wav", "--song", "ref.wav", "-o", "out.wav"]


def test_stems_never_replace_an_input_nor_go_to_a_device(work):
    (work / "stems").mkdir()
    os.symlink(work / "take.wav", work / "stems" / "vocals.wav")
    refused([*SONG, "--stems", "stems"], work, "would overwrite the speech")
    os.unlink(work / "stems" / "vocals.wav")
    os.symlink("/dev/null", work / "stems" / "instrumental.wav")
    refused([*SONG, "--stems", "stems"], work, "not a regular file")
    refused([*SONG, "--stems", "/proc"], work, "/proc")


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_the_song_mix_never_replaces_an_input(work, suffix):
    shutil.copyfile(work / "ref.wav", work / f"out_mix{suffix}")
    if suffix == ".mp3":     # the mix keeps the output's format: <out>_mix.mp3 is the song itself
        refused(["convert", "take.wav", "--song", f"out_mix{suffix}", "-o", f"out{suffix}"], work,
                "would overwrite the --song")
    else:                    # the mix would replace the accompaniment
        refused([*NOTES, "--accompaniment", "out_mix.wav"], work, "would overwrite the --accompaniment")
    os.symlink("/dev/null", work / "dev_mix.mp3")
    refused(["convert", "take.wav", "--song", "ref.wav", "-o", "dev.mp3"], work, "not a regular file")


@pytest.mark.parametrize("endless", ["/dev/zero", "/dev/urandom", "fifo", "link.m4a"])
def test_song_range_and_accompaniment_refuse_endless_inputs(work, endless):
    if endless == "fifo":
        os.mkfifo(work / "fifo")
    elif endless == "link.m4a":
        os.symlink("/dev/zero", work / "link.m4a")
    refused(["range", endless], work, f"singing {endless}")
    refused(["convert", "take.wav", "--song", endless, "-o", "out.wav"], work, f"--song {endless}")
    refused([*NOTES, "--accompaniment", endless], work, f"--accompaniment {endless}")
    refused(["convert", endless, "--notes", "notes.txt", "-o", "out.wav"], work, f"speech {endless}")


def test_range_refuses_a_file_whose_header_is_too_long(work, monkeypatch):
    av = pytest.importorskip("av")
    (work / "huge.m4a").write_bytes(b"\x00" * 64)
    monkeypatch.setattr(av, "open", lambda *a, **k: _FakeContainer(7200.0))
    refused(["range", "huge.m4a"], work, "120.0 minutes long")


class _FakeStream:
    type = "audio"
    rate = 48000
    duration = None
    time_base = None

    def __init__(self):
        self.codec_context = type("C", (), {"sample_rate": 48000, "channels": 2})()


class _FakeContainer:
    """A container whose header claims ``seconds`` (what a forged M4A says): nothing is decoded."""

    def __init__(self, seconds: float):
        self.streams = [_FakeStream()]
        self.duration = int(seconds * 1_000_000)

    def decode(self, stream):
        raise AssertionError("a file too long by its header must not be decoded")

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_m4a_that_decodes_past_its_header_is_refused(tmp_path):
    av = pytest.importorskip("av")

    path = tmp_path / "forged.m4a"
    sr = 24000
    t = np.arange(int(13 * sr)) / sr
    with av.open(str(path), "w") as out:
        st_ = out.add_stream("aac", rate=sr)
        st_.layout = "mono"
        for a in range(0, len(t), 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(
                0.3 * np.sin(2 * np.pi * 220 * t[a:a + 1024])[None].astype(np.float32)), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sr, a
            for pkt in st_.encode(frame):
                out.mux(pkt)
        for pkt in st_.encode(None):
            out.mux(pkt)
    assert api.load_input(str(path), "speech").shape[0] > 12 * 24000      # as it is: read
    forge_duration(path, 1.0)                                              # a header that lies
    assert abs(api.audio_seconds(path) - 1.0) < 0.01
    with pytest.raises(AlignSTSError, match="more than the 1.0 s its header gives"):
        api.load_input(str(path), "speech")


def forge_duration(path: Path, seconds: float) -> None:
    """Rewrite an MP4/M4A's mvhd and mdhd durations (and tkhd's, to 1 unit): its header then claims
    ``seconds`` whatever its samples hold (FFmpeg trusts it), as a forged or endless file would."""
    import struct

    data = bytearray(path.read_bytes())
    for box in (b"mvhd", b"mdhd", b"tkhd"):
        i = data.find(box)
        while i >= 0:
            v1 = data[i + 4] == 1
            n = 8 if v1 else 4
            if box == b"tkhd":
                off = i + 8 + (20 if v1 else 12) + 4
                data[off:off + n] = (1).to_bytes(n, "big")
            else:
                ts_off = i + 8 + (16 if v1 else 8)
                scale = struct.unpack(">I", data[ts_off:ts_off + 4])[0]
                data[ts_off + 4:ts_off + 4 + n] = int(seconds * scale).to_bytes(n, "big")
            i = data.find(box, i + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "5"])
def test_loudness_values_out_of_range(work, value):
    refused([*NOTES, "--loudness", value], work, "--loudness")


# ----------------------------------------------------------------------------- each reader sees its own names
# (API keyword, CLI argv tail, page field, value) -> the message names the option as that caller spells it
NAMED = [
    ("tempo", ["--tempo", "0"], "'Tempo factor'", 0),
    ("bpm", ["--bpm", "5"], "'BPM'", 5),
    ("transpose", ["--transpose", "99"], "'Transpose'", "99"),
    ("formant", ["--formant", "2"], "'Formant factor'", 2),
    ("range", ["--range", "Z9-A1"], "'Your range'", "Z9-A1"),
    ("vibrato_depth", ["--vibrato-depth", "999"], "'Vibrato depth'", 999),
    ("vibrato_rate", ["--vibrato-rate", "-1"], "'Vibrato rate'", -1),
]


@pytest.mark.parametrize("keyword, argv, label, value", NAMED, ids=[n[0] for n in NAMED])
def test_messages_name_the_option_as_each_caller_spells_it(work, served, keyword, argv, label, value):
    flag = argv[0]
    line = refused([*NOTES, *argv], work, flag)
    assert str(value) in line.split(flag, 1)[1], line          # the value given, after the flag
    if keyword.startswith("vibrato"):
        with pytest.raises(AlignSTSError) as e:
            api.engine_options(api.engine_config("score"), "score", **{keyword: value})
    else:
        with pytest.raises(AlignSTSError) as e:
            api.convert(str(work / "take.wav"), notes=str(work / "notes.txt"), **{keyword: value})
    message = str(e.value)
    assert message.startswith(keyword) and "--" not in message, message
    conv, speech = served
    page_kw = {"range": "sing_range"}.get(keyword, keyword)
    page = page_error(lambda: conv(str(speech), notes_text="C4 0.5\nD4 1", **{page_kw: value}))
    assert label in page and "--" not in page and f"{keyword} " not in page, page


@pytest.mark.parametrize("argv, needle", [
    (["--lead-in", "-1"], "--lead-in (seconds) must be"),
    (["--loudness", "5"], "--loudness (LUFS"),
    (["--lyrics", ""], "--lyrics: no words"),
    (["--lyrics", "la\x00la"], "--lyrics: the text contains a NUL"),
    (["--midi", "m.mid", "--track", "7"], "no --track 7"),
])
def test_cli_messages_name_flags(work, argv, needle):
    base = NOTES if "--midi" not in argv else ["convert", "take.wav", "-o", "out.wav"]
    refused([*base, *argv], work, needle)


@pytest.mark.parametrize("argv, needle", [
    (["--device", "foo"], "--device must be auto, cpu"),
    (["--seed", "-1"], "--seed must be a whole number"),
])
def test_neural_options_are_named_as_flags_not_config_fields(work, argv, needle):
    line = refused(["convert", "take.wav", "-r", "ref.wav", "-o", "out.wav", "--engine", "neural", *argv], work, needle)
    assert "config." not in line


@pytest.mark.parametrize("flag", ["--midi", "--notes", "--f0", "--score", "--melody-from", "--song", "--reference"])
def test_a_missing_melody_file_names_its_option(work, flag):
    refused(["convert", "take.wav", flag, "nope.file", "-o", "out.wav"], work, f"{flag} nope.file: no such file")


@pytest.mark.parametrize("kwargs, needle", [
    (dict(engine="reference", notes="notes.txt"), "needs reference"),
    (dict(reference="ref.wav", lyrics="la"), "lyrics go on"),
    (dict(reference="ref.wav", notes="notes.txt"), "give either reference"),
    (dict(notes="notes.txt", lead_in=-1), "lead_in (seconds)"),
    (dict(notes="notes.txt", loudness=5), "loudness (LUFS"),
    (dict(notes="notes.txt", transpose=36), "smaller transpose"),
    (dict(f0="notes.txt"), "a note list goes to notes"),
    (dict(song="ref.wav", separator="nope"), "separator nope"),
])
def test_api_messages_name_keywords_not_flags(work, kwargs, needle):
    kwargs = {k: str(work / v) if isinstance(v, str) and v.endswith((".txt", ".wav")) else v for k, v in kwargs.items()}
    with pytest.raises(AlignSTSError) as e:
        api.convert(str(work / "take.wav"), **kwargs)
    assert needle in str(e.value) and "--" not in str(e.value), str(e.value)


def test_a_list_of_options_names_each_page_field_once(served):
    from alignsts.errors import option, render

    raw = f"use {option('reference')}, or {option('midi', 'notes', 'score')}"
    assert render(raw) == "use reference, or midi, notes, score"
    assert render(raw, "cli") == "use --reference, or --midi, --notes, --score"
    assert render(raw, "page") == "use 'Sung reference', or 'MIDI / score', 'Notes'"
    conv, speech = served
    message = page_error(lambda: conv(str(speech), engine="score"))
    assert message.count("'MIDI / score'") == 1 and "--" not in message, message


@pytest.mark.parametrize("folder", ["/dev", "/proc", "/sys", "/dev/mqueue"])
def test_no_output_goes_into_a_system_folder(folder):
    """Issue 17: /dev, /proc and /sys hold devices and kernel files: an output there is refused
    before any work, also as root (who could create /dev/vocals.wav as a plain file)."""
    from alignsts import paths

    if not Path(folder).is_dir():
        pytest.skip(f"{folder} is not on this machine")
    with pytest.raises(OutputError, match="devices and kernel files"):
        paths.check_writable(Path(folder) / "vocals.wav", "vocals stem")
    assert not (Path(folder) / "vocals.wav").exists()


def test_a_bad_value_names_its_flag_once(tmp_path):
    """'argument --formant: --formant (...)' read twice: the flag is named once."""
    speech, _sing, midi = api.demo_files()
    shutil.copy(speech, tmp_path / "take.wav")
    shutil.copy(midi, tmp_path / "m.mid")
    for flag, value in (("--formant", "9"), ("--range", "Q")):
        line = refused(["convert", "take.wav", "--midi", "m.mid", "-o", "out.wav", flag, value], tmp_path, needle=flag)
        assert line.count(flag) == 1, line
