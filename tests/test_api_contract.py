"""The API contract: every bad argument of convert, load_melody and save raises an
AlignSTSError subclass (never TypeError/ValueError/MemoryError), in one line; audio sanity."""
from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import soundfile as sf
from hypothesis import strategies as st

import alignsts
from alignsts import api
from alignsts.config import load_yaml
from alignsts.engines.reference import ReferenceConfig
from alignsts.engines.score import ScoreConfig
from alignsts.errors import AlignSTSError, AudioInputError, ConfigError, OutputError
from alignsts.melody.notes import Note

SR = 24000


@pytest.fixture(scope="module")
def speech():
    wav, sr = sf.read(str(api.demo_files()[0]), dtype="float32")
    return wav, sr


@pytest.fixture(scope="module")
def midi():
    return api.demo_files()[2]


def _raises(fn, *args, **kw) -> str:
    with pytest.raises(AlignSTSError) as e:
        fn(*args, **kw)
    msg = str(e.value)
    assert msg and "\n" not in msg
    return msg


@pytest.mark.parametrize("sr", ["48000", math.nan, -8000, 0, 1, 1e7, 44100.5, [24000]])
def test_convert_bad_sample_rate(speech, midi, sr):
    msg = _raises(api.convert, speech[0], sr, midi=midi)
    assert "sample rate" in msg


@pytest.mark.parametrize("wav,needle", [
    (np.zeros((48000, 9)), "at most 8 channels"),
    (np.zeros((3, 4, 5)), "shape"),
    (np.ones(48000, dtype=complex), "complex"),
    (np.ones(48000, dtype=bool), "true/false"),
    (np.array(["a"] * 48000), "text"),
    (np.full(48000, np.nan), "NaN/inf"),
    (np.zeros(100), "too short"),
    (np.full(48000, 0.3), "silent"),                      # DC only
    (np.full(48000, 1e300), "silent"),                    # a huge constant is still no sound
    (np.zeros(0), "no samples"),
])
def test_convert_bad_waveforms(midi, wav, needle):
    assert needle in _raises(api.convert, wav, SR, midi=midi)


@pytest.mark.parametrize("speech_arg", [123, None, b"x.wav", ("a.wav", SR), (np.zeros(10),), {"wav": 1}])
def test_convert_bad_speech_argument(midi, speech_arg):
    _raises(api.convert, speech_arg, midi=midi)


def test_convert_path_with_sr(midi):
    assert "sr is only for a waveform" in _raises(api.convert, "x.wav", 48000, midi=midi)


@pytest.mark.parametrize("kw,needle", [
    (dict(engine="foo"), "unknown engine"),
    (dict(engine=3), "engine must be one of"),
    (dict(transpose=math.nan), "transpose must be 'auto' or 'fit' or semitones from -36 to 36"),
    (dict(transpose=1000), "-36 to 36"),
    (dict(transpose=math.inf), "-36 to 36"),
    (dict(transpose="up"), "-36 to 36"),
    (dict(formant=2.0), "formant (1 = your own voice colour) must be a number from 0.8 to 1.25, got 2"),
    (dict(formant=True), "formant"),
    (dict(formant=math.nan), "formant"),
    (dict(formant="bright"), "formant"),
    (dict(tempo=0), "tempo must be a number from 0.1 to 10"),
    (dict(tempo=1e-6), "tempo must be"),
    (dict(tempo=1e6), "tempo must be"),
    (dict(tempo="fast"), "tempo must be"),
    (dict(tempo=math.nan), "tempo must be"),
    (dict(track=-1), "track must be"),
    (dict(track="a"), "track must be"),
    (dict(channel=16), "channel must be a MIDI channel from 0 to 15"),
    (dict(channel=-1), "channel"),
    (dict(bpm=0), "bpm must be"),
    (dict(progress=5), "progress must be a function"),
    (dict(config={"transpose": 0}), "config"),
    (dict(config=ReferenceConfig()), "ScoreConfig"),
    (dict(config=ScoreConfig(sustain=[1, 2])), "sustain must be a number from 0 to 1"),
    (dict(config=ScoreConfig(max_boost_db=math.inf)), "max_boost_db"),
    (dict(notes_only="yes"), "notes_only must be true or false"),
])
def test_convert_bad_options(speech, midi, kw, needle):
    assert needle in _raises(api.convert, speech, midi=midi, **kw)


def test_convert_bad_reference_config(speech):
    cfg = ReferenceConfig()
    cfg.align.radius = -5
    assert "radius must be a whole number from 1 to 200" in _raises(api.convert, speech, reference=speech, config=cfg)


@pytest.mark.parametrize("f0,needle", [
    (np.full((1200, 2), 200.0), "shape [1200, 2]"),
    (np.full(1200, 200.0) * 1j, "complex"),
    (np.ones(1200, dtype=bool), "true/false"),
    (np.full(1200, 1e9), "F0 must be 0 (unvoiced) to 2000 Hz"),
    (np.full(1200, -5.0), "negative"),
    (np.array([200.0, math.nan] * 600), "NaN or infinite"),
    (np.zeros(1200), "no voiced"),
    (np.full(int(3601 * SR / 128), 200.0), "at most 60 minutes"),
    ([], "no F0 values"),
])
def test_load_melody_bad_f0(f0, needle):
    assert needle in _raises(api.load_melody, f0=f0)


@pytest.mark.parametrize("kw,needle", [
    (dict(), "exactly one melody source"),
    (dict(midi=5), "midi: expected a file path"),
    (dict(notes=[1, 2, 3]), "list of alignsts.melody.notes.Note"),
    (dict(notes=5), "note-list path or a list of Note"),
    (dict(notes=[Note(0, 1, 0.5)]), "outside the singable range"),
    (dict(notes=[Note(0, 1, 130.0)]), "outside the singable range"),
    (dict(notes=[Note(0, 1e9, 60.0)]), "at most 60 minutes"),
    (dict(notes=[Note(0, -1, 60.0)]), "non-positive duration"),
    (dict(notes=[Note(0, 1, 60.0)], tempo=0), "tempo must be"),
    (dict(notes="no_such_file.txt"), "no_such_file.txt"),
    (dict(melody_from=5), "melody_from: expected a file path"),
])
def test_load_melody_bad_arguments(kw, needle):
    assert needle in _raises(api.load_melody, **kw)


def test_convert_rejects_a_non_melody(speech):
    assert "Melody" in _raises(api.convert, speech, melody="tune.mid")


@pytest.fixture(scope="module")
def result(speech):
    return api.convert(speech, notes=[Note(0.0, 0.6, 60.0), Note(0.6, 1.2, 62.0), Note(1.2, 2.4, 64.0)])


@pytest.mark.parametrize("make_args,needle", [
    (lambda d: ("not a result", d / "o.wav"), "Result"),
    (lambda d: (None, d / "o.wav"), "Result"),
    (lambda d: ("R", 5), "must be a file name"),
    (lambda d: ("R", d / "o.m4a"), "unsupported output format"),
    (lambda d: ("R", d / "nodir" / "o.wav"), "does not exist"),
    (lambda d: ("R", d), "unsupported output format"),
    (lambda d: ("R", d / "o.wav", "48000"), "output sample rate (sr) must be a whole number from 8000 to 192000"),
    (lambda d: ("R", d / "o.ogg", 10_000_000), "from 8000 to 192000"),
    (lambda d: ("R", d / "o.flac", 1_000_000), "from 8000 to 192000"),
    (lambda d: ("R", d / "o.wav", math.nan), "output sample rate"),
])
def test_save_bad_arguments(tmp_path, result, make_args, needle):
    args = list(make_args(tmp_path))
    if args[0] == "R":
        args[0] = result
    assert needle in _raises(api.save, *args)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_save_to_a_folder_named_like_audio(tmp_path, result):
    (tmp_path / "x.wav").mkdir()
    assert "is a directory" in _raises(api.save, result, tmp_path / "x.wav")


def test_save_plot_failure_leaves_nothing(tmp_path, result):
    msg = _raises(api.save, result, tmp_path / "o.wav", plot=tmp_path / "nodir" / "p.png")
    assert "nodir" in msg and not list(tmp_path.iterdir())
    assert "PNG" in _raises(api.save, result, tmp_path / "o.wav", plot=tmp_path / "p.jpg")
    assert not list(tmp_path.iterdir())


def test_save_never_writes_over_an_input(tmp_path, midi):
    src = tmp_path / "take.wav"
    wav, sr = sf.read(str(api.demo_files()[0]), dtype="float32")
    sf.write(str(src), wav, sr)
    before = src.read_bytes()
    res = api.convert(src, notes=[Note(0.0, 0.6, 60.0), Note(0.6, 1.2, 62.0)])
    assert "would overwrite the input" in _raises(api.save, res, src)
    assert "would overwrite the input" in _raises(api.save, res, tmp_path / "." / "take.wav")
    assert src.read_bytes() == before


def test_trust_checkpoint_never_from_a_config_file(tmp_path):
    from alignsts.engines.neural import NeuralConfig

    p = tmp_path / "c.yaml"
    p.write_text("checkpoint: x\ntrust_checkpoint: true\n")
    with pytest.raises(ConfigError, match="trust_checkpoint cannot be set in a config file; use --trust-checkpoint"):
        load_yaml(NeuralConfig, p)


def test_yaml_floats_in_any_notation(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("balance_strength: 1e-3\nmax_gain_db: 3.5E+1\nalign:\n  silence_weight: .5\n")
    cfg = load_yaml(ReferenceConfig, p)
    assert cfg.balance_strength == 0.001 and cfg.max_gain_db == 35.0 and cfg.align.silence_weight == 0.5


def test_integer_pcm_arrays_are_scaled_by_dtype(speech):
    wav, sr = speech
    as_int16 = np.round(wav * 32767).astype(np.int16)
    x16 = api.load_input((as_int16, sr), "speech")
    x32 = api.load_input(((wav.astype(np.float64) * 2**31 * 0.999).astype(np.int32), sr), "speech")
    ref = api.load_input((wav, sr), "speech")
    assert np.all(np.isfinite(x16)) and np.max(np.abs(x16)) <= 1.0
    np.testing.assert_allclose(x16, ref, atol=2e-3)
    np.testing.assert_allclose(x32, ref * 0.999, atol=2e-3)


def test_float_beyond_one_is_normalised_with_a_warning(speech, caplog):
    wav, sr = speech
    with caplog.at_level(logging.WARNING, logger="alignsts"):
        loud = api.load_input((wav / np.max(np.abs(wav)) * 32767.0, sr), "speech")
    assert np.max(np.abs(loud)) <= 1.0 + 1e-6 and np.max(np.abs(loud)) > 0.99
    assert any("beyond the -1..1" in r.getMessage() for r in caplog.records)


def test_float_file_at_pcm_scale_is_normalised(tmp_path, speech, caplog):
    wav, sr = speech
    p = tmp_path / "unnormalised.wav"
    sf.write(str(p), (wav / np.max(np.abs(wav)) * 32767.0).astype(np.float32), sr, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="alignsts"):
        x = api.load_input(p, "speech")
    assert np.max(np.abs(x)) <= 1.0 + 1e-6
    assert any("scaled down" in r.getMessage() for r in caplog.records)


def test_huge_finite_doubles_are_named_as_such(tmp_path, caplog):
    p = tmp_path / "huge.wav"
    t = np.arange(48000) / SR
    sf.write(str(p), 1e300 * np.sin(2 * np.pi * 220 * t), SR, subtype="DOUBLE")
    with caplog.at_level(logging.WARNING, logger="alignsts"):
        x = api.load_input(p, "speech")
    assert np.all(np.isfinite(x))
    assert any("1e+300" in r.getMessage() for r in caplog.records)


def test_every_exported_error_is_an_alignsts_error():
    import alignsts.errors as errors

    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == errors.__name__:
            assert issubclass(obj, AlignSTSError), name
    assert alignsts.convert is api.convert


GARBAGE = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=6), st.binary(max_size=6), st.lists(st.integers(), max_size=3),
                    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
                    st.tuples(st.integers(), st.integers()), st.just(object()), st.just(np.zeros((3, 3))),
                    st.just(np.array([1 + 2j])), st.just(float("inf")))
CONVERT_KWARGS = ["sr", "reference", "melody", "midi", "notes", "f0", "melody_from", "score", "lyrics", "track",
                  "channel", "tempo", "bpm", "notes_only", "engine", "transpose", "formant", "lead_in",
                  "accompaniment", "loudness", "config", "progress", "song", "separator"]


def test_convert_with_garbage_in_any_argument_raises_only_alignsts_errors(speech):
    """Anything in any keyword: a Result or an AlignSTSError, never another exception."""
    from hypothesis import given, settings

    notes = [Note(0.0, 0.8, 60.0), Note(0.8, 1.6, 64.0)]

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(st.sampled_from(CONVERT_KWARGS), GARBAGE)
    def prop(name, value):
        kw = {"notes": notes, name: value}
        if name in ("reference", "midi", "f0", "melody_from", "melody"):
            kw.pop("notes")
        try:
            api.convert(speech[0], kw.pop("sr", speech[1]), **kw)
        except AlignSTSError as e:
            assert str(e) and "\n" not in str(e)

    prop()


def test_load_melody_and_save_with_garbage_raise_only_alignsts_errors(tmp_path, result):
    from hypothesis import given, settings

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(st.sampled_from(["midi", "notes", "f0", "melody_from", "track", "channel", "tempo", "bpm", "notes_only"]),
           GARBAGE)
    def melody_prop(name, value):
        kw = {"notes": [Note(0.0, 1.0, 60.0)], name: value}
        if name in ("midi", "f0", "melody_from"):
            kw.pop("notes")
        try:
            api.load_melody(**kw)
        except AlignSTSError:
            pass

    @settings(max_examples=30, deadline=None, derandomize=True, database=None)
    @given(st.sampled_from(["path", "sr", "plot"]), GARBAGE)
    def save_prop(name, value):
        kw = {"path": tmp_path / "o.wav", name: value}
        try:
            api.save(result, kw.pop("path"), **kw)
        except AlignSTSError:
            pass
        for p in tmp_path.iterdir():
            p.unlink()

    melody_prop()
    save_prop()
