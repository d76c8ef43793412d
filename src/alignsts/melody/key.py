"""Key selection that fits the user: how far to transpose a melody, and whether its singer is the user.

Every engine asks the same question: the melody comes from somebody (a sung reference, a
recording given to ``--melody-from``, a MIDI file written in some register); in which key should
*this* speaker sing it? From the speech alone we know where the speaker sings: people sing roughly
0 to +16 semitones above their speaking median (measured on the real pairs: -0.4 to +15.8).

For a melody that carries a voice, cues tell whether that voice is the user's and in which
register it sits relative to the user's (all torch-free but the last, which is optional):

- F0 register: the melody's median minus the speaking median, in semitones.
- formant ratio: the frequency warp that best maps the speaker's average spectral envelope
  (WORLD CheapTrick over voiced frames) onto the melody voice's; ~1 for the same person,
  ~1.15-1.2 for a female voice against a male speaker, ~0.85 the other way (vocal-tract length).
- speaker embedding: Resemblyzer cosine of the two recordings, when resemblyzer is installed
  (the neural extra); imported lazily, only when asked for.

``decide`` turns a ``--transpose`` setting ('auto', 'fit' or semitones) and the cues into a
KeyDecision that says what was chosen and why.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import MelodyError

# Where people sing relative to their own speaking median (semitones): the melody's median lies
# in this window when they sing in their own key. The real pairs span -0.4 to +15.8.
SUNG_ABOVE_SPOKEN = (0.0, 16.0)
# Melodies with no voice (MIDI, notes) move by octaves only when their median leaves this wider
# window around the sung range, so a score written for the speaker's register stays as written.
SCORE_WINDOW = (-5.0, 19.0)
# Ratio of vocal-tract resonances between the adult registers (female / male): ~1.17.
REGISTER_FORMANT_RATIO = 1.17
FORMANT_SEARCH = (0.72, 1.38)         # formant ratios the estimate may return
FORMANT_BAND_HZ = (200.0, 5000.0)     # where the envelopes are compared (formants F1-F4)
MAX_ENVELOPE_FRAMES = 400             # voiced frames per recording for the average envelope
MAX_PROBE_FRAMES = 6000               # speech frames (32 s) re-synthesised at the melody's pitch
EMBEDDING_SECONDS = 60.0              # audio per recording given to the speaker encoder
# Resemblyzer cosine of speech against singing: the same person 0.64-0.89 on the real pairs, the
# same singing moved to the other register 0.52-0.63, other people 0.45-0.77.
EMBEDDING_SAME = 0.66                 # where "same person" becomes the likelier
EMBEDDING_WIDTH = 0.03
SAME_FORMANT_SPREAD = 1.08            # formant ratios of one person speaking and singing: ~1 +- 8 %
LOW_REGISTER_HZ = 165.0               # speaking medians below: the low (adult male) register


@dataclass
class VoiceCues:
    """What the recordings say about the melody's singer relative to the speaker.

    register_st: melody median - speaking median (semitones); formant_ratio: melody voice's
    formants / the speaker's (None without a melody voice); envelope_match: correlation of the
    two average envelopes at that ratio; embedding_cosine: Resemblyzer cosine (None when not
    computed)."""
    register_st: float
    formant_ratio: float | None = None
    envelope_match: float | None = None
    embedding_cosine: float | None = None

    @property
    def has_voice(self) -> bool:
        return self.formant_ratio is not None or self.embedding_cosine is not None


@dataclass
class KeyDecision:
    """The transposition chosen for a melody and why.

    transpose: semitones applied; mode: 'auto', 'fit' or 'manual'; reason: one sentence;
    same_speaker_score: 0..1 belief that the melody's singer is the speaker (None: no voice, e.g.
    MIDI); same_speaker: that belief thresholded (None: no voice); register_octaves: how many
    octaves above the speaker's register the melody's singer sits (0 same register);
    speech_median_hz / melody_median_hz; sung_range_hz: (low, high) where this speaker's sung
    melody median usually lies."""
    transpose: float
    mode: str
    reason: str
    same_speaker_score: float | None
    same_speaker: bool | None
    register_octaves: int
    speech_median_hz: float
    melody_median_hz: float
    sung_range_hz: tuple[float, float]
    cues: VoiceCues = field(default_factory=lambda: VoiceCues(float("nan")))

    def summary(self) -> str:
        """One line for logs: 'transpose -12 st (auto): <reason>'."""
        return f"transpose {self.transpose:+g} st ({self.mode}): {self.reason}"


# --- settings -----------------------------------------------------------------------------

def parse_setting(setting) -> str | float:
    """'auto' (also None), 'fit' or semitones (|x| <= validate.MAX_TRANSPOSE) -> 'auto' | 'fit' | float;
    anything else is an InvalidValueError."""
    from ..validate import TRANSPOSE_WORDS, transpose

    return "auto" if setting is None else transpose(setting, "transpose", TRANSPOSE_WORDS)


# --- registers ----------------------------------------------------------------------------

def median_semitones(f0: np.ndarray) -> float:
    """Median of the voiced frames in semitones re 440 Hz (nan when nothing is voiced)."""
    v = np.asarray(f0, dtype=np.float64)
    v = v[v > 0]
    return float(np.median(12.0 * np.log2(v / 440.0))) if len(v) else float("nan")


def _hz(semitones: float) -> float:
    return float(440.0 * 2.0 ** (semitones / 12.0)) if math.isfinite(semitones) else float("nan")


def sung_range(speech_f0: np.ndarray) -> tuple[float, float]:
    """Where this speaker's sung melody median lies, from the speech F0 [N]: (low, high) in
    semitones re 440 Hz (nan when the speech has no voiced frame)."""
    s = median_semitones(speech_f0)
    return s + SUNG_ABOVE_SPOKEN[0], s + SUNG_ABOVE_SPOKEN[1]


# --- cues ---------------------------------------------------------------------------------

def average_log_envelope(sp: np.ndarray) -> np.ndarray:
    """Mean log power envelope of frames [F, K] -> [K] (nan-free)."""
    return np.mean(np.log(np.maximum(np.asarray(sp, dtype=np.float64), 1e-20)), axis=0)


def voiced_envelope(wav: np.ndarray, f0: np.ndarray) -> np.ndarray | None:
    """Average log CheapTrick envelope over (up to MAX_ENVELOPE_FRAMES evenly spread) voiced
    frames of ``wav`` [N] with F0 ``f0`` [T]: -> [K], None when no frame is voiced."""
    from ..audio import frontend as fe
    from ..audio import world

    f0 = np.asarray(f0, dtype=np.float64)[: fe.n_frames(len(wav))]
    voiced = np.flatnonzero(f0 > 0)
    if len(voiced) == 0:
        return None
    pick = voiced[np.linspace(0, len(voiced) - 1, min(len(voiced), MAX_ENVELOPE_FRAMES)).astype(np.int64)]
    return average_log_envelope(world.envelope_frames(wav, f0, pick))


def formant_ratio(speech_env: np.ndarray, melody_env: np.ndarray, sample_rate: int = 24000) -> tuple[float, float]:
    """Frequency warp a that best maps the speaker's average log envelope onto the melody
    voice's (melody(f) ~ speech(f / a)), both [K] over 0..sample_rate/2.

    Compared in FORMANT_BAND_HZ after removing each curve's straight-line trend over
    log-frequency (spectral tilt differs between speaking and singing, formant positions
    much less). Returns (ratio, correlation at that ratio).
    """
    k = len(speech_env)
    freqs = np.arange(k) * (sample_rate / 2.0) / (k - 1)
    band = (freqs >= FORMANT_BAND_HZ[0]) & (freqs <= FORMANT_BAND_HZ[1])
    logf = np.log(freqs[band])
    basis = np.stack([np.ones_like(logf), logf], axis=1)

    def shape(curve: np.ndarray) -> np.ndarray:
        y = curve[band]
        coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
        r = y - basis @ coef
        return r / (np.linalg.norm(r) + 1e-12)

    target = shape(melody_env)
    ratios = np.exp(np.linspace(np.log(FORMANT_SEARCH[0]), np.log(FORMANT_SEARCH[1]), 97))
    scores = np.array([float(shape(np.interp(freqs / a, freqs, speech_env)) @ target) for a in ratios])
    best = int(np.argmax(scores))
    if 0 < best < len(ratios) - 1:   # parabolic refinement on the log-ratio grid
        y0, y1, y2 = scores[best - 1: best + 2]
        den = y0 - 2 * y1 + y2
        off = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        step = np.log(ratios[1] / ratios[0])
        return float(np.exp(np.log(ratios[best]) + off * step)), float(scores[best])
    return float(ratios[best]), float(scores[best])


def embedding_available() -> bool:
    """True when resemblyzer (the neural extra, whose wheel holds the weights) and webrtcvad can be
    imported; imports nothing."""
    from ..audio import speaker

    return speaker.available()


def embedding_cosine(a_wav: np.ndarray, b_wav: np.ndarray) -> float | None:
    """Resemblyzer cosine similarity of two 24 kHz recordings (None when either has no speech
    left after Resemblyzer's silence trimming), computed in numpy (audio.speaker: no torch).
    Needs resemblyzer's weights (see embedding_available)."""
    from ..audio import speaker

    # the first EMBEDDING_SECONDS of each (enough for a voice, bounded on long songs), in one batch
    a, b = speaker.embed_many([w[: int(EMBEDDING_SECONDS * 24000)] for w in (a_wav, b_wav)], 24000)
    if a is None or b is None:
        return None
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def speech_envelope_at(speech_frames, semitones: float) -> np.ndarray | None:
    """Average log envelope [K] of the speech re-synthesised ``semitones`` higher (formants kept).

    CheapTrick's envelope of a high voice is sampled only at its sparse harmonics, which reads
    as raised formants; analysing the speaker's voice at the melody's pitch gives both sides of
    the comparison the same bias (a soprano's own singing then matches her speech).
    ``speech_frames``: the speech's WORLD frames (audio.world.FrameAnalyzer or WorldFeatures:
    ``f0`` [T] and ``at(frames) -> (sp, ap)``); only the first MAX_PROBE_FRAMES are read, so
    the cost is bounded on long inputs.
    """
    from ..audio import world

    n = min(len(speech_frames.f0), MAX_PROBE_FRAMES)
    f0 = np.asarray(speech_frames.f0[:n], dtype=np.float64)
    if not np.any(f0 > 0):
        return None
    sp, ap = speech_frames.at(np.arange(n))
    if abs(semitones) < 1.0:
        return average_log_envelope(sp[f0 > 0])
    probe_f0 = np.where(f0 > 0, f0 * 2.0 ** (semitones / 12.0), 0.0)
    probe = world.synthesize(world.WorldFeatures(probe_f0, sp, ap))
    return voiced_envelope(probe, probe_f0)


def voice_cues(speech: np.ndarray, speech_frames, melody_f0: np.ndarray,
               melody_voice: np.ndarray | None = None, embedding: str = "auto") -> VoiceCues:
    """Cues about the melody's singer: speech [N] (24 kHz) with its WORLD frames
    (audio.world.FrameAnalyzer or WorldFeatures), the melody F0 [T] Hz and, when the melody is a recording, that
    recording ``melody_voice`` [M] (24 kHz, its F0 is ``melody_f0``).
    ``embedding``: 'auto' (Resemblyzer when installed), 'resemblyzer' or 'none'.
    """
    if embedding not in ("auto", "resemblyzer", "none"):
        raise MelodyError(f"speaker embedding must be auto, resemblyzer or none, got {embedding!r}")
    cues = VoiceCues(register_st=median_semitones(melody_f0) - median_semitones(speech_frames.f0))
    if melody_voice is None or not math.isfinite(cues.register_st):
        return cues
    s_env = speech_envelope_at(speech_frames, cues.register_st)
    m_env = voiced_envelope(melody_voice, melody_f0)
    if s_env is not None and m_env is not None:
        cues.formant_ratio, cues.envelope_match = formant_ratio(s_env, m_env)
    if embedding == "resemblyzer" or (embedding == "auto" and embedding_available()):
        cues.embedding_cosine = embedding_cosine(speech, melody_voice)   # says what to install if missing
    return cues


# --- decisions ----------------------------------------------------------------------------

def same_speaker_score(cues: VoiceCues) -> float | None:
    """0..1 belief that the melody's voice is the speaker's own (None without a voice).

    A weighted mean of three cue scores: the embedding (weight 1, logistic around
    EMBEDDING_SAME: it knows identity, not just size), the formant ratio (0.5, a Gaussian in
    log ratio: one vocal tract or two) and the F0 register (0.2: 1 while the melody sits where
    this speaker sings, falling off outside). Speech against the same person's singing scores
    lower on every cue than two recordings of one kind would, hence the modest thresholds.
    """
    if not cues.has_voice:
        return None
    lo, hi = SUNG_ABOVE_SPOKEN
    r = cues.register_st
    outside = max(lo - 2.0 - r, r - hi - 2.0, 0.0) if math.isfinite(r) else 0.0
    parts = [(0.2, math.exp(-0.5 * (outside / 3.0) ** 2))]
    if cues.formant_ratio is not None:
        dev = math.log(cues.formant_ratio) / math.log(SAME_FORMANT_SPREAD)
        parts.append((0.5, math.exp(-0.5 * dev * dev)))
    if cues.embedding_cosine is not None:
        z = (cues.embedding_cosine - EMBEDDING_SAME) / EMBEDDING_WIDTH
        parts.append((1.0, 1.0 / (1.0 + math.exp(-z))))
    total = sum(w for w, _ in parts)
    return float(sum(w * x for w, x in parts) / total)


def formant_at_bound(ratio: float | None) -> bool:
    """True when a formant ratio is (within 1 %) at an end of FORMANT_SEARCH: the best warp lies
    at or beyond the search's edge, so the value says "very different", not by how much."""
    if ratio is None:
        return False
    lo, hi = FORMANT_SEARCH
    return not lo * 1.01 < ratio < hi / 1.01


def register_evidence(cues: VoiceCues) -> float:
    """How many registers above the speaker the melody's singer sits, as a soft number:
    the F0 offset from the middle of the sung range in octaves plus the log formant ratio in
    units of REGISTER_FORMANT_RATIO (each ~1 for a female voice against a male speaker).

    A ratio at the search bound is left out: between real singers it comes from envelopes
    that do not match at any warp (other vowels, a tenor in the female range), and counting it
    as two registers put such melodies an octave off (benchmarks/cross_singer.py --identity:
    14 -> 17 of 24 clear cases; the synthetic other-register set stays 7/7)."""
    mid = sum(SUNG_ABOVE_SPOKEN) / 2.0
    evidence = (cues.register_st - mid) / 12.0
    if cues.formant_ratio is not None and not formant_at_bound(cues.formant_ratio):
        evidence += math.log(cues.formant_ratio) / math.log(REGISTER_FORMANT_RATIO)
    return float(evidence)


def register_octaves(cues: VoiceCues, same_speaker: bool | None, speech_median_hz: float) -> int:
    """Octaves between the melody singer's register and the speaker's (+1: one octave higher).

    The same person sings in their own register (0). Adults come in two registers an octave
    apart, so a low speaker (speaking median < LOW_REGISTER_HZ) can only meet a higher voice
    and a high speaker a lower one: the voice is taken to be one register away when the
    register evidence passes +-1. A melody without a voice (MIDI, notes) is judged by its F0
    alone. Either way, a melody whose median would still lie outside SCORE_WINDOW moves on
    by octaves.
    """
    r = cues.register_st
    if not math.isfinite(r):
        return 0
    octaves = 0
    if cues.formant_ratio is not None and not same_speaker:
        evidence = register_evidence(cues)
        if speech_median_hz < LOW_REGISTER_HZ and evidence >= 1.0:
            octaves = 1
        elif speech_median_hz >= LOW_REGISTER_HZ and evidence <= -1.0:
            octaves = -1
    lo, hi = SCORE_WINDOW
    while r - 12 * octaves >= hi:
        octaves += 1
    while r - 12 * octaves < lo:
        octaves -= 1
    return octaves


def fit_shift(speech_f0: np.ndarray, melody_f0: np.ndarray, prefer: float = 0.0) -> int:
    """Semitone shift that puts the melody where this speaker sings: [N], [T] -> semitones.

    The melody's frames between its 10th and 90th percentile should lie in the sung range
    (speaking median + SUNG_ABOVE_SPOKEN); the cost is the mean distance outside the range, and
    among equally good shifts the one closest to ``prefer`` (the octave choice) wins, so a
    melody that already fits keeps its key. A melody wider than the range is centred on it.
    """
    s = median_semitones(speech_f0)
    v = np.asarray(melody_f0, dtype=np.float64)
    v = v[v > 0]
    if not math.isfinite(s) or len(v) == 0:
        return int(round(prefer))
    p = 12.0 * np.log2(v / 440.0)
    lo_p, hi_p = np.percentile(p, [10, 90])
    core = p[(p >= lo_p) & (p <= hi_p)]
    lo, hi = s + SUNG_ABOVE_SPOKEN[0], s + SUNG_ABOVE_SPOKEN[1]
    shifts = np.arange(-36, 37)
    cost = np.array([np.mean(np.maximum(lo - (core + k), 0) + np.maximum((core + k) - hi, 0)) for k in shifts])
    if hi_p - lo_p > hi - lo:   # too wide to fit: centre it
        cost = np.abs((lo_p + hi_p) / 2 + shifts - (lo + hi) / 2)
    best = cost.min()
    good = shifts[cost <= best + 1e-9]
    return int(good[np.argmin(np.abs(good - prefer))])


def decide(setting, speech_f0: np.ndarray, melody_f0: np.ndarray, cues: VoiceCues | None = None) -> KeyDecision:
    """The transposition for a ``--transpose`` setting; MelodyError when it would move the melody
    out of the range a voice can sing (contour.check_sung_range).

    'auto': whole octaves, from the cues (a same-speaker melody stays, another register moves
    by its octave offset, a voiceless score moves only when outside SCORE_WINDOW); 'fit': the
    semitone shift that best fits the speaker's sung range (key change allowed), starting from
    the 'auto' octave; a number: that many semitones. speech_f0 [N], melody_f0 [T] in Hz.
    """
    decision = _decide(parse_setting(setting), speech_f0, melody_f0, cues)
    from .contour import check_sung_range

    check_sung_range(melody_f0, decision.transpose)
    return decision


def _decide(mode, speech_f0: np.ndarray, melody_f0: np.ndarray, cues: VoiceCues | None) -> KeyDecision:
    cues = cues if cues is not None else VoiceCues(median_semitones(melody_f0) - median_semitones(speech_f0))
    score = same_speaker_score(cues)
    same = None if score is None else score >= 0.5
    s_med = median_semitones(speech_f0)
    octaves = register_octaves(cues, same, _hz(s_med))
    lo, hi = sung_range(speech_f0)
    base = dict(same_speaker_score=score, same_speaker=same, register_octaves=octaves,
                speech_median_hz=_hz(s_med), melody_median_hz=_hz(median_semitones(melody_f0)),
                sung_range_hz=(_hz(lo), _hz(hi)), cues=cues)
    who = _who(cues, score, octaves)
    if isinstance(mode, float):
        return KeyDecision(transpose=mode, mode="manual", reason=f"set by hand; {who}", **base)
    if not math.isfinite(cues.register_st):
        return KeyDecision(transpose=0.0, mode=mode, reason="no voiced frames to compare, melody kept", **base)
    octave_shift = float(-12 * octaves)   # (an int product: never -0.0, which prints as "-0 st")
    if mode == "auto":
        if octaves == 0:
            reason = f"{who}; melody kept"
        else:
            reason = f"{who}; moved {abs(octaves)} octave{'s' if abs(octaves) > 1 else ''} " \
                     f"{'down' if octaves > 0 else 'up'}"
        return KeyDecision(transpose=octave_shift, mode="auto", reason=reason, **base)
    shift = float(fit_shift(speech_f0, melody_f0, prefer=octave_shift))
    where = cues.register_st + shift
    reason = f"{who}; shifted {shift:+g} st so the melody median sits {where:+.1f} st above your " \
             f"speaking median (you sing about {SUNG_ABOVE_SPOKEN[0]:+g} to {SUNG_ABOVE_SPOKEN[1]:+g})"
    return KeyDecision(transpose=shift, mode="fit", reason=reason, **base)


def _who(cues: VoiceCues, score: float | None, octaves: int) -> str:
    """The cue summary in words, e.g. 'another voice, one register higher (melody +21.0 st
    above your speaking median, formants x1.18, embedding cosine 0.62)'."""
    facts = [f"melody {cues.register_st:+.1f} st from your speaking median"]
    if cues.formant_ratio is not None:
        facts.append(f"formants x{cues.formant_ratio:.2f}")
    if cues.embedding_cosine is not None:
        facts.append(f"embedding cosine {cues.embedding_cosine:.2f}")
    detail = " (" + ", ".join(facts) + ")"
    if score is None:
        return "a melody without a voice" + detail
    if score >= 0.5:
        return f"your own voice (same-speaker score {score:.2f})" + detail
    where = "your register" if octaves == 0 else \
        f"{abs(octaves)} octave{'s' if abs(octaves) > 1 else ''} {'above' if octaves > 0 else 'below'} yours"
    return f"another voice, singing {where} (same-speaker score {score:.2f})" + detail
