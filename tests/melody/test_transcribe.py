"""Note transcription of synthetic F0 contours with vibrato, jitter, glides and unvoiced gaps."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio import frontend as fe
from alignsts.melody import notes as nt
from alignsts.melody.transcribe import TranscribeConfig, transcribe

DT = fe.HOP / fe.SAMPLE_RATE

# (onset s, offset s, MIDI pitch); legato neighbours (offset == next onset) are joined by a
# glide, the others are separated by short unvoiced gaps (consonants, breaths)
SPEC = [(0.20, 0.60, 60), (0.60, 1.00, 62), (1.00, 1.50, 64), (1.56, 1.90, 65), (1.90, 2.40, 67),
        (2.45, 2.80, 67), (2.80, 3.50, 64), (3.53, 3.90, 60), (3.95, 4.30, 57.5)]


def sung_contour(spec, vibrato_cents=40.0, vibrato_hz=6.0, jitter_cents=5.0, glide_s=0.03, seed=0,
                 tail_s=0.2):
    """F0 [T] Hz of the notes with vibrato, per-frame jitter and glides centred on legato joins."""
    rng = np.random.default_rng(seed)
    n = int((spec[-1][1] + tail_s) / DT) + 1
    t = fe.frame_times(n)
    cents = np.full(n, np.nan)
    for a, b, p in spec:
        cents[(t >= a) & (t < b)] = 100.0 * p
    for (_, b0, p0), (a1, _, p1) in zip(spec[:-1], spec[1:]):
        if abs(a1 - b0) < 1e-9 and glide_s > 0:
            sel = (t >= a1 - glide_s / 2) & (t < a1 + glide_s / 2)
            cents[sel] = 100.0 * (p0 + (p1 - p0) * (t[sel] - (a1 - glide_s / 2)) / glide_s)
    voiced = ~np.isnan(cents)
    phase = rng.uniform(0, 2 * np.pi)
    cents = np.where(voiced, cents, 0.0) + vibrato_cents * np.sin(2 * np.pi * vibrato_hz * t + phase)
    cents += jitter_cents * rng.standard_normal(n)
    return np.where(voiced, nt.midi_to_hz(cents / 100.0), 0.0)


def _check(notes, spec, pitch_cents=30.0, onset_s=0.030):
    got = [(round(x.onset, 3), round(x.pitch, 2)) for x in notes]
    assert len(notes) == len(spec), f"{len(notes)} notes, expected {len(spec)}: {got}"
    for x, (a, b, p) in zip(notes, spec):
        assert abs(x.pitch - p) * 100 < pitch_cents, got
        assert abs(x.onset - a) < onset_s, got
        assert x.offset > x.onset


@pytest.mark.parametrize("vibrato_cents", [0.0, 25.0, 40.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_transcribe_sung_contour(vibrato_cents, seed):
    f0 = sung_contour(SPEC, vibrato_cents=vibrato_cents, seed=seed)
    _check(transcribe(f0), SPEC)


def test_steady_note_with_vibrato_is_one_note():
    t = fe.frame_times(int(1.0 / DT))
    f0 = nt.midi_to_hz(60 + 0.40 * np.sin(2 * np.pi * 6.0 * t))
    notes = transcribe(f0)
    assert len(notes) == 1 and abs(notes[0].pitch - 60) < 0.1


def test_transcribe_without_glides():
    f0 = sung_contour(SPEC, vibrato_cents=20.0, glide_s=0.0, seed=3)
    _check(transcribe(f0), SPEC)


def test_short_gap_inside_a_note_is_bridged():
    spec = [(0.1, 0.5, 64), (0.52, 0.9, 64)]    # 20 ms unvoiced inside one note
    notes = transcribe(sung_contour(spec, vibrato_cents=0.0, jitter_cents=2.0))
    assert len(notes) == 1
    assert notes[0].onset == pytest.approx(0.1, abs=0.01) and notes[0].offset == pytest.approx(0.9, abs=0.01)
    # a longer gap separates two notes of the same pitch (repeated notes)
    spec = [(0.1, 0.5, 64), (0.6, 0.9, 64)]
    notes = transcribe(sung_contour(spec, vibrato_cents=0.0, jitter_cents=2.0))
    assert [round(x.onset, 1) for x in notes] == [0.1, 0.6]


def test_short_voiced_blips_are_ignored():
    f0 = sung_contour([(0.1, 0.5, 60), (0.7, 0.72, 80), (0.9, 1.3, 62)], vibrato_cents=0.0)
    notes = transcribe(f0)
    assert [round(x.pitch) for x in notes] == [60, 62]


def test_unvoiced_contour_has_no_notes():
    assert transcribe(np.zeros(500)) == []
    assert transcribe(np.zeros(0)) == []


def test_quantize_keeps_the_tuning_offset():
    spec = [(0.1, 0.5, 60.3), (0.5, 0.9, 62.1), (0.9, 1.3, 64.4)]
    f0 = sung_contour(spec, vibrato_cents=0.0, jitter_cents=1.0)
    free = transcribe(f0)
    assert [round(x.pitch, 1) for x in free] == [60.3, 62.1, 64.4]
    q = transcribe(f0, TranscribeConfig(quantize=True))
    steps = np.diff([x.pitch for x in q])
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)       # whole semitones apart
    assert [round(x.pitch) for x in q] == [60, 62, 64]
    assert abs(q[0].pitch - 60.27) < 0.05                               # the singer's tuning is kept


def test_notes_are_ordered_and_disjoint():
    notes = transcribe(sung_contour(SPEC, vibrato_cents=25.0, seed=5))
    for a, b in zip(notes[:-1], notes[1:]):
        assert a.onset < a.offset <= b.onset + 1e-9
