"""Speech aligned to known lyrics (alignsts.align.lyrics).

Synthetic lines of known word boundaries (tests/assets/lyrics, made by scripts/make_test_assets.sh:
each word spoken alone by espeak-ng, then concatenated) and the real pairs' speech with the
lyrics of their README.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from alignsts.align import lyrics as L
from alignsts.align.lyrics import LyricSyllable, Phone, align_lyrics, split_syllables
from alignsts.audio import frontend as fe
from alignsts.audio import io
from alignsts.audio.frames import ms_to_frames

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "lyrics"
RATE = fe.SAMPLE_RATE / fe.HOP
TOLERANCE = ms_to_frames(25.0)     # frames: word edges of the assets are exact only to the trim


def _words():
    rows = {}
    for line in (ASSETS / "words.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        file, k, text, a, b = line.split("\t")
        rows.setdefault(file, []).append((int(k), text, float(a), float(b)))
    return rows


WORDS = _words()


def _lyrics(words) -> list[LyricSyllable]:
    return [LyricSyllable(piece, k) for k, text, _, _ in words for piece in text.split("-")]


def _needs(module: str):
    return pytest.importorskip(module)


def _check_order(sylls, n_frames):
    for s in sylls:
        assert 0 <= s.start <= s.vowel_start < s.vowel_end <= s.end <= n_frames
        assert s.vowel_start <= s.peak < s.vowel_end
    for a, b in zip(sylls, sylls[1:]):
        assert a.end <= b.start + 1 and a.vowel_end <= b.vowel_start


# --- pure helpers -----------------------------------------------------------------------------

def test_language_from_text():
    assert L.detect_language("你不知道") == "zh"
    assert L.detect_language("love me like you do") == "en"
    assert L.detect_language("la la 爱") == "zh"


def test_words_of_groups_syllables_by_word_index():
    sylls = [LyricSyllable("giv", 0), LyricSyllable("ing", 0), LyricSyllable("me", 1), LyricSyllable("a", 2)]
    assert L.words_of(sylls) == [("giving", 2), ("me", 1), ("a", 1)]
    assert L.normalize_word("You\u2019re,") == "you're"
    assert L.normalize_word("--") == ""


def test_ipa_to_arpabet():
    assert L.ipa_to_arpabet("ɡˈɪvɪŋ") == ["G", "IH", "V", "IH", "NG"]
    assert L.ipa_to_arpabet("ɹˈiːzənz") == ["R", "IY", "Z", "AH", "N", "Z"]
    assert L.ipa_to_arpabet("tʃˈeɪndʒ") == ["CH", "EY", "N", "JH"]
    assert L.ipa_to_arpabet("ʘ") is None          # a symbol the table does not know


def _phones(names: str, dur: float = 0.05) -> list[Phone]:
    return [Phone(n, k * dur, (k + 1) * dur) for k, n in enumerate(names.split())]


def _names(part):
    return " ".join(p.name for p in part)


def test_split_syllables_maximal_onset():
    # million: M IH L | Y AH N ("L Y" is no English onset, "Y" is)
    (o1, v1, c1), (o2, v2, c2) = split_syllables(_phones("M IH L Y AH N"), 2)
    assert (_names(o1), _names(c1), _names(o2), _names(c2)) == ("M", "L", "Y", "N")
    assert (v1[0].start, v1[0].end, v2[0].start, v2[0].end) == pytest.approx((0.05, 0.10, 0.20, 0.25))
    # monster: M AA N | S T ER
    (_, _, c1), (o2, _, _) = split_syllables(_phones("M AA N S T ER"), 2)
    assert (_names(c1), _names(o2)) == ("N", "S T")


def test_split_syllables_merges_when_the_score_has_fewer():
    # "fire" sung on one note: AY and ER form one nucleus
    [(onset, vowel, coda)] = split_syllables(_phones("F AY ER"), 1)
    assert _names(onset) == "F" and not coda
    assert (vowel[0].start, vowel[-1].end) == pytest.approx((0.05, 0.15))
    # three vowels, two syllables: the two with nothing between them merge
    sylls = split_syllables(_phones("B IY IH NG K AH M"), 2)
    assert [x for s in sylls for x in (s[1][0].start, s[1][-1].end)] == pytest.approx([0.05, 0.15, 0.25, 0.30])


def test_split_syllables_splits_when_the_score_has_more():
    sylls = split_syllables(_phones("G OW", 0.1), 3)
    vowels = [(s[1][0].start, s[1][-1].end) for s in sylls]
    assert vowels[0][0] == pytest.approx(0.1) and vowels[-1][1] == pytest.approx(0.2)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(vowels, vowels[1:]))
    assert _names(sylls[0][0]) == "G"
    # no vowel at all ("hmm"): the sonorant is the nucleus
    [(onset, vowel, _)] = split_syllables(_phones("HH M"), 1)
    assert _names(onset) == "HH" and vowel[0].start == pytest.approx(0.05)


# --- synthetic speech of known word boundaries ------------------------------------------------

def _align_asset(file, lyrics=None, language=None):
    x = io.load(ASSETS / file)
    return align_lyrics(x, lyrics or _lyrics(WORDS[file]), language), fe.n_frames(len(x))


def _check_inside_words(file, sylls):
    lyr = _lyrics(WORDS[file])
    spans = {k: (a * RATE, b * RATE) for k, _, a, b in WORDS[file]}
    assert len(sylls) == len(lyr)
    for ly, s in zip(lyr, sylls):
        a, b = spans[ly.word_index]
        assert a - TOLERANCE <= s.vowel_start and s.vowel_end <= b + TOLERANCE, \
            f"{file}: {ly.text!r} vowel [{s.vowel_start}, {s.vowel_end}) outside its word [{a:.0f}, {b:.0f})"


@pytest.mark.parametrize("file", ["reasons.wav", "robot.wav"])
def test_english_vowels_lie_in_their_words(file):
    _needs("pocketsphinx")
    if file == "robot.wav" and shutil.which("espeak-ng") is None:
        pytest.skip("'glorptastic' needs espeak-ng for its pronunciation")
    sylls, n = _align_asset(file)
    assert sylls is not None
    _check_order(sylls, n)
    _check_inside_words(file, sylls)


def test_english_word_missing_from_every_dictionary_is_pronounced_by_espeak():
    _needs("pocketsphinx")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    assert L._cmudict().get("glorptastic") is None
    phones = L.pronounce("glorptastic")
    assert phones[:3] == ("G", "L", "OW") and sum(p in L.ARPABET_VOWELS for p in phones) == 3


def test_mandarin_vowels_lie_in_their_characters():
    _needs("pypinyin")
    sylls, n = _align_asset("xin.wav")
    assert sylls is not None
    _check_order(sylls, n)
    _check_inside_words("xin.wav", sylls)
    # voiceless initials (zh, sh, x, h ...) open the syllable before the vowel
    lyr = _lyrics(WORDS["xin.wav"])
    onset = {ly.text: s.onset_frames for ly, s in zip(lyr, sylls)}
    assert onset["知"] > 0 and onset["心"] > 0 and onset["下"] > 0


def test_wrong_or_partial_english_lyrics_fail():
    _needs("pocketsphinx")
    wrong = [LyricSyllable(w, k) for k, w in enumerate("the cat sat down on a mat and slept all day".split())]
    assert _align_asset("reasons.wav", wrong)[0] is None
    half = _lyrics(WORDS["reasons.wav"])[:6]       # "you're giv-ing me a mil-": words missing
    assert _align_asset("reasons.wav", half)[0] is None


def test_mandarin_with_far_too_many_characters_fails():
    _needs("pypinyin")
    many = [LyricSyllable(ch, k) for k, ch in enumerate("你不知道我为什么狠下心" * 3)]
    assert _align_asset("xin.wav", many)[0] is None


def test_unusable_input_gives_none():
    silent = np.zeros(fe.SAMPLE_RATE, dtype=np.float32)
    assert align_lyrics(silent, [LyricSyllable("la", 0)], "en") is None
    assert align_lyrics(silent, [LyricSyllable("你", 0)], "zh") is None
    x = io.load(ASSETS / "reasons.wav")
    assert align_lyrics(x, []) is None
    assert align_lyrics(x, [LyricSyllable("--", 0)], "en") is None
    assert align_lyrics(x, [LyricSyllable("la", 0)], "klingon") is None


# --- real speech ------------------------------------------------------------------------------

REAL = {
    "en-nhss-2": "you're giv-ing me a mil-lion rea-sons to let you go you're giv-ing me a mil-lion rea-sons "
                 "to quit the show",
    "en-nhss-8": "there's a fire start-ing in my heart reach-ing a fe-ver pitch and bring-ing me out the dark",
    "zh-svpt-5": "欣 赏 你 流 浪 像 是 种 信 仰",
    "zh-svpt-7": "不 问 缘 由 不 管 当 时",
}


def _real_lyrics(text):
    return [LyricSyllable(p, k) for k, w in enumerate(text.split()) for p in w.split("-")]


@pytest.mark.realdata
@pytest.mark.parametrize("pair", sorted(REAL))
def test_real_speech_syllables_sit_on_voiced_nuclei(pair, sts_pair):
    """All syllables found; their vowels voiced; most loudness nuclei of the text-free detector
    inside an aligned vowel (measured 0.68-1.00). Another pair's lyrics fail on English speech."""
    _needs("pocketsphinx")
    _needs("pypinyin")
    from alignsts.align.syllables import detect
    from alignsts.audio import world

    speech, _ = sts_pair(pair)
    x = io.load(speech)
    mag, f0 = fe.stft_magnitude(x), world.analyze(x).f0
    lyr = _real_lyrics(REAL[pair])
    sylls = align_lyrics(x, lyr, mag=mag, f0=f0)
    assert sylls is not None and len(sylls) == len(lyr)
    _check_order(sylls, len(mag))
    voiced = np.mean([np.mean(f0[s.vowel_start:s.vowel_end] > 0) >= 0.5 for s in sylls])
    assert voiced >= 0.85
    nuclei = [s.peak for s in detect(mag, f0)]
    tol = ms_to_frames(20.0)
    hit = np.mean([any(s.vowel_start - tol <= p < s.vowel_end + tol for s in sylls) for p in nuclei])
    assert hit >= 0.6
    if pair.startswith("en"):
        other = REAL["en-nhss-8" if pair == "en-nhss-2" else "en-nhss-2"]
        assert align_lyrics(x, _real_lyrics(other), mag=mag, f0=f0) is None


def test_config_defaults_are_valid():
    from alignsts.validate import check_config

    check_config(L.LyricsConfig())


def test_decoder_errors_give_none(monkeypatch):
    _needs("pocketsphinx")

    def broken(*args, **kwargs):
        raise RuntimeError("Failed to set up alignment")

    monkeypatch.setattr(L, "_align_pcm", broken)
    x = io.load(ASSETS / "reasons.wav")
    assert align_lyrics(x, _lyrics(WORDS["reasons.wav"]), "en") is None
