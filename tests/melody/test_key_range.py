"""The user's own singing range: parsing, measuring, and auto/fit decisions inside it."""
import numpy as np
import pytest

from alignsts.errors import InvalidValueError, MelodyError
from alignsts.melody import key
from alignsts.melody.notes import midi_to_hz


def _notes_f0(midi_lo: float, midi_hi: float, n: int = 600) -> np.ndarray:
    """A melody moving evenly between two MIDI notes: [n] Hz."""
    return midi_to_hz(np.linspace(midi_lo, midi_hi, n))


@pytest.mark.parametrize("text,low,high,source", [
    ("A2-E4", 45, 64, "range"), ("a2 to e4", 45, 64, "range"), ("F#3..C#5", 54, 73, "range"),
    ("Bb2-D4", 46, 62, "range"), ("baritone", 45, 69, "voice"), ("Soprano", 60, 84, "voice"),
])
def test_parse_range(text, low, high, source):
    r = key.parse_range(text)
    assert (r.low, r.high, r.source) == (low, high, source)
    assert key.parse_range(key.range_setting(text)) == r        # the canonical text reads back the same


@pytest.mark.parametrize("bad", ["E4-A2", "A2-A2", "A2", "H2-C3", "A0-C4", "A2-C9", "tenorr", 3, ["A2", "E4"]])
def test_parse_range_rejects_nonsense(bad):
    with pytest.raises(InvalidValueError, match="range"):
        key.parse_range(bad)


def test_note_names_round_trip():
    assert [key.note_name(m) for m in (45, 60, 61, 69.4, 83.6)] == ["A2", "C4", "C#4", "A4", "C6"]


def test_measure_range_takes_robust_percentiles():
    f0 = np.r_[_notes_f0(48, 60, 1000), np.zeros(200), [2000.0, 30.0]]   # C3..C4, silence, two blips
    r = key.measure_range(f0)
    assert r.source == "measured"
    assert 48 <= r.low <= 49.5 and 59 <= r.high <= 60            # the blips do not stretch it
    assert key.nearest_voice(key.measure_range(_notes_f0(62, 82, 1000))) in ("mezzo", "soprano")


def test_measure_range_needs_singing():
    with pytest.raises(MelodyError, match="too little singing"):
        key.measure_range(np.r_[np.zeros(1000), np.full(50, 220.0)])  # 0.27 s voiced
    r = key.measure_range(np.full(400, 220.0))                         # one held note: widened
    assert r.high - r.low >= key.MIN_RANGE_ST


def test_auto_puts_the_melody_inside_the_range():
    """A speaker who sings at her speaking pitch (the guess from speech would keep a melody
    +11.7 st above it); her range, given, moves the melody an octave down into it."""
    speech = np.full(400, 229.0)
    melody = _notes_f0(67, 77)                                          # G4..F5, median ~C5
    assert key.decide("auto", speech, melody).transpose == 0
    d = key.decide("auto", speech, melody, sing_range="F3-D4")
    assert d.transpose == -12 and d.user_range == "F3-D4"
    assert "your range F3-D4" in d.reason and d.register_octaves == 1


def test_auto_with_a_voice_type_lets_the_cues_choose_among_fitting_octaves():
    speech = np.full(400, 110.0)
    melody = _notes_f0(50, 57)                                          # D3..A3: a tenor fits it as written
    d = key.decide("auto", speech, melody, sing_range="tenor")
    assert d.transpose == 0 and d.user_range == "C3-C5 (tenor)"
    # a soprano needs it higher: one octave (the nearest that fits), not two
    assert key.decide("auto", speech, melody, sing_range="soprano").transpose == 12


def test_auto_keeps_the_users_own_singing_when_it_fits():
    speech = np.full(400, 110.0)
    melody = _notes_f0(52, 58)
    own = key.VoiceCues(register_st=key.median_semitones(melody) - key.median_semitones(speech),
                        formant_ratio=1.0, envelope_match=0.9)
    assert key.decide("auto", speech, melody, own, sing_range="baritone").transpose == 0
    assert key.decide("auto", speech, melody, own, sing_range="soprano").transpose == 12   # does not fit: moves


def test_octave_errors_in_one_tail_do_not_keep_a_melody_out_of_a_narrow_range():
    """A separated vocal's melody around A2 with 15 % of its frames read on a wrong partial (3x
    F0, as Praat on a stem can: en-nhss-10-other's stem melody has 10th/50th/90th percentiles
    43.8 / 45.8 / 63.1 MIDI) is wider than a 4-semitone range G3-B3: its median, not the middle
    of its 10th-90th percentiles (pulled up by those frames), is what gets placed, so it moves one
    octave up into the range (both with 'auto' and 'fit')."""
    speech = np.full(400, 220.0)
    melody = _notes_f0(44, 47, 850)
    melody = np.r_[melody, 3.0 * melody[:150]]                         # 150 of 1000 frames on the 3rd partial
    other = key.VoiceCues(register_st=key.median_semitones(melody) - key.median_semitones(speech),
                          formant_ratio=0.86, envelope_match=0.6)
    assert key.decide("auto", speech, melody, other, sing_range="G3-B3").transpose == 12
    assert key.decide("fit", speech, melody, other, sing_range="G3-B3").transpose in (11, 12, 13)


def test_fit_shifts_into_the_range():
    speech = np.full(400, 110.0)
    melody = _notes_f0(64, 71)                                          # E4..B4
    d = key.decide("fit", speech, melody, sing_range="A2-E3")           # a narrow low range
    shifted = key.median_semitones(melody) + 69 + d.transpose
    assert 45 <= shifted <= 52
    lo, hi = np.percentile(69 + 12 * np.log2(melody / 440.0) + d.transpose, [10, 90])
    assert lo >= 45 - 1e-6 and hi <= 52 + 1e-6


def test_manual_transpose_ignores_the_range():
    d = key.decide(3, np.full(400, 110.0), _notes_f0(60, 64), sing_range="bass")
    assert d.transpose == 3 and d.mode == "manual"
