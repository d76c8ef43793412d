"""Melody sources -> Melody: notes, note lists, MIDI, F0 contours and files, recordings."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.errors import MelodyError
from alignsts.melody import notes as nt
from alignsts.melody import sources

DT = fe.HOP / fe.SAMPLE_RATE
SR = fe.SAMPLE_RATE

# the bundled sung example: Twinkle Twinkle (C C G G A A G | F F E E D D C) from C3
TWINKLE = [48, 48, 55, 55, 57, 57, 55, 53, 53, 52, 52, 50, 50, 48]


def _dedup(pitches):
    out = []
    for p in pitches:
        if not out or p != out[-1]:
            out.append(p)
    return out


def test_from_notes_flat_f0():
    notes = [nt.Note(0.0, 0.5, 60), nt.Note(0.75, 1.25, 67)]
    mel = sources.from_notes(notes)
    assert mel.notes == notes and not mel.has_expression and not mel.transcribed
    np.testing.assert_allclose(mel.f0, nt.notes_to_f0(notes))
    assert mel.duration == pytest.approx(len(mel.f0) * DT)
    fast = sources.from_notes(notes, tempo=2.0)
    assert [(x.onset, x.offset) for x in fast.notes] == [(0.0, 0.25), (0.375, 0.625)]


@pytest.mark.parametrize("notes,message", [
    ([], "contains no notes"),
    ([nt.Note(1.0, 0.5, 60)], "non-positive duration"),
    ([nt.Note(0.5, 0.5, 60)], "non-positive duration"),
    ([nt.Note(-0.5, 0.5, 60)], "non-positive duration"),
    ([nt.Note(0.0, float("nan"), 60)], "non-positive duration"),
])
def test_from_notes_rejects_bad_notes(notes, message):
    with pytest.raises(MelodyError, match=message):
        sources.from_notes(notes, where="my notes")


def test_from_note_list_file(tmp_path):
    p = tmp_path / "tune.txt"
    p.write_text("C4 1\nrest 1\nG4 2\n")
    mel = sources.from_note_list(p, bpm=120, tempo=0.5)      # half speed: beats of 1 s
    assert [(x.onset, x.offset, x.pitch) for x in mel.notes] == [(0.0, 1.0, 60), (2.0, 4.0, 67)]
    assert not mel.has_expression


def test_from_midi_bundled():
    from alignsts import api

    mel = sources.from_midi(api.demo_files()[2])
    assert [x.pitch for x in mel.notes] == TWINKLE
    assert np.count_nonzero(mel.f0) > 0 and not mel.has_expression
    slow = sources.from_midi(api.demo_files()[2], tempo=0.5)
    assert slow.notes[-1].offset == pytest.approx(2 * mel.notes[-1].offset)


def test_from_f0_keeps_the_contour_and_transcribes_it():
    t = fe.frame_times(int(1.6 / DT))
    f0 = np.where(t < 0.1, 0.0, np.where(t < 0.8, 220.0, np.where(t < 0.9, 0.0, 330.0)))
    f0[t >= 1.5] = 0.0
    mel = sources.from_f0(f0)
    assert mel.has_expression and not mel.transcribed
    np.testing.assert_array_equal(mel.f0, f0)
    assert [round(x.pitch, 2) for x in mel.notes] == [round(float(nt.hz_to_midi(220.0)), 2),
                                                      round(float(nt.hz_to_midi(330.0)), 2)]
    assert [round(x.onset, 2) for x in mel.notes] == [0.1, 0.9]


def test_from_f0_without_notes_is_an_error():
    with pytest.raises(MelodyError, match="my.csv: no voiced"):
        sources.from_f0(np.zeros(300), where="my.csv")
    blips = np.zeros(300)
    blips[100:104] = 200.0          # 21 ms: too short to be a note
    with pytest.raises(MelodyError, match="my.csv: no notes found"):
        sources.from_f0(blips, where="my.csv")


def test_from_f0_file(tmp_path):
    p = tmp_path / "melody.csv"
    p.write_text("time,Hz\n0.0,0\n0.1,261.63\n0.6,261.63\n0.7,0\n0.8,392.0\n1.4,392.0\n1.5,0\n")
    mel = sources.from_f0_file(p)
    assert mel.has_expression
    assert [round(x.pitch) for x in mel.notes] == [60, 67]
    npy = tmp_path / "melody.npy"
    np.save(npy, mel.f0)
    np.testing.assert_array_equal(sources.from_f0_file(npy).f0, mel.f0)


def _tone(hz, dur, amp=0.4):
    t = np.arange(int(dur * SR)) / SR
    x = sum(np.sin(2 * np.pi * hz * k * t) / k for k in range(1, 6))
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
    return amp * ramp * x / np.max(np.abs(x))


def test_from_recording_of_synthetic_tones():
    pitches = [57, 59, 61, 62, 64]
    parts = [np.zeros(int(0.15 * SR))]
    for p in pitches:
        parts += [_tone(float(nt.midi_to_hz(p)), 0.35), np.zeros(int(0.08 * SR))]
    wav = np.concatenate(parts).astype(np.float32)
    mel = sources.from_recording(wav, contour=False)
    assert mel.transcribed and not mel.has_expression
    assert len(mel.notes) == len(pitches)
    for x, p, k in zip(mel.notes, pitches, range(len(pitches))):
        assert abs(x.pitch - p) < 0.1
        assert abs(x.onset - (0.15 + k * 0.43)) < 0.03
    assert len(mel.f0) == fe.n_frames(len(wav))
    np.testing.assert_allclose(mel.f0, nt.notes_to_f0(mel.notes, len(mel.f0)))


def test_from_recording_of_silence_or_noise_is_an_error():
    with pytest.raises(MelodyError, match="no voiced"):
        sources.from_recording(np.zeros(SR, dtype=np.float32), where="melody x.wav")
    noise = (0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    with pytest.raises(MelodyError):
        sources.from_recording(noise)


@pytest.fixture(scope="module")
def sung_demo_melody():
    from alignsts import api
    from alignsts.audio import io

    return sources.from_recording(io.load(api.demo_files()[1]))


def test_from_recording_of_the_bundled_song_follows_the_tune(sung_demo_melody):
    """The notes that last (>= 100 ms) give the tune's pitch sequence, each within 30 cents."""
    held = [x for x in sung_demo_melody.notes if x.duration >= 0.1]
    assert _dedup([round(x.pitch) for x in held]) == _dedup(TWINKLE)
    assert all(abs(x.pitch - round(x.pitch)) < 0.3 for x in held)
    assert sum(x.duration for x in held) > 0.8 * sum(x.duration for x in sung_demo_melody.notes)
    onsets = [x.onset for x in sung_demo_melody.notes]
    assert onsets == sorted(onsets)


def test_from_recording_of_the_bundled_song_note_count(sung_demo_melody):
    assert abs(len(sung_demo_melody.notes) - len(TWINKLE)) <= 2, \
        [(round(x.onset, 3), round(x.pitch, 1)) for x in sung_demo_melody.notes]


def test_split_at_syllables_cuts_held_notes_only_where_pieces_stay_long():
    notes = [nt.Note(0.0, 1.0, 60), nt.Note(1.0, 1.2, 62)]
    out = sources.split_at_syllables(notes, np.array([0.05, 0.5, 0.6, 1.1]), min_s=0.15)
    # 0.05 is too near the start, 0.6 too near the previous cut, 1.1 inside a 0.2 s note
    assert [(x.onset, x.offset, x.pitch) for x in out] == [(0.0, 0.5, 60), (0.5, 1.0, 60), (1.0, 1.2, 62)]


def test_note_levels_are_relative_to_the_loudest_note():
    dt = fe.HOP / fe.SAMPLE_RATE
    energy = np.full(int(2.0 / dt), -60.0)
    energy[: int(1.0 / dt)] = -10.0
    energy[int(1.0 / dt):] = -22.0
    out = sources.note_levels([nt.Note(0.1, 0.9, 60), nt.Note(1.1, 1.9, 60)], energy)
    assert out[0].level_db == pytest.approx(0.0) and out[1].level_db == pytest.approx(-12.0)


def test_from_recording_contour_is_the_performed_f0():
    wav = _tone(220.0, 0.6)
    mel = sources.from_recording(np.concatenate([np.zeros(SR // 10), wav]).astype(np.float32))
    assert mel.has_expression and mel.transcribed
    voiced = mel.f0 > 0
    assert voiced.sum() > 50 and np.median(np.abs(1200 * np.log2(mel.f0[voiced] / 220.0))) < 10
