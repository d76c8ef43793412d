"""Melody parsing: note names, note lists, MIDI files (built here with mido), F0 files."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.errors import AlignSTSError, MelodyError
from alignsts.melody import notes as nt

DT = fe.HOP / fe.SAMPLE_RATE


def _triples(notes):
    return [(round(x.onset, 6), round(x.offset, 6), x.pitch) for x in notes]


# ---------------------------------------------------------------- note names

@pytest.mark.parametrize("name,number", [
    ("C4", 60), ("F#3", 54), ("Bb2", 46), ("61", 61), ("A4", 69), ("c4", 60), ("Cb4", 59),
    ("B#3", 60), ("C-1", 0), ("G9", 127), (" D4 ", 62), ("F♯3", 54), ("B♭2", 46), ("61.5", 61.5),
    ("Ebb4", 62), ("bb2", 46),
])
def test_note_number(name, number):
    assert nt.note_number(name) == number


@pytest.mark.parametrize("bad", ["H4", "C", "", "4C", "C4x", "do4", "C#", "-3", "C 4"])
def test_note_number_rejects_bad_names(bad):
    with pytest.raises(MelodyError, match="not a note name"):
        nt.note_number(bad)


def test_midi_hz_round_trip():
    assert nt.midi_to_hz(69) == pytest.approx(440.0)
    assert nt.midi_to_hz(57) == pytest.approx(220.0)
    assert nt.hz_to_midi(261.6255653) == pytest.approx(60.0, abs=1e-6)
    m = np.array([40.0, 60.5, 83.25])
    np.testing.assert_allclose(nt.hz_to_midi(nt.midi_to_hz(m)), m)
    assert nt.Note(0.0, 0.5, 69).hz == pytest.approx(440.0)
    assert nt.Note(0.25, 1.0, 60).duration == pytest.approx(0.75)


# ---------------------------------------------------------------- note lists

def test_note_list_in_seconds_with_rests_and_comments():
    text = """
    # a comment line
    C4 0.5
    rest 0.25       # a rest
    G4, 0.5
    r 0.25
    61 1.0
    - 0.5
    Bb2 0.5
    """
    notes = nt.parse_note_list(text)
    assert _triples(notes) == [(0.0, 0.5, 60), (0.75, 1.25, 67), (1.5, 2.5, 61), (3.0, 3.5, 46)]


def test_note_list_leading_rest_delays_the_first_note():
    notes = nt.parse_note_list("rest 1\nC4 0.5\n")
    assert _triples(notes) == [(1.0, 1.5, 60)]


def test_note_list_in_beats_with_bpm():
    text = "C4 1\nD4 2\nrest 1\nE4 0.5\n"
    notes = nt.parse_note_list(text, bpm=120)
    assert _triples(notes) == [(0.0, 0.5, 60), (0.5, 1.5, 62), (2.0, 2.25, 64)]
    # the same list at 60 bpm is twice as long; without bpm durations are seconds
    assert _triples(nt.parse_note_list(text, bpm=60)) == [(0.0, 1.0, 60), (1.0, 3.0, 62), (4.0, 4.5, 64)]
    assert _triples(nt.parse_note_list(text)) == [(0.0, 1.0, 60), (1.0, 3.0, 62), (4.0, 4.5, 64)]


def test_note_list_accepts_sharps():
    notes = nt.parse_note_list("C#4 0.5   # a sharp, then a comment\nF#3 0.5\n")
    assert _triples(notes) == [(0.0, 0.5, 61), (0.5, 1.0, 54)]


@pytest.mark.parametrize("text,bpm,message", [
    ("C4 0.5\nD4 -1\n", None, r"notes:2: duration must be positive"),
    ("C4 0\n", None, r"notes:1: duration must be positive"),
    ("C4 0.5\nrest 0\n", None, r"notes:2: duration must be positive"),
    ("C4 nan\n", None, r"notes:1: duration must be positive"),
    ("C4 0.5\nH4 0.5\n", None, r"notes:2: not a note name: 'H4'"),
    ("C4 half\n", None, r"notes:1: duration 'half' is not a number"),
    ("C4\n", None, r"notes:1: expected 'NOTE DURATION'"),
    ("C4 0.5 loud\n", None, r"notes:1: expected 'NOTE DURATION'"),
    ("", None, r"notes: contains no notes"),
    ("# only a comment\n\n", None, r"contains no notes"),
    ("rest 1\nr 0.5\n", None, r"contains no notes"),
    ("C4 1\n", 0, r"^bpm must be a number from 10 to 1000, got 0"),
    ("C4 1\n", -90, r"^bpm must be a number from 10 to 1000, got -90"),
    ("C-5 1\n", None, r"notes:1: C-5: note -48 .* outside the singable range"),
    ("G15 1\n", None, r"notes:1: G15: note 199 .* outside the singable range"),
    ("C4 1e9\n", None, r"notes:1: the melody would last .* at most 60 minutes"),
    ("C4 1\nC4 1\n", 1e-9, r"^bpm must be a number from 10 to 1000"),
])
def test_note_list_errors(text, bpm, message):
    with pytest.raises(AlignSTSError, match=message):
        nt.parse_note_list(text, bpm=bpm)


def test_read_note_list_file(tmp_path):
    p = tmp_path / "tune.txt"
    p.write_text("C4 1  # first\nrest 1\nG4 2\n", encoding="utf-8")
    assert _triples(nt.read_note_list(p, bpm=120)) == [(0.0, 0.5, 60), (1.0, 2.0, 67)]
    p.write_text("C4 1\nC4 -2\n", encoding="utf-8")
    with pytest.raises(MelodyError, match=r"tune\.txt:2: duration must be positive"):
        nt.read_note_list(p)


def test_read_note_list_unreadable(tmp_path):
    with pytest.raises(MelodyError, match="cannot read note list"):
        nt.read_note_list(tmp_path / "missing.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81\x90" * 20)
    with pytest.raises(MelodyError, match="cannot read note list"):
        nt.read_note_list(binary)


def test_scale_tempo():
    notes = [nt.Note(0.0, 1.0, 60), nt.Note(1.5, 2.0, 62)]
    assert _triples(nt.scale_tempo(notes, 2.0)) == [(0.0, 0.5, 60), (0.75, 1.0, 62)]
    assert _triples(nt.scale_tempo(notes, 0.5)) == [(0.0, 2.0, 60), (3.0, 4.0, 62)]
    for bad in (0.0, -1.0):
        with pytest.raises(MelodyError, match="tempo must be positive"):
            nt.scale_tempo(notes, bad)


def test_notes_to_f0_on_the_front_end_grid():
    notes = [nt.Note(0.1, 0.3, 60), nt.Note(0.4, 0.5, 69)]
    f0 = nt.notes_to_f0(notes)
    t = fe.frame_times(len(f0))
    assert len(f0) == int(np.ceil(0.5 / DT)) + 1
    np.testing.assert_allclose(f0[(t >= 0.1) & (t < 0.3)], nt.midi_to_hz(60))
    np.testing.assert_allclose(f0[(t >= 0.4) & (t < 0.5)], 440.0)
    assert np.all(f0[t < 0.1] == 0) and np.all(f0[(t >= 0.3) & (t < 0.4)] == 0) and np.all(f0[t >= 0.5] == 0)
    # fixed length and a lead shift
    g = nt.notes_to_f0(notes, n=200, lead_s=0.2)
    assert len(g) == 200
    tg = fe.frame_times(200)
    np.testing.assert_allclose(g[(tg >= 0.3) & (tg < 0.5)], nt.midi_to_hz(60))
    assert np.all(g[tg < 0.3] == 0)


# ---------------------------------------------------------------- MIDI

TPB = 480


def _midi(path, tracks, tpb=TPB, type=1):
    """Write a MIDI file; ``tracks`` is a list of lists of mido messages (delta times in ticks)."""
    import mido

    mid = mido.MidiFile(type=type, ticks_per_beat=tpb)
    for msgs in tracks:
        trk = mido.MidiTrack()
        trk.extend(msgs)
        mid.tracks.append(trk)
    mid.save(str(path))
    return path


def _seq(notes, channel=0, gap=0):
    """Messages for consecutive notes [(midi, beats), ...]; ``gap`` ticks of silence before each."""
    import mido

    out = []
    for pitch, beats in notes:
        out.append(mido.Message("note_on", note=pitch, velocity=90, channel=channel, time=gap))
        out.append(mido.Message("note_off", note=pitch, velocity=0, channel=channel, time=int(beats * TPB)))
    return out


def test_midi_tempo_changes(tmp_path):
    import mido

    conductor = [mido.MetaMessage("set_tempo", tempo=500000, time=0),          # 120 bpm
                 mido.MetaMessage("set_tempo", tempo=1000000, time=2 * TPB)]   # 60 bpm from beat 2
    # note_on with velocity 0 ends a note as well (running-status style)
    melody = [mido.Message("note_on", note=60, velocity=80, time=0),
              mido.Message("note_on", note=60, velocity=0, time=TPB),
              mido.Message("note_on", note=62, velocity=80, time=0),
              mido.Message("note_off", note=62, time=TPB),
              mido.Message("note_on", note=64, velocity=80, time=0),
              mido.Message("note_off", note=64, time=TPB),
              mido.Message("note_on", note=65, velocity=80, time=TPB),   # one beat of rest first
              mido.Message("note_off", note=65, time=2 * TPB)]
    p = _midi(tmp_path / "tempo.mid", [conductor, melody])
    assert _triples(nt.read_midi(p)) == [(0.0, 0.5, 60), (0.5, 1.0, 62), (1.0, 2.0, 64), (3.0, 5.0, 65)]


def test_midi_type0_single_track(tmp_path):
    import mido

    msgs = [mido.MetaMessage("set_tempo", tempo=750000, time=0)] + _seq([(67, 1), (69, 0.5)])  # 80 bpm
    p = _midi(tmp_path / "t0.mid", [msgs], type=0)
    assert _triples(nt.read_midi(p)) == [(0.0, 0.75, 67), (0.75, 1.125, 69)]


def test_midi_two_tracks_default_and_track_choice(tmp_path):
    melody = _seq([(72, 1), (74, 1), (76, 1)])
    bass = _seq([(48, 2), (43, 1)], channel=1)
    p = _midi(tmp_path / "two.mid", [melody, bass])
    # default: the track with the most notes
    assert [x.pitch for x in nt.read_midi(p)] == [72, 74, 76]
    assert _triples(nt.read_midi(p, track=1)) == [(0.0, 1.0, 48), (1.0, 1.5, 43)]
    assert [x.pitch for x in nt.read_midi(p, track=0)] == [72, 74, 76]
    # channel selection
    both = _midi(tmp_path / "one_track_two_channels.mid", [_seq([(72, 1)]) + _seq([(40, 1)], channel=3)])
    assert [x.pitch for x in nt.read_midi(both, channel=3)] == [40]


@pytest.mark.parametrize("track", [2, 7])
def test_midi_track_out_of_range(tmp_path, track):
    p = _midi(tmp_path / "two.mid", [_seq([(60, 1)]), _seq([(64, 1)])])
    with pytest.raises(MelodyError, match=rf"no track {track} \(the file has 2\)"):
        nt.read_midi(p, track=track)


def test_midi_negative_track_names_the_range(tmp_path):
    p = _midi(tmp_path / "two.mid", [_seq([(60, 1)]), _seq([(64, 1)])])
    with pytest.raises(AlignSTSError, match=r"^track must be a whole number from 0 to 65535, got -1"):
        nt.read_midi(p, track=-1)


def test_midi_chord_keeps_highest_note_and_warns(tmp_path, caplog):
    import mido

    chord = [mido.Message("note_on", note=60, velocity=90, time=0),
             mido.Message("note_on", note=64, velocity=90, time=0),
             mido.Message("note_on", note=67, velocity=90, time=0),
             mido.Message("note_off", note=60, time=TPB),
             mido.Message("note_off", note=64, time=0),
             mido.Message("note_off", note=67, time=0)] + _seq([(69, 1)])
    p = _midi(tmp_path / "chord.mid", [chord])
    with caplog.at_level(logging.WARNING, logger="alignsts"):
        notes = nt.read_midi(p)
    assert _triples(notes) == [(0.0, 0.5, 67), (0.5, 1.0, 69)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "chord" in warnings[0].getMessage()
    assert "highest" in warnings[0].getMessage()


def test_midi_held_note_under_a_melody_is_hidden(tmp_path, caplog):
    """A sustained lower note (accompaniment) does not cut the melody above it."""
    import mido

    msgs = [mido.Message("note_on", note=72, velocity=90, time=0),
            mido.Message("note_on", note=48, velocity=90, time=TPB // 2),
            mido.Message("note_off", note=72, time=TPB // 2),
            mido.Message("note_on", note=74, velocity=90, time=0),
            mido.Message("note_off", note=74, time=TPB),
            mido.Message("note_off", note=48, time=0)]
    p = _midi(tmp_path / "held.mid", [msgs])
    with caplog.at_level(logging.WARNING, logger="alignsts"):
        assert _triples(nt.read_midi(p)) == [(0.0, 0.5, 72), (0.5, 1.0, 74)]


def test_midi_no_warning_without_chords(tmp_path, caplog):
    p = _midi(tmp_path / "plain.mid", [_seq([(60, 1), (62, 1)])])
    with caplog.at_level(logging.WARNING, logger="alignsts"):
        nt.read_midi(p)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_midi_drums_only_is_an_error(tmp_path):
    p = _midi(tmp_path / "drums.mid", [_seq([(36, 1), (38, 1), (42, 0.5)], channel=9)])
    with pytest.raises(MelodyError, match=r"no pitched notes.*drum"):
        nt.read_midi(p)


def test_midi_drums_are_skipped_next_to_a_melody(tmp_path):
    p = _midi(tmp_path / "band.mid", [_seq([(36, 0.25)] * 8, channel=9), _seq([(65, 1)])])
    assert [x.pitch for x in nt.read_midi(p)] == [65]


def test_midi_empty_is_an_error(tmp_path):
    import mido

    one_empty_track = _midi(tmp_path / "empty.mid", [[mido.MetaMessage("track_name", name="x", time=0)]])
    with pytest.raises(MelodyError, match="no pitched notes"):
        nt.read_midi(one_empty_track)
    no_tracks = _midi(tmp_path / "none.mid", [])
    with pytest.raises(MelodyError, match="no pitched notes"):
        nt.read_midi(no_tracks)


@pytest.mark.parametrize("content", [b"this is not a MIDI file at all\n" * 4, b"", b"MThd\x00\x00"])
def test_midi_garbage_is_an_error(tmp_path, content):
    p = tmp_path / "song.mid"
    p.write_bytes(content)
    with pytest.raises(MelodyError, match="not a readable MIDI file"):
        nt.read_midi(p)


def test_midi_missing_file(tmp_path):
    with pytest.raises(MelodyError, match="no such file"):
        nt.read_midi(tmp_path / "missing.mid")


def test_bundled_demo_midi_is_the_tune():
    from alignsts import api

    notes = nt.read_midi(api.demo_files()[2])
    assert [x.pitch for x in notes] == [48, 48, 55, 55, 57, 57, 55, 53, 53, 52, 52, 50, 50, 48]
    assert all(b.onset >= a.offset for a, b in zip(notes[:-1], notes[1:]))


# ---------------------------------------------------------------- F0 files

@pytest.mark.parametrize("header", ["", "time,Hz\n", "# time, Hz\n"])
def test_f0_csv(tmp_path, header):
    p = tmp_path / "f0.csv"
    p.write_text(header + "0.0,200\n0.1,200\n0.2,0\n0.3,300\n0.4,300\n")
    f0 = nt.read_f0_file(p)
    t = fe.frame_times(len(f0))
    assert len(f0) == len(np.arange(0, 0.4 + 1e-9, DT))
    np.testing.assert_allclose(f0[t < 0.2 - 1e-9], 200.0)
    assert np.all(f0[(t > 0.2 + 1e-9) & (t < 0.3 - 1e-9)] == 0)
    np.testing.assert_allclose(f0[t > 0.3 + 1e-9], 300.0)


def test_f0_csv_interpolates_in_log_frequency(tmp_path):
    p = tmp_path / "glide.csv"
    p.write_text("0.0,100\n1.0,400\n")
    f0 = nt.read_f0_file(p)
    t = fe.frame_times(len(f0))
    mid = np.argmin(np.abs(t - 0.5))
    assert f0[mid] == pytest.approx(100.0 * 4.0 ** t[mid], rel=1e-6)   # 200 Hz at 0.5 s
    assert f0[0] == pytest.approx(100.0)
    assert np.all(np.diff(f0) > 0)


def test_f0_npy(tmp_path):
    arr = np.concatenate([np.zeros(10), np.full(50, 220.0), np.zeros(5), np.full(20, 330.0)])
    p = tmp_path / "f0.npy"
    np.save(p, arr)
    np.testing.assert_array_equal(nt.read_f0_file(p), arr)


@pytest.mark.parametrize("rows,message", [
    ("0.0,200\n0.1,nan\n", "NaN"),
    ("0.0,200\n0.1,-100\n0.2,200\n", "negative"),
    ("0.0,-1\n0.1,200\n", "negative"),
    ("0.0,0\n0.1,0\n0.2,0\n", "no voiced"),
    ("0.0,200\n0.1,abc\n", "NaN or non-numeric"),
    ("0.0,200,1\n0.1,200,1\n", "two columns"),
    ("0.1,200\n0.1,210\n", "times must increase"),
    ("", "two columns"),
])
@pytest.mark.filterwarnings("ignore:genfromtxt")   # numpy warns about the empty file
def test_f0_csv_errors(tmp_path, rows, message):
    p = tmp_path / "bad.csv"
    p.write_text(rows)
    with pytest.raises(MelodyError, match=message):
        nt.read_f0_file(p)


def test_f0_csv_negative_last_row(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("0.0,200\n0.1,-100\n")
    with pytest.raises(MelodyError, match="negative"):
        nt.read_f0_file(p)


def test_f0_csv_header_only(tmp_path):
    p = tmp_path / "header.csv"
    p.write_text("time,Hz\n")
    with pytest.raises(MelodyError):
        nt.read_f0_file(p)


@pytest.mark.parametrize("arr,message", [
    (np.array([200.0, np.nan, 200.0]), "NaN"),
    (np.array([200.0, np.inf, 200.0]), "infinite"),
    (np.array([200.0, -5.0, 200.0]), "negative"),
    (np.zeros(50), "no voiced"),
    (np.zeros(0), "no F0 values"),
])
def test_f0_npy_errors(tmp_path, arr, message):
    p = tmp_path / "bad.npy"
    np.save(p, arr)
    with pytest.raises(MelodyError, match=message):
        nt.read_f0_file(p)


def test_f0_file_unreadable(tmp_path):
    with pytest.raises(MelodyError, match="no such file"):
        nt.read_f0_file(tmp_path / "missing.csv")
    p = tmp_path / "broken.npy"
    p.write_bytes(b"not numpy")
    with pytest.raises(MelodyError, match="not a readable .npy"):
        nt.read_f0_file(p)


def test_midi_velocity_becomes_note_level(tmp_path):
    import mido

    mid = mido.MidiFile()
    trk = mido.MidiTrack()
    mid.tracks.append(trk)
    for note, vel in ((60, 127), (62, 64)):
        trk.append(mido.Message("note_on", note=note, velocity=vel, time=0))
        trk.append(mido.Message("note_off", note=note, velocity=0, time=480))
    mid.save(str(tmp_path / "v.mid"))
    notes = nt.read_midi(tmp_path / "v.mid")
    assert notes[0].level_db == pytest.approx(0.0)
    assert notes[1].level_db == pytest.approx(40 * np.log10(64 / 127))


def test_midi_legato_overlap_is_cut_not_called_a_chord(tmp_path, caplog):
    """A note held 30 ms into the next (legato playing) ends where the next begins, without a chord warning."""
    import mido

    overlap = 24   # ticks of 480 per beat at 120 bpm: 25 ms
    msgs = [mido.Message("note_on", note=67, velocity=90, time=0),
            mido.Message("note_on", note=64, velocity=90, time=TPB - overlap),
            mido.Message("note_off", note=67, time=overlap),
            mido.Message("note_off", note=64, time=TPB - overlap)]
    p = _midi(tmp_path / "legato.mid", [msgs])
    with caplog.at_level(logging.INFO, logger="alignsts"):
        notes = nt.read_midi(p)
    starts = [round(x.onset, 3) for x in notes]
    assert [x.pitch for x in notes] == [67, 64] and starts == [0.0, round((TPB - overlap) / TPB * 0.5, 3)]
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "chord" not in text and "legato" in text


def test_midi_notes_without_note_off_end_with_the_track(tmp_path, caplog):
    import mido

    msgs = [mido.Message("note_on", note=60, velocity=90, time=0),
            mido.Message("note_on", note=62, velocity=90, time=TPB),
            mido.Message("note_off", note=62, time=TPB)]
    p = _midi(tmp_path / "open.mid", [msgs])
    with caplog.at_level(logging.WARNING, logger="alignsts"):
        notes = nt.read_midi(p)
    assert 60 in [x.pitch for x in notes]
    assert any("no note-off" in r.getMessage() for r in caplog.records)
    never = _midi(tmp_path / "never.mid", [[mido.Message("note_on", note=60, velocity=90, time=0)]])
    with pytest.raises(MelodyError, match="never end"):
        nt.read_midi(never)


def test_midi_zero_tempo_is_named(tmp_path):
    import mido

    msgs = [mido.MetaMessage("set_tempo", tempo=0, time=0)] + _seq([(60, 1)])
    with pytest.raises(MelodyError, match="tempo 0"):
        nt.read_midi(_midi(tmp_path / "t0.mid", [msgs]))


def test_midi_channel_without_notes_lists_the_channels_that_have_some(tmp_path):
    p = _midi(tmp_path / "ch.mid", [_seq([(60, 1)], channel=2)])
    with pytest.raises(MelodyError, match=r"on channel 4 \(channels with notes: 2\)"):
        nt.read_midi(p, channel=4)
    with pytest.raises(AlignSTSError, match="MIDI channel from 0 to 15"):
        nt.read_midi(p, channel=16)


def test_midi_out_of_range_notes_move_by_octaves(tmp_path, caplog):
    p = _midi(tmp_path / "low.mid", [_seq([(12, 1), (108, 1)])])
    with caplog.at_level(logging.WARNING, logger="alignsts"):
        assert [x.pitch for x in nt.read_midi(p)] == [24, 96]
    assert any("moved by octaves" in r.getMessage() for r in caplog.records)


def test_note_list_with_bom_and_crlf(tmp_path):
    p = tmp_path / "win.txt"
    p.write_bytes("\ufeffC4 0.5\r\nD4 0.5\r\n# comment\r\nE4 1\r\n".encode("utf-8"))
    assert [x.pitch for x in nt.read_note_list(p)] == [60, 62, 64]


@pytest.mark.parametrize("content,needle", [
    ("0,220\n1e9,220\n", "times must lie within 0-3600 s"),
    ("0,220\n0.5,1e9\n", "F0 must be 0 (unvoiced) to 2000 Hz"),
    ("0,220\n0.5,220\n0.4,220\n", "times must increase (row 3"),
    ("\ufefftime,Hz\r\n0,220\r\n0.5,0\r\n", None),
])
def test_f0_csv_limits(tmp_path, content, needle):
    p = tmp_path / "f0.csv"
    p.write_text(content, encoding="utf-8")
    if needle is None:
        assert nt.read_f0_file(p).max() == 220.0
        return
    with pytest.raises(MelodyError) as e:
        nt.read_f0_file(p)
    assert needle in str(e.value)


@pytest.mark.parametrize("array,needle", [
    (np.full((1200, 2), 220.0), "shape [1200, 2]"),
    (np.full(100, 220.0) * 1j, "complex"),
    (np.ones(100, dtype=bool), "true/false"),
])
def test_f0_npy_shapes_and_types(tmp_path, array, needle):
    p = tmp_path / "f0.npy"
    np.save(p, array)
    with pytest.raises(MelodyError) as e:
        nt.read_f0_file(p)
    assert needle in str(e.value)


def _monophonic_brute(notes):
    """The definition: at every instant between note boundaries, the highest sounding note."""
    bounds = sorted({n.onset for n in notes} | {n.offset for n in notes})
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        sounding = [n for n in notes if n.onset < b and n.offset > a]
        if not sounding:
            continue
        top = max(sounding, key=lambda n: n.pitch)
        if out and out[-1].pitch == top.pitch and abs(out[-1].offset - a) < 1e-9 and top.onset < a:
            out[-1] = nt.Note(out[-1].onset, b, top.pitch, out[-1].level_db)
        else:
            out.append(nt.Note(a, b, top.pitch, top.level_db))
    return out


def test_monophonic_sweep_matches_the_definition():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    note = st.tuples(st.integers(0, 40), st.integers(1, 12), st.integers(55, 70), st.integers(-20, 0)).map(
        lambda t: nt.Note(t[0] / 4, (t[0] + t[1]) / 4, float(t[2]), float(t[3])))

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(st.lists(note, min_size=1, max_size=25))
    def prop(notes):
        notes = sorted(notes, key=lambda n: (n.onset, -n.pitch))
        assert nt._monophonic(notes)[0] == _monophonic_brute(notes)

    prop()
