"""Score readers: the same song in MusicXML, MXL, UST, USTX and MIDI with lyrics reads the same."""
from __future__ import annotations

from pathlib import Path

import pytest

from alignsts.errors import MelodyError
from alignsts.melody import scores
from alignsts.melody.lyrics import score_syllables

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "scores"
WITH_WORDS = ["twinkle.musicxml", "twinkle.mxl", "twinkle.ust", "twinkle.ustx", "twinkle_lyrics.mid"]

# scripts/make_score_assets.py: 100 BPM (0.6 s a beat), a one-beat rest, then 90 BPM (2/3 s)
B1, B2 = 0.6, 2.0 / 3.0
LINE2 = 8 * B1 + B2
EXPECTED = [  # (onset, offset, MIDI pitch, sung syllable or '~' for a melisma note)
    (0 * B1, 1 * B1, 48, "Twin"), (1 * B1, 2 * B1, 48, "kle"), (2 * B1, 3 * B1, 55, "twin"),
    (3 * B1, 4 * B1, 55, "kle"), (4 * B1, 5 * B1, 57, "lit"), (5 * B1, 6 * B1, 57, "tle"),
    (6 * B1, 8 * B1, 55, "star"),                       # two tied quarters: one note
    (LINE2, LINE2 + B2, 53, "how"), (LINE2 + B2, LINE2 + 2 * B2, 53, "I"),
    (LINE2 + 2 * B2, LINE2 + 3 * B2, 52, "won"), (LINE2 + 3 * B2, LINE2 + 4 * B2, 52, "der"),
    (LINE2 + 4 * B2, LINE2 + 5 * B2, 50, "what"), (LINE2 + 5 * B2, LINE2 + 6 * B2, 50, "you"),
    (LINE2 + 6 * B2, LINE2 + 7 * B2, 48, "are"), (LINE2 + 7 * B2, LINE2 + 8 * B2, 50, "~"),
    (LINE2 + 8 * B2, LINE2 + 10 * B2, 48, "~"),
]
WORDS = ["twinkle", "twinkle", "little", "star", "how", "i", "wonder", "what", "you", "are"]


@pytest.mark.parametrize("name", WITH_WORDS)
def test_every_format_reads_the_same_song(name):
    notes = scores.read_score(ASSETS / name)
    assert len(notes) == len(EXPECTED)
    for x, (a, b, pitch, text) in zip(notes, EXPECTED):
        assert x.onset == pytest.approx(a, abs=1e-5) and x.offset == pytest.approx(b, abs=1e-5)   # MIDI: whole µs per beat
        assert x.pitch == pitch
        if text == "~":
            assert x.melisma and x.lyric is None
        else:
            assert not x.melisma and x.lyric == text


@pytest.mark.parametrize("name", WITH_WORDS)
def test_words_and_melisma_come_out_as_syllables(name):
    sylls = score_syllables(scores.read_score(ASSETS / name))
    assert [s.text for s in sylls] == [t for *_, t in EXPECTED if t != "~"]
    # words: from <syllabic>, karaoke hyphens, or (UTAU, no word marks) cmudict
    words = {}
    for s in sylls:
        words.setdefault(s.word_index, []).append(s.text.lower())
    assert ["".join(w) for _, w in sorted(words.items())] == WORDS
    last = sylls[-1]
    assert (last.text, last.n0, last.n1) == ("are", 13, 16)     # one syllable over three notes
    assert all(s.n1 == s.n0 + 1 for s in sylls[:-1])


def test_midi_without_lyrics_has_no_words():
    notes = scores.read_score(ASSETS / "twinkle.mid")
    assert [x.onset for x in notes] == pytest.approx([a for a, *_ in EXPECTED], abs=1e-5)
    assert not any(x.lyric for x in notes) and not any(x.melisma for x in notes)


def test_ust_details(tmp_path):
    ust = tmp_path / "a.ust"
    ust.write_bytes("\n".join([
        "[#SETTING]", "Tempo=120", "[#0000]", "Length=480", "Lyric=あ", "NoteNum=60",
        "[#0001]", "Length=240", "Lyric=R", "NoteNum=60",
        "[#0002]", "Length=480", "Lyric=a か", "NoteNum=62", "Tempo=60",
        "[#0003]", "Length=960", "Lyric=+", "NoteNum=64", "[#TRACKEND]"]).encode("cp932"))
    notes = scores.read_score(ust)        # Shift-JIS, as UTAU writes it
    assert [(round(x.onset, 3), round(x.offset, 3), x.pitch, x.lyric, x.melisma) for x in notes] == [
        (0.0, 0.5, 60, "あ", False), (0.75, 1.75, 62, "か", False), (1.75, 3.75, 64, None, True)]


@pytest.mark.parametrize("suffix, text, message", [
    (".ust", "hello", "not a UST file"),
    (".ust", "[#0000]\nLyric=a\nNoteNum=60\n", "Length"),
    (".ust", "[#0000]\nLength=480\nLyric=a\n", "NoteNum"),
    (".ust", "[#SETTING]\nTempo=fast\n[#0000]\nLength=480\nLyric=a\nNoteNum=60\n", "tempo"),
    (".ust", "[#0000]\nLength=480\nLyric=R\nNoteNum=60\n", "no notes"),
    (".ustx", "a: [", "not a readable USTX"),
    (".ustx", "name: x\n", "no voice_parts"),
    (".ustx", "voice_parts: [{notes: []}]\n", "no voice part has notes"),
    (".ustx", "voice_parts: [{notes: [{position: 0, duration: 0, tone: 60, lyric: a}]}]\n", "positive"),
    (".ustx", "voice_parts: [{notes: [{position: 0, lyric: a}]}]\n", "numeric"),
])
def test_bad_utau_file_is_one_clear_error(tmp_path, suffix, text, message):
    p = tmp_path / f"bad{suffix}"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(MelodyError, match=message):
        scores.read_score(p)


def test_ustx_part_position_and_tempo(tmp_path):
    p = tmp_path / "a.ustx"
    p.write_text("resolution: 480\ntempos: [{position: 0, bpm: 60}]\n"
                 "voice_parts: [{position: 960, notes: [{position: 0, duration: 480, tone: 60, lyric: la},"
                 " {position: 480, duration: 480, tone: 62, lyric: '+~'}]}]\n", encoding="utf-8")
    notes = scores.read_score(p)
    assert [(x.onset, x.offset, x.lyric, x.melisma) for x in notes] == [(2.0, 3.0, "la", False), (3.0, 4.0, None, True)]


def test_unreadable_files(tmp_path):
    with pytest.raises(MelodyError, match="no such file"):
        scores.read_score(tmp_path / "missing.musicxml")
    with pytest.raises(MelodyError, match="unknown score format"):
        scores.read_score(Path(__file__))
    bad = tmp_path / "bad.musicxml"
    bad.write_text("<not-music/>", encoding="utf-8")
    with pytest.raises(MelodyError, match="MusicXML"):
        scores.read_score(bad)
    with pytest.raises(MelodyError, match="is a directory"):
        scores.read_score(tmp_path)
