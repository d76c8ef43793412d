"""Score engine: sing the speech to a melody given without words (MIDI, notes, F0, a recording).

speech ─ WORLD analysis ─ syllables ─┐
                                      ├─ syllable→note groups (DP) ─ re-timing: consonants at
melody ─ notes ──────────────────────┘  their natural rate, vowels fill the notes ─ expressive
                                         F0 from the notes ─ WORLD synthesis
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np

from ..align.assign import AssignConfig, Group, assign, summary, syllable_durations
from ..align.syllables import Syllable, SyllableConfig, detect
from ..audio import frontend as fe
from ..audio import world
from ..errors import AudioInputError, MelodyError
from ..melody import contour, key
from ..melody.expression import ExpressionConfig, expressive_f0
from ..melody.key import KeyDecision
from ..melody.notes import Melody, Note
from .analysis import ConversionAnalysis
from .reference import apply_frame_gain
from ..validate import Check, Range, one_of, transpose_setting

log = logging.getLogger("alignsts")

DT = fe.HOP / fe.SAMPLE_RATE


@dataclass
class ScoreConfig:
    transpose: Annotated[str | float, Check(transpose_setting)] = "auto"   # auto (octaves), fit (semitones) or semitones
    formant: Annotated[float, Range(*world.FORMANT_RANGE)] = 1.0   # move the output's formants by this factor (pitch kept)
    speaker_embedding: Annotated[str, Check(one_of("auto", "resemblyzer", "none"))] = "auto"   # key cue of --melody-from voices
    max_consonant_ms: Annotated[float, Range(10, 2000)] = 250.0   # longer consonant clusters are compressed to this
    min_vowel_share: Annotated[float, Range(0, 1)] = 0.8      # legato consonants leave the vowel at least this share
    lead_in_s: Annotated[float, Range(0, 60)] = 0.3            # a score's first note starts no earlier than this
    tail_s: Annotated[float, Range(0, 60)] = 0.3               # silence after the last note
    fade_ms: Annotated[float, Range(0, 1000)] = 12.0             # fades at the edges of sung phrases
    sustain: Annotated[float, Range(0, 1)] = 1.0              # 0..1: how far sung vowels are levelled to a common loudness
    max_boost_db: Annotated[float, Range(0, 60)] = 18.0
    consonant_gain_db: Annotated[float, Range(-60, 20)] = -6.0   # singers keep consonants short and soft next to vowels
    expression: ExpressionConfig = field(default_factory=ExpressionConfig)
    syllables: SyllableConfig = field(default_factory=SyllableConfig)
    assign: AssignConfig = field(default_factory=AssignConfig)


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
    key: KeyDecision | None = None


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


def retime(sylls: list[Syllable], notes: list[Note], groups: list[Group], m: int,
           max_consonant: int, min_vowel_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Output frame -> speech frame map [m] and what each output frame holds [m]
    (0 nothing, ONSET, VOWEL, CODA).

    The vowel of each syllable fills its note time; consonants go in the gaps between
    notes at their natural rate (capped at ``max_consonant`` frames). Where notes are
    legato the consonants borrow up to 1 - ``min_vowel_share`` of the neighbouring note
    time; where even that is too short they are compressed.
    """
    spans = syllable_spans(sylls, notes, groups)
    n = len(spans)
    onset = np.array([min(s.onset_frames, max_consonant) for s, _, _ in spans], float)
    coda = np.array([min(s.coda_frames, max_consonant) for s, _, _ in spans], float)
    va = np.array([a for _, a, _ in spans])
    vb = np.array([b for _, _, b in spans])
    lo = va.copy()            # where the onset starts
    hi = vb.copy()            # where the coda ends
    borrow = 1.0 - min_vowel_share
    for k in range(n + 1):
        left_end = vb[k - 1] if k > 0 else 0.0           # end of the previous vowel
        right_start = va[k] if k < n else float(m)        # start of the next vowel
        need = (coda[k - 1] if k > 0 else 0.0) + (onset[k] if k < n else 0.0)
        gap = right_start - left_end
        if gap < need:
            deficit = need - gap
            take_left = min(deficit / 2, borrow * (vb[k - 1] - va[k - 1]) / 2) if k > 0 else 0.0
            take_right = min(deficit - take_left, borrow * (vb[k] - va[k]) / 2) if k < n else 0.0
            take_left = min(deficit - take_right, borrow * (vb[k - 1] - va[k - 1]) / 2) if k > 0 else 0.0
            if k > 0:
                vb[k - 1] -= take_left
            if k < n:
                va[k] += take_right
            gap = right_start + take_right - (left_end - take_left)
            scale = min(1.0, gap / need) if need > 0 else 1.0
        else:
            scale = 1.0
        if k > 0:
            hi[k - 1] = vb[k - 1] + coda[k - 1] * scale
        if k < n:
            lo[k] = va[k] - onset[k] * scale
    source = np.zeros(m, dtype=np.int64)
    part = np.zeros(m, dtype=np.int8)
    for k, (s, _, _) in enumerate(spans):
        _place(s.start, s.vowel_start, lo[k], va[k], source, part, ONSET)
        _place(s.vowel_start, s.vowel_end, va[k], vb[k], source, part, VOWEL)
        _place(s.vowel_end, s.end, vb[k], hi[k], source, part, CODA)
    return source, part


def convert(speech: np.ndarray, melody: Melody, cfg: ScoreConfig | None = None,
            progress=None) -> tuple[np.ndarray, ScoreAnalysis]:
    """Sing ``speech`` [N] (24 kHz) to ``melody``. Returns (waveform [M] at 24 kHz, analysis)."""
    cfg = cfg or ScoreConfig()
    report = progress or (lambda stage, frac: None)

    report("analysis", 0.0)
    feats = world.analyze(speech)
    mag = fe.stft_magnitude(speech)
    report("syllables", 0.0)
    sylls = detect(mag, feats.f0, cfg.syllables)
    if not sylls:
        raise AudioInputError("speech: no syllables found (no voiced speech?)")
    notes = melody.notes
    if not notes:
        raise MelodyError("melody: contains no notes")

    report("assignment", 0.0)
    dur, pause = syllable_durations(sylls, DT)
    note_dur = np.array([x.duration for x in notes])
    rest = np.array([(notes[k + 1].onset - notes[k].offset) >= 0.1 for k in range(len(notes) - 1)] + [True])
    groups = assign(dur, pause, note_dur, rest, cfg.assign)
    message = summary(groups, len(sylls), len(notes))
    if message:
        log.warning("%s", message)

    cues = key.voice_cues(speech, feats, melody.f0, melody_voice=melody.voice, embedding=cfg.speaker_embedding)
    decision = key.decide(cfg.transpose, feats.f0, melody.f0, cues)
    semitones = decision.transpose
    # a score starting at 0 s gets room for the first syllable's onset consonants; melodies
    # taken from recordings keep their own timeline
    lead = 0.0
    if not (melody.transcribed or melody.has_expression):
        lead = max(0.0, cfg.lead_in_s - notes[0].onset)
    notes_t = [Note(x.onset + lead, x.offset + lead, x.pitch + semitones, x.level_db) for x in notes]
    m = fe.n_frames(int(round((max(x.offset for x in notes_t) + cfg.tail_s) * fe.SAMPLE_RATE)))
    if melody.has_expression:
        m = max(m, len(melody.f0) + int(round(lead / DT)))
    source, part = retime(sylls, notes_t, groups, m, contour.ms_to_frames(cfg.max_consonant_ms),
                          cfg.min_vowel_share)
    sounding = part > 0

    report("synthesis", 0.0)
    if melody.has_expression:
        shifted = np.concatenate([np.zeros(int(round(lead / DT))), melody.f0])
        sung = contour.transpose(fe.fit_length(shifted, m), semitones)
        held = contour.bridge_gaps(sung, contour.ms_to_frames(200.0))
    else:
        sung = expressive_f0(notes_t, m, cfg.expression)
        held = _held_f0(notes_t, m)
    speech_voiced = feats.f0 > 0
    voiced = (part == VOWEL) | (sounding & speech_voiced[source])
    target = np.where(voiced, np.where(sung > 0, sung, held), 0.0)
    sp = feats.sp[source]
    ap = feats.ap[source]
    if speech_voiced.any():  # sung frames are periodic even where the speech was breathy
        ap[voiced] = np.minimum(ap[voiced], np.median(feats.ap[speech_voiced], axis=0))
    if cfg.formant != 1.0:
        sp = world.warp_formants(sp, world.check_formant(cfg.formant))
    y = world.synthesize(world.WorldFeatures(target, sp, ap), n_samples=m * fe.HOP)
    gain = _sounding_gain(sounding, contour.ms_to_frames(cfg.fade_ms))
    if cfg.sustain > 0:
        gain *= sustain_gain(fe.loudness_db(fe.log_mel(y))[:m], part == VOWEL, cfg.sustain,
                             cfg.max_boost_db, contour.ms_to_frames(30.0), note_level_db(notes_t, m))
    gain[(part == ONSET) | (part == CODA)] *= 10.0 ** (cfg.consonant_gain_db / 20.0)
    y = apply_frame_gain(y, gain)
    report("done", 1.0)
    return y, ScoreAnalysis(speech_f0=feats.f0, syllables=sylls, notes=notes_t, groups=groups,
                            target_f0=target, source=source, part=part,
                            transpose=semitones, message=message, key=decision)


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


def _sounding_gain(sounding: np.ndarray, fade: int) -> np.ndarray:
    """1 where something is sung, 0 elsewhere, ramped over about ``fade`` frames: [M]."""
    g = sounding.astype(np.float64)
    if fade > 1:
        g = np.clip(np.convolve(g, np.ones(fade) / fade, "same"), 0.0, 1.0) * sounding
    return g
