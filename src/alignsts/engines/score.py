"""Score engine: sing the speech to a melody (MIDI, notes, F0, a recording, a score with words).

speech ─ WORLD analysis ─ syllables ─┐
                                      ├─ syllable→note groups ─ re-timing: consonants at
melody ─ notes ──────────────────────┘  their natural rate, vowels fill the notes ─ expressive
                                         F0 from the notes ─ WORLD synthesis

With words on the notes (a score with lyrics, or ``--lyrics``) the syllables of the speech
come from aligning it to the lyrics (align.lyrics.align_lyrics) and the groups from the
score (melisma included); otherwise, or when that alignment fails, the syllables are found
without text and a dynamic programme groups them with the notes.

Output time t is score time t (plus an explicit ``lead_in_s``): the first syllable's onset
consonants go into the leading rest, shortened when there is too little room.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Annotated, Optional

import numpy as np

from ..align.assign import AssignConfig, Group, assign, summary, syllable_durations
from ..align.syllables import Syllable, SyllableConfig, detect, detect_count
from ..audio import chunks
from ..audio import frontend as fe
from ..audio import world
from ..audio.frames import runs
from ..errors import AudioInputError, MelodyError
from ..lanes import Lanes
from ..melody import contour, key
from ..melody.expression import ExpressionConfig, expressive_f0
from ..melody.lyrics import ScoreSyllable, has_lyrics, language_of, score_syllables
from ..melody.key import KeyDecision
from ..melody.notes import Melody, Note
from .analysis import ConversionAnalysis
from ..validate import Check, Range, one_of, transpose_setting

log = logging.getLogger("alignsts")

DT = fe.HOP / fe.SAMPLE_RATE


@dataclass
class ScoreConfig:
    transpose: Annotated[str | float, Check(transpose_setting)] = "auto"   # auto (octaves), fit (semitones) or semitones
    sing_range: Annotated[Optional[str], Check(key.range_setting)] = None   # your range: "A2-E4" or a voice type (bass..soprano); None: from your speech
    formant: Annotated[float, Range(*world.FORMANT_RANGE)] = 1.0   # move the output's formants by this factor (pitch kept)
    speaker_embedding: Annotated[str, Check(one_of("auto", "resemblyzer", "none"))] = "auto"   # key cue of --melody-from voices
    max_consonant_ms: Annotated[float, Range(10, 2000)] = 250.0   # longer consonant clusters are compressed to this
    min_vowel_share: Annotated[float, Range(0, 1)] = 0.8      # legato consonants leave the vowel at least this share
    anticipate_share: Annotated[float, Range(0, 0.9)] = 0.5   # consonants before a note may take this much of the previous vowel
    phrase_gap_s: Annotated[float, Range(0, 10)] = 0.3         # shorter gaps between notes are sung legato (the vowel holds)
    vowel_edge_ms: Annotated[float, Range(0, 500)] = 30.0      # vowel transitions kept at their spoken rate; the steady middle is stretched
    release_ms: Annotated[float, Range(0, 2000)] = 90.0        # a phrase's last sound decays (to -40 dB) over this, into the rest
    floor_db: Annotated[float, Range(-120, -20)] = -60.0       # room-tone floor under everything, relative to the median vowel level
    voiced_vowels: bool = True                                 # hold only a vowel's voiced core on the note (voiced_cores)
    sung_aperiodicity: Annotated[float, Range(0, 1)] = 0.35   # sung frames' aperiodicity: the speech's voiced median times this (sung vowels are less breathy)
    consonant_below_vowel_db: Annotated[float, Range(0, 60)] = 10.0   # consonants at least this far below the median vowel level
    lead_in_s: Annotated[float, Range(0, 60)] = 0.0            # shift the whole output by this (s); 0 = on the score's timeline
    tail_s: Annotated[float, Range(0, 60)] = 0.3               # silence after the last note
    fade_ms: Annotated[float, Range(0, 1000)] = 12.0             # fade-in at the start of sung phrases
    sustain: Annotated[float, Range(0, 1)] = 0.5              # 0..1: how far sung vowels are levelled to a common loudness
    max_boost_db: Annotated[float, Range(0, 60)] = 18.0
    consonant_gain_db: Annotated[float, Range(-60, 20)] = -6.0   # singers keep consonants short and soft next to vowels
    expression: ExpressionConfig = field(default_factory=ExpressionConfig)
    syllables: SyllableConfig = field(default_factory=SyllableConfig)
    assign: AssignConfig = field(default_factory=AssignConfig)
    pieces: chunks.PieceConfig = field(default_factory=chunks.PieceConfig)


@dataclass
class ScoreAnalysis(ConversionAnalysis):
    """speech_f0 [N]; syllables and notes (transposed) and their groups; on the output grid:
    target_f0 [M] (synthesised F0), source [M] speech frame per output frame, part [M]
    (0 silence, 1 onset consonants, 2 vowel, 3 coda consonants)."""
    syllables: list[Syllable]
    notes: list[Note]
    groups: list[Group]
    source: np.ndarray
    part: np.ndarray
    message: str
    lead_in: float = 0.0                       # seconds added before score time 0
    lyrics: list[ScoreSyllable] = field(default_factory=list)   # the score's syllables, when it has words
    lyrics_aligned: bool = False               # syllables come from aligning the speech to the lyrics
    lyrics_mapped: bool = False                # the score's syllable-to-note mapping is sung (else the DP's)
    key: KeyDecision | None = None             # the transposition chosen and why


def _place(src_a: int, src_b: int, out_a: float, out_b: float, source: np.ndarray, part: np.ndarray,
           code: int) -> None:
    """Map speech frames [src_a, src_b) linearly onto output frames [out_a, out_b)."""
    j0, j1 = max(int(round(out_a)), 0), min(int(round(out_b)), len(source))
    if j1 <= j0 or src_b <= src_a:
        return
    pos = src_a + (np.arange(j0, j1) - out_a + 0.5) * (src_b - src_a) / max(out_b - out_a, 1e-9)
    source[j0:j1] = np.clip(np.floor(pos), src_a, src_b - 1).astype(np.int64)
    part[j0:j1] = code


ONSET, VOWEL, CODA = 1, 2, 3


def syllable_spans(sylls: list[Syllable], notes: list[Note], groups: list[Group]) -> list[tuple[Syllable, float, float]]:
    """(syllable, first frame, end frame) of the note time each syllable sings; merged
    syllables share their note in proportion to their spoken length."""
    spans = []
    for g in groups:
        a, b = notes[g.n0].onset / DT, notes[g.n1 - 1].offset / DT
        lengths = np.array([max(sylls[k].end - sylls[k].start, 1) for k in range(g.s0, g.s1)], float)
        edges = a + (b - a) * np.concatenate([[0.0], np.cumsum(lengths) / lengths.sum()])
        spans.extend((sylls[k], edges[i], edges[i + 1]) for i, k in enumerate(range(g.s0, g.s1)))
    return spans


def _place_vowel(src_a: int, src_b: int, out_a: float, out_b: float, edge: int, source: np.ndarray,
                 part: np.ndarray) -> None:
    """Map the vowel's speech frames [src_a, src_b) onto output frames [out_a, out_b): when it is
    stretched, its first and last ``edge`` frames (the transitions) keep their spoken rate and
    only the steady middle is slowed down, so a long note holds one vowel colour."""
    n_src, n_out = src_b - src_a, out_b - out_a
    e = min(edge, n_src // 3)
    if e < 1 or n_out <= n_src:
        _place(src_a, src_b, out_a, out_b, source, part, VOWEL)
        return
    _place(src_a, src_a + e, out_a, out_a + e, source, part, VOWEL)
    _place(src_a + e, src_b - e, out_a + e, out_b - e, source, part, VOWEL)
    _place(src_b - e, src_b, out_b - e, out_b, source, part, VOWEL)


def retime(sylls: list[Syllable], notes: list[Note], groups: list[Group], m: int,
           max_consonant: int, min_vowel_share: float, anticipate_share: float = 0.5,
           vowel_edge: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Output frame -> speech frame map [m] and what each output frame holds [m]
    (0 nothing, ONSET, VOWEL, CODA).

    The vowel of each syllable fills its note time (its steady middle stretched, ``vowel_edge``
    frames of transition at each end kept at the spoken rate); consonants go in the gaps
    between notes at their natural rate (capped at ``max_consonant`` frames). Where the gap is
    too short (legato) the consonants anticipate the beat: they take up to
    ``anticipate_share`` of the previous vowel, then up to 1 - ``min_vowel_share`` of the next;
    where even that is too short they are compressed.
    """
    spans = syllable_spans(sylls, notes, groups)
    n = len(spans)
    onset = np.array([min(s.onset_frames, max_consonant) for s, _, _ in spans], float)
    coda = np.array([min(s.coda_frames, max_consonant) for s, _, _ in spans], float)
    va = np.array([a for _, a, _ in spans])
    vb = np.array([b for _, _, b in spans])
    length = vb - va
    lo = va.copy()            # where the onset starts
    hi = vb.copy()            # where the coda ends
    for k in range(n + 1):
        left_end = vb[k - 1] if k > 0 else 0.0           # end of the previous vowel
        right_start = va[k] if k < n else float(m)        # start of the next vowel
        need = (coda[k - 1] if k > 0 else 0.0) + (onset[k] if k < n else 0.0)
        gap = right_start - left_end
        scale = 1.0
        if gap < need:
            deficit = need - gap
            take_left = min(deficit, anticipate_share * length[k - 1]) if k > 0 else 0.0
            take_right = min(deficit - take_left, (1.0 - min_vowel_share) * length[k] / 2) if k < n else 0.0
            if k > 0:
                vb[k - 1] -= take_left
            if k < n:
                va[k] += take_right
            gap = right_start + take_right - (left_end - take_left)
            scale = min(1.0, gap / need) if need > 0 else 1.0
        if k > 0:
            hi[k - 1] = vb[k - 1] + coda[k - 1] * scale
        if k < n:
            lo[k] = va[k] - onset[k] * scale
    source = np.zeros(m, dtype=np.int64)
    part = np.zeros(m, dtype=np.int8)
    for k, (s, _, _) in enumerate(spans):
        _place(s.start, s.vowel_start, lo[k], va[k], source, part, ONSET)
        _place_vowel(s.vowel_start, s.vowel_end, va[k], vb[k], vowel_edge, source, part)
        _place(s.vowel_end, s.end, vb[k], hi[k], source, part, CODA)
    return source, part


FRICATION_SPLIT_HZ = 4000.0   # vowels keep most of their energy below this; sibilants and aspiration above


def vowel_like(f0: np.ndarray, mag: np.ndarray | None, frication_db: float = 0.0) -> np.ndarray:
    """Frames that can be held as a vowel: voiced (``f0`` [T] > 0) and, given the speech's STFT
    magnitude ``mag`` [T', K], not fricated: energy above FRICATION_SPLIT_HZ at most
    ``frication_db`` over the energy below it. A vowel's spectrum falls steeply above its
    formants (20-30 dB under the low band up there); a voiced frame with more energy up high is
    an aspirated or fricative onset (Mandarin q/x/j, English s/z/v) that a pitch tracker still
    calls voiced, and held on a note it sounds as loud hiss. -> [T] bool."""
    voiced = np.asarray(f0) > 0
    if mag is None or len(mag) == 0:
        return voiced
    n = min(len(voiced), len(mag))
    freqs = np.arange(mag.shape[1]) * fe.SAMPLE_RATE / fe.N_FFT
    high = fe.power_sum(mag[:n], freqs >= FRICATION_SPLIT_HZ)
    low = fe.power_sum(mag[:n], (freqs >= 60.0) & (freqs < FRICATION_SPLIT_HZ))
    with np.errstate(divide="ignore", invalid="ignore"):
        fricated = 10.0 * np.log10((high + 1e-12) / (low + 1e-12)) > frication_db
    out = voiced.copy()
    out[:n] &= ~fricated
    return out


def voiced_cores(sylls: list[Syllable], f0: np.ndarray, least: int = 3,
                 mag: np.ndarray | None = None) -> list[Syllable]:
    """Each syllable with its vowel narrowed to the longest vowel-like run (voiced, ``f0`` [T]
    > 0, and not fricated in the STFT magnitude ``mag`` [T, K] when given: see vowel_like)
    inside it, the other frames moved to its onset or coda, so only vowel sound is held on a
    note (a vowel span from the text aligner can take in part of a fricative or a pause).
    Vowels with fewer than ``least`` such frames are kept as they are."""
    holdable = vowel_like(f0, mag)
    out = []
    for s in sylls:
        voiced = holdable[s.vowel_start:s.vowel_end]
        found = runs(voiced)
        if not found:
            out.append(s)
            continue
        a, b = max(found, key=lambda r: r[1] - r[0])
        if b - a < least or b - a == s.vowel_end - s.vowel_start:
            out.append(s)
            continue
        v0, v1 = s.vowel_start + a, s.vowel_start + b
        out.append(replace(s, vowel_start=v0, vowel_end=v1, peak=int(np.clip(s.peak, v0, v1 - 1))))
    return out


def legato_notes(notes: list[Note], phrase_gap_s: float) -> list[Note]:
    """The notes with each one held to the next onset when the gap between them is shorter
    than ``phrase_gap_s`` (notes of one phrase are sung legato; longer gaps are rests)."""
    out = list(notes)
    for k in range(len(out) - 1):
        gap = out[k + 1].onset - out[k].offset
        if 0 < gap < phrase_gap_s:
            out[k] = replace(out[k], offset=out[k + 1].onset)
    return out


def lyric_groups(lyric_sylls: list[ScoreSyllable]) -> list[Group]:
    """The score's syllable-to-note mapping as groups: syllables sharing their notes form one
    group (several syllables on one note), a syllable over several notes a melisma."""
    groups: list[Group] = []
    i = 0
    while i < len(lyric_sylls):
        j = i + 1
        while j < len(lyric_sylls) and (lyric_sylls[j].n0, lyric_sylls[j].n1) == (lyric_sylls[i].n0, lyric_sylls[i].n1):
            j += 1
        groups.append(Group(i, j, lyric_sylls[i].n0, lyric_sylls[i].n1))
        i = j
    return groups


def align_to_lyrics(speech: np.ndarray, lyric_sylls: list[ScoreSyllable], n_frames: int,
                    mag: np.ndarray | None = None, f0: np.ndarray | None = None) -> list[Syllable] | None:
    """Syllables of ``speech`` [N] (24 kHz), one per score syllable, from aligning it to the
    lyrics (align.lyrics.align_lyrics, given the STFT magnitude [T, K] and F0 [T] the engine
    already has); None, with a warning, when the alignment fails or its answer is not one
    ordered syllable per lyric syllable."""
    from ..align import lyrics as aligner

    text = " ".join(s.text for s in lyric_sylls)
    fallback = "; the syllables are found without the words instead"
    wanted = [aligner.LyricSyllable(s.text, s.word_index) for s in lyric_sylls]
    try:
        found = aligner.align_lyrics(speech, wanted, language=language_of(text), mag=mag, f0=f0)
    except Exception as e:   # an aligner bug must not cost the conversion: fall back, and say why
        log.warning("lyrics: aligning the speech to the lyrics failed (%s: %s)%s", type(e).__name__, e, fallback)
        return None
    if found is None:
        log.warning("lyrics: the speech could not be aligned to the lyrics%s", fallback)
        return None
    found = list(found)
    if len(found) != len(wanted):
        log.warning("lyrics: the aligner returned %d syllables for %d%s", len(found), len(wanted), fallback)
        return None
    prev_end = 0
    for s in found:
        if not (0 <= s.start <= s.vowel_start < s.vowel_end <= s.end <= n_frames) or s.start < prev_end - 1:
            log.warning("lyrics: the aligner returned syllables out of order or outside the speech%s", fallback)
            return None
        prev_end = s.end
    return found


def convert(speech: np.ndarray, melody: Melody, cfg: ScoreConfig | None = None,
            progress=None) -> tuple[np.ndarray, ScoreAnalysis]:
    """Sing ``speech`` [N] (24 kHz) to ``melody``. Returns (waveform [M] at 24 kHz, analysis).

    With more than one thread (``cfg.pieces.threads``) the speech's WORLD analysis runs beside
    the syllables' (and the lyrics' alignment), and pieces side by side; the output is the same.
    """
    cfg = cfg or ScoreConfig()
    notes = melody.notes
    if not notes:
        raise MelodyError("melody: contains no notes")
    with Lanes(cfg.pieces.threads) as lanes:
        return _convert(speech, melody, cfg, progress or (lambda stage, frac: None), lanes)


def _convert(speech: np.ndarray, melody: Melody, cfg: ScoreConfig, report,
             lanes: Lanes) -> tuple[np.ndarray, ScoreAnalysis]:
    notes = melody.notes
    report("analysis", 0.0)
    window, _ = cfg.pieces.analysis_frames()
    speech_f0 = chunks.framewise(speech, world.f0_dio, cfg=cfg.pieces, tick=lambda f: report("analysis", f),
                                 lanes=lanes)
    # on other threads: the speech's envelopes and aperiodicity (the key's probe and the synthesis
    # read them), and the speaker embedding when a sung melody may need it
    feats = world.FrameAnalyzer(speech, speech_f0, keep_all=len(speech_f0) <= window, lanes=lanes)
    cosine = None
    if melody.voice is not None and lanes.parallel and key.embedding_wanted(cfg.speaker_embedding):
        cosine = lanes.start(key.embedding_cosine, speech, melody.voice).result
    report("syllables", 0.0)
    mag = fe.stft_magnitude(speech)
    lyric_sylls = score_syllables(notes) if has_lyrics(notes) else []
    sylls = align_to_lyrics(speech, lyric_sylls, len(speech_f0), mag, speech_f0) if lyric_sylls else None
    aligned = sylls is not None
    if lyric_sylls and not aligned:
        # the number of syllables is known: a detector setting that finds exactly that many
        # keeps the score's syllable-to-note mapping
        sylls = detect_count(mag, speech_f0, len(lyric_sylls), cfg.syllables)
        if sylls is not None:
            log.warning("lyrics: found %d syllables in the speech without the words, as many as the lyrics have; "
                        "sung on the score's notes in order", len(sylls))
    mapped = sylls is not None
    if mapped:
        groups = lyric_groups(lyric_sylls)
        message = ""
    else:
        sylls = detect(mag, speech_f0, cfg.syllables)
        if not sylls:
            raise AudioInputError("speech: no syllables found (no voiced speech?)")
        report("assignment", 0.0)
        dur, pause = syllable_durations(sylls, DT)
        note_dur = np.array([x.duration for x in notes])
        rest = np.array([(notes[k + 1].onset - notes[k].offset) >= 0.1 for k in range(len(notes) - 1)] + [True])
        groups = assign(dur, pause, note_dur, rest, cfg.assign)
        message = summary(groups, len(sylls), len(notes))
        if message:
            log.warning("%s", message)

    report("key", 0.0)
    # cheap cues first: the embedding only when it could change the transposition (all this engine uses)
    decision = key.choose(cfg.transpose, speech, feats, melody.f0, melody.voice, cfg.speaker_embedding,
                          cfg.sing_range, identity=False, cosine=cosine)
    semitones = decision.transpose
    formant = world.check_formant(cfg.formant)
    # output time = score time; only an explicit lead-in moves everything (and says so)
    lead = float(cfg.lead_in_s)
    if lead < 0:
        raise MelodyError(f"lead-in must not be negative, got {lead:g} s")
    if lead > 0:
        log.warning("lead-in: the output starts %.3f s before score time 0 (score time t is output time t + %.3f s)",
                    lead, lead)
    notes_t = [replace(x, onset=x.onset + lead, offset=x.offset + lead, pitch=x.pitch + semitones) for x in notes]
    m = fe.n_frames(int(round((max(x.offset for x in notes_t) + cfg.tail_s) * fe.SAMPLE_RATE)))
    if melody.has_expression:
        m = max(m, len(melody.f0) + int(round(lead / DT)))
    legato = legato_notes(notes_t, cfg.phrase_gap_s)
    sung_sylls = voiced_cores(sylls, feats.f0, mag=mag) if cfg.voiced_vowels else sylls
    source, part = retime(sung_sylls, legato, groups, m, contour.ms_to_frames(cfg.max_consonant_ms),
                          cfg.min_vowel_share, cfg.anticipate_share, contour.ms_to_frames(cfg.vowel_edge_ms))
    sounding = part > 0

    report("synthesis", 0.0)
    if melody.has_expression:
        shifted = np.concatenate([np.zeros(int(round(lead / DT))), melody.f0])
        sung = contour.transpose(fe.fit_length(shifted, m), semitones)
        held = contour.bridge_gaps(sung, contour.ms_to_frames(200.0))
    else:
        sung = expressive_f0(legato, m, cfg.expression)
        held = _held_f0(legato, m)
    speech_voiced = feats.f0 > 0
    voiced = (part == VOWEL) | (sounding & speech_voiced[source])
    target = np.where(voiced, np.where(sung > 0, sung, held), 0.0)
    # each phrase's last sound goes on into the rest and decays there (a release, not a cut)
    syn_source, syn_f0, syn_voiced, syn_sounding, envelope = release_tails(
        source, target, voiced, sounding, contour.ms_to_frames(cfg.release_ms), contour.ms_to_frames(cfg.fade_ms))
    y = _synthesize(feats, syn_source, syn_f0, syn_voiced, syn_sounding, cfg.pieces,
                    lambda f: report("synthesis", f), formant, cfg.sung_aperiodicity, lanes)
    gain = envelope
    if cfg.sustain > 0:
        gain *= sustain_gain(chunks.loudness_db(y)[:m], part == VOWEL, cfg.sustain,
                             cfg.max_boost_db, contour.ms_to_frames(30.0), note_level_db(notes_t, m))
    level = frame_rms_db(y, m) + 20.0 * np.log10(np.maximum(gain, 1e-6))
    vowel_level = float(np.median(level[part == VOWEL])) if (part == VOWEL).any() else float(np.max(level))
    gain *= consonant_gain(level, (part == ONSET) | (part == CODA), vowel_level, cfg.consonant_gain_db,
                           cfg.consonant_below_vowel_db)
    chunks.apply_frame_gain(y, gain)
    add_floor(y, vowel_level + cfg.floor_db, cfg.expression.seed)
    report("done", 1.0)
    return y, ScoreAnalysis(speech_f0=feats.f0, syllables=sylls, notes=notes_t, groups=groups,
                            target_f0=target, source=source, part=part,
                            transpose=semitones, message=message, lead_in=lead, lyrics=lyric_sylls,
                            lyrics_aligned=aligned,
                            lyrics_mapped=mapped, key=decision)


def _synthesize(feats: world.FrameAnalyzer, source: np.ndarray, target: np.ndarray, voiced: np.ndarray,
                sounding: np.ndarray, pieces: chunks.PieceConfig, tick, formant: float = 1.0,
                aperiodicity: float = 1.0, lanes: Lanes | None = None) -> np.ndarray:
    """WORLD synthesis of the re-timed speech frames ``source`` [M] at ``target`` F0 [M], in pieces
    joined where nothing is sung, formants moved by ``formant``, voiced frames' aperiodicity at
    most the speech's voiced median times ``aperiodicity``: -> [M * HOP] float32."""
    m = len(target)
    ap_voiced = feats.median_voiced_aperiodicity()
    if ap_voiced is not None:
        ap_voiced = ap_voiced * aperiodicity

    def features(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        sp, ap = feats.at(source[lo:hi])
        if ap_voiced is not None:  # sung frames are periodic even where the speech was breathy
            v = voiced[lo:hi]
            ap[v] = np.minimum(ap[v], ap_voiced)
        if formant != 1.0:
            sp = world.warp_formants(sp, formant)
        return sp, ap

    cost = chunks.join_cost(np.where(sounding, 0.0, -100.0), target > 0)
    bounds = chunks.plan_pieces(m, pieces.piece_frames(), cost)
    return chunks.synthesize_in_pieces(target, m * fe.HOP, features, bounds, tick=tick, lanes=lanes)


def _held_f0(notes: list[Note], m: int) -> np.ndarray:
    """Flat note F0 with rests filled by the preceding note (for voiced consonants in rests): [m]."""
    from ..melody.expression import note_steps_cents

    steps, _ = note_steps_cents(notes, m)
    return 440.0 * 2.0 ** ((steps / 100.0 - 69.0) / 12.0)


def note_level_db(notes: list[Note], m: int) -> np.ndarray:
    """Each frame's note loudness in dB (0 outside notes): [m]."""
    t = fe.frame_times(m)
    level = np.zeros(m)
    for x in notes:
        level[(t >= x.onset) & (t < x.offset)] = x.level_db
    return level


def sustain_gain(energy_db: np.ndarray, vowel: np.ndarray, strength: float, max_boost_db: float,
                 smooth: int, level_db: np.ndarray | None = None) -> np.ndarray:
    """Gain [M] levelling vowel frames toward a common loudness (sung vowels do not decay
    like spoken ones), shifted by each note's own level ``level_db`` [M]; 1 elsewhere.
    ``energy_db`` [M] is the front-end loudness (frontend.loudness_db)."""
    g_db = np.zeros(len(vowel))
    if vowel.any():
        target = np.percentile(energy_db[vowel], 75)
        if level_db is not None:
            target = target + level_db[vowel]
        g_db[vowel] = np.clip(strength * (target - energy_db[vowel]) / fe.LOUDNESS_PER_GAIN, -24.0, max_boost_db)
        g_db = contour.smooth_frames(g_db, smooth)
    return 10.0 ** (g_db / 20.0)


def release_tails(source: np.ndarray, target: np.ndarray, voiced: np.ndarray, sounding: np.ndarray,
                  release: int, fade: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What is synthesised, with a release after every sung stretch: the stretch's last frame
    [M] goes on for up to ``release`` frames into the silence after it (not into the next
    stretch), its level falling exponentially to -40 dB; each stretch fades in over ``fade``
    frames. Returns (source [M], F0 [M], voiced [M], sounding [M], gain envelope [M])."""
    source, f0, voiced = source.copy(), target.copy(), voiced.copy()
    out_sounding = sounding.copy()
    gain = np.zeros(len(sounding))
    stretches = runs(sounding)
    for i, (a, b) in enumerate(stretches):
        gain[a:b] = 1.0
        if fade > 1:
            gain[a:a + fade] = np.minimum(gain[a:a + fade], (np.arange(min(fade, b - a)) + 1) / (fade + 1))
        stop = stretches[i + 1][0] if i + 1 < len(stretches) else len(sounding)
        r = min(release, stop - b)
        if r <= 0:
            continue
        source[b:b + r] = source[b - 1]
        f0[b:b + r] = target[b - 1]
        voiced[b:b + r] = voiced[b - 1]
        out_sounding[b:b + r] = True
        gain[b:b + r] = 10.0 ** (-2.0 * (np.arange(r) + 1) / max(release, 1))
    return source, f0, voiced, out_sounding, gain


def frame_rms_db(y: np.ndarray, m: int, block: int = 1 << 14) -> np.ndarray:
    """RMS level in dB of [M * HOP] audio per front-end frame (a window of 2 hops centred on
    the frame): -> [m]. Reads ``block`` hops at a time (memory flat in the length)."""
    hop = fe.HOP
    n = min(len(y), m * hop)
    power = np.empty(m + 1)                 # hop block j: samples [(j - 1) hop, j hop), zeros outside y
    for j0 in range(0, m + 1, block):
        j1 = min(j0 + block, m + 1)
        seg = np.zeros((j1 - j0) * hop, dtype=np.float64)
        a, b = max((j0 - 1) * hop, 0), min((j1 - 1) * hop, n)
        if b > a:
            seg[a - (j0 - 1) * hop: b - (j0 - 1) * hop] = y[a:b]
        power[j0:j1] = (seg.reshape(-1, hop) ** 2).mean(axis=1)
    return 10.0 * np.log10((power[:-1] + power[1:]) / 2.0 + 1e-20)


def consonant_gain(level_db: np.ndarray, consonant: np.ndarray, vowel_db: float, gain_db: float,
                   below_db: float, smooth: int = 1) -> np.ndarray:
    """Gain [M] for consonant frames: ``gain_db``, and further down where a frame would still
    be louder than ``below_db`` under the median vowel level ``vowel_db`` (singers keep
    consonants short and soft; a noise burst must not outshine the vowels); 1 elsewhere.
    ``level_db`` [M] is each frame's level before this gain; the gain in dB is smoothed over
    ``smooth`` frames (inside consonants at most 3 dB above the cap and never above ``gain_db``)."""
    g_db = np.zeros(len(consonant))
    if consonant.any():
        cap = vowel_db - below_db - level_db
        g_db[consonant] = np.clip(np.minimum(gain_db, cap[consonant]), -60.0, gain_db)
        # ramps over a few frames: a consonant fades in and out instead of switching level
        g_db = np.minimum(contour.smooth_frames(g_db, smooth), np.where(consonant, np.minimum(g_db + 3.0, gain_db), 0.0))
    return 10.0 ** (g_db / 20.0)


def add_floor(y: np.ndarray, level_db: float, seed: int) -> None:
    """Add a room-tone floor to [N] audio in place: quiet noise falling 6 dB an octave (as a
    room's and a breath's), RMS ``level_db`` dB, the same for the same seed; rests then hold
    room tone instead of digital silence. The noise is made twice, block by block (its mean
    and spread, then the floor): memory O(block), not O(N)."""
    from ..audio.dsp import one_pole_blocks

    n = len(y)
    if n == 0 or not np.isfinite(level_db):
        return
    total = squares = 0.0
    for _, block in one_pole_blocks(_Noise(n, seed), 0.97):
        total += float(block.sum())
        squares += float(block @ block)
    mean = total / n
    scale = 10.0 ** (level_db / 20.0) / (np.sqrt(max(squares / n - mean * mean, 0.0)) + 1e-12)
    for start, block in one_pole_blocks(_Noise(n, seed), 0.97):
        y[start:start + len(block)] += ((block - mean) * scale).astype(y.dtype)


class _Noise:
    """The floor's white noise [n], drawn in order as slices are read (the same samples as one
    standard_normal(n) call of the seeded generator)."""

    def __init__(self, n: int, seed: int):
        self.n, self.done = n, 0
        self.rng = np.random.default_rng([seed, 0xF100])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, part: slice) -> np.ndarray:
        assert part.start == self.done, "read in order"
        stop = min(part.stop, self.n)
        self.done = stop
        return self.rng.standard_normal(stop - part.start)


def note_speech_spans(an: ScoreAnalysis) -> list[tuple[float, float] | None]:
    """For each note of ``an.notes``: (start, end) in seconds of the input speech sung on it,
    or None when nothing is. A syllable's onset consonants count for its first note, its coda
    for its last; in a melisma each note gets the part of the vowel it sings."""
    n_speech = len(an.speech_f0)
    syllable_of = np.full(n_speech + 1, -1, dtype=np.int64)      # speech frame -> syllable
    for k, s in enumerate(an.syllables):
        syllable_of[max(s.start, 0):min(s.end, n_speech)] = k
    group_of = np.full(len(an.syllables), -1, dtype=np.int64)
    for g_index, g in enumerate(an.groups):
        group_of[g.s0:g.s1] = g_index
    onsets = np.array([x.onset for x in an.notes])
    t = fe.frame_times(len(an.part))
    lo = np.full(len(an.notes), np.inf)
    hi = np.full(len(an.notes), -np.inf)
    for j in np.flatnonzero(an.part > 0):
        k = syllable_of[an.source[j]]
        if k < 0 or group_of[k] < 0:
            continue
        g = an.groups[group_of[k]]
        if an.part[j] == ONSET:
            note = g.n0
        elif an.part[j] == CODA:
            note = g.n1 - 1
        else:
            note = int(np.clip(np.searchsorted(onsets, t[j] + 1e-9, side="right") - 1, g.n0, g.n1 - 1))
        lo[note] = min(lo[note], an.source[j])
        hi[note] = max(hi[note], an.source[j] + 1)
    return [(float(a * DT), float(b * DT)) if np.isfinite(a) else None for a, b in zip(lo, hi)]
