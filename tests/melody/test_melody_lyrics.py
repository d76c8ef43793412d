"""Words on notes: syllables of a score, plain lyrics split into syllables and laid on notes."""
from __future__ import annotations

import pytest

from alignsts.errors import MelodyError
from alignsts.melody import lyrics as lyr
from alignsts.melody.notes import Note, attach_lyrics


def _notes(n: int, **kw) -> list[Note]:
    return [Note(0.5 * k, 0.5 * k + 0.45, 60 + k, **kw) for k in range(n)]


@pytest.mark.parametrize("word, n, parts", [
    ("twinkle", 2, ["twin", "kle"]), ("little", 2, ["lit", "tle"]), ("wonder", 2, ["won", "der"]),
    ("birthday", 2, ["birth", "day"]), ("happy", 2, ["hap", "py"]), ("mother", 2, ["mo", "ther"]),
    ("beautiful", 3, ["beau", "ti", "ful"]), ("stream", 1, ["stream"]), ("xyz", 2, ["xy", "z"]),
])
def test_split_word(word, n, parts):
    assert lyr.split_word(word, n) == parts
    assert "".join(lyr.split_word(word, n)) == word


def test_syllable_counts_from_cmudict_and_spelling():
    assert lyr.syllable_count("wonder") == 2
    assert lyr.syllable_count("beautiful") == 3
    assert lyr.syllable_count("star") == 1
    assert lyr.syllable_count("glorptastic") == 3          # not in cmudict: vowel groups


def test_syllabify_english_and_chinese():
    assert lyr.syllabify("Happy birthday to you!") == [
        ("Hap", 0), ("py", 0), ("birth", 1), ("day", 1), ("to", 2), ("you", 3)]
    assert lyr.syllabify("一闪一闪，亮晶晶") == [(c, k) for k, c in enumerate("一闪一闪亮晶晶")]
    assert lyr.language_of("一闪") == "zh" and lyr.language_of("twinkle") == "en"
    assert lyr.syllabify(" ,. ") == []


def test_put_lyrics_one_per_note():
    notes, msg = lyr.put_lyrics(_notes(4), "Happy birthday")
    assert [(x.lyric, x.syllabic, x.melisma) for x in notes] == [
        ("Hap", "begin", False), ("py", "end", False), ("birth", "begin", False), ("day", "end", False)]
    assert msg == "lyrics: 4 syllables (2 words) on 4 notes, one per note"
    assert [x.pitch for x in notes] == [60, 61, 62, 63]


def test_put_lyrics_extra_notes_extend_the_last_syllable():
    notes, msg = lyr.put_lyrics(_notes(5), "to you")
    assert [(x.lyric, x.melisma) for x in notes] == [("to", False), ("you", False)] + [(None, True)] * 3
    assert "the last 3 notes extend 'you'" in msg
    sylls = lyr.score_syllables(notes)
    assert [(s.text, s.n0, s.n1) for s in sylls] == [("to", 0, 1), ("you", 1, 5)]


def test_put_lyrics_extra_syllables_are_spread_over_the_notes():
    notes, msg = lyr.put_lyrics(_notes(3), "happy birthday to you")
    assert [x.lyric for x in notes] == ["hap-py", "birth-day", "to you"]
    assert "3 more syllables than notes: spread evenly, up to 2 on a note" in msg
    sylls = lyr.score_syllables(notes)
    assert [(s.text, s.word_index, s.n0, s.n1) for s in sylls] == [
        ("hap", 0, 0, 1), ("py", 0, 0, 1), ("birth", 1, 1, 2), ("day", 1, 1, 2), ("to", 2, 2, 3), ("you", 3, 2, 3)]
    notes, _ = lyr.put_lyrics(_notes(2), "happy birthday")
    assert [x.lyric for x in notes] == ["hap-py", "birth-day"]


def test_put_lyrics_errors():
    with pytest.raises(MelodyError, match="no words"):
        lyr.put_lyrics(_notes(2), "...")
    with pytest.raises(MelodyError, match="no notes"):
        lyr.put_lyrics([], "la")


def test_score_syllables_melisma_elision_and_leading_notes():
    notes = _notes(6)
    notes[0] = Note(0.0, 0.45, 60)                                   # no lyric before the first one
    notes[1] = Note(0.5, 0.95, 61, lyric="a_lot", syllabic="single")  # elision: two words, one note
    notes[2] = Note(1.0, 1.45, 62, lyric="hap", syllabic="begin")
    notes[3] = Note(1.5, 1.95, 63, lyric="py", syllabic="end")
    notes[4] = Note(2.0, 2.45, 64, melisma=True)
    notes[5] = Note(2.5, 2.95, 65, lyric="你好")                     # two characters on one note
    sylls = lyr.score_syllables(notes)
    assert [(s.text, s.word_index, s.n0, s.n1) for s in sylls] == [
        ("a", 0, 0, 2), ("lot", 1, 0, 2), ("hap", 2, 2, 3), ("py", 2, 3, 5), ("你", 3, 5, 6), ("好", 4, 5, 6)]
    assert lyr.score_syllables(_notes(3)) == []


def test_infer_words_joins_cmudict_words_only():
    notes = [Note(k, k + 1, 60, lyric=t) for k, t in enumerate(["Twin", "kle", "star", "won", "der", "a"])]
    out = lyr.infer_words(notes)
    assert [x.syllabic for x in out] == ["begin", "end", None, "begin", "end", None]
    marked = [Note(0, 1, 60, lyric="twin", syllabic="single"), Note(1, 2, 60, lyric="kle", syllabic="single")]
    assert lyr.infer_words(marked) == marked                         # the file's own marks win


def test_read_lyrics_arg(tmp_path):
    assert lyr.read_lyrics_arg("la la") == "la la"
    f = tmp_path / "words.txt"
    f.write_text("twinkle twinkle\nlittle star\n", encoding="utf-8")
    assert lyr.read_lyrics_arg(f"@{f}") == "twinkle twinkle\nlittle star\n"
    with pytest.raises(MelodyError, match="cannot read lyrics"):
        lyr.read_lyrics_arg(f"@{tmp_path / 'missing.txt'}")
    with pytest.raises(MelodyError, match="no words"):
        lyr.read_lyrics_arg("  ")


def test_attach_midi_lyrics_karaoke_style():
    notes = _notes(5)
    events = [(0.0, "Hap-"), (0.5, "py"), (1.0, " birth-"), (1.5, "day"), (3.0, "stray")]
    out, unplaced = attach_lyrics(notes, events)
    assert unplaced == 1
    assert [(x.lyric, x.syllabic, x.melisma) for x in out] == [
        ("Hap", "begin", False), ("py", "end", False), ("birth", "begin", False), ("day", "end", False),
        (None, None, True)]
