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
KeyDecision that says what was chosen and why: for a melody with a voice, the most probable
octave of ``octave_scores`` (a prior on where people sing relative to their speech, the voice's
register from its formants, and the same-speaker belief as a mixture weight; the weights and
their reasons are stated there and in the constants below). With the user's own range
(``--range A2-E4`` / ``--voice baritone``, or ``measure_range`` of their singing) 'auto' and
'fit' put the melody inside it instead of inside the range guessed from the speech.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import MelodyError
from .voices import VOICE_RANGES, note_name  # noqa: F401  (re-exported: key.VOICE_RANGES, key.note_name)

# Where people sing relative to their own speaking median (semitones): the melody's median lies
# in this window when they sing in their own key. The real pairs span -0.4 to +15.8.
SUNG_ABOVE_SPOKEN = (0.0, 16.0)
# Melodies with no voice (MIDI, notes) move by octaves only when their median leaves this wider
# window around the sung range, so a score written for the speaker's register stays as written.
SCORE_WINDOW = (-5.0, 19.0)
# Ratio of vocal-tract resonances between the adult registers (female / male): ~1.17.
REGISTER_FORMANT_RATIO = 1.17
FORMANT_SEARCH = (0.72, 1.38)         # formant ratios the estimate may return
# Where the envelopes are compared: F1-F5 and the upper spectrum, whose shape scales with the vocal
# tract's length as the formants do (from the melody's pitch up: formant_ratio). Up to 8 kHz rather
# than 5 kHz (F1-F4): on the 294 transformed same-person pairs the register read from the formants
# misses the true register difference by sd 0.31 instead of 0.52 registers, the seven real persons'
# own singing reads x0.93-1.08 instead of x0.94-1.21, and real pairs of one register read about 0
# (benchmarks/formant_band.py). Lowered to what both recordings contain (band_top: a recording made
# at 16 kHz holds nothing above 8 kHz).
FORMANT_BAND_HZ = (200.0, 8000.0)
BAND_EDGE_DB = 45.0                   # a band-limited input: its envelope falls this far below its 0.3-3 kHz level
MIN_BAND_TOP_HZ = 1500.0
MAX_ENVELOPE_FRAMES = 400             # voiced frames per recording for the average envelope
MAX_PROBE_FRAMES = 6000               # speech frames (32 s) re-synthesised at the melody's pitch
EMBEDDING_SECONDS = 60.0              # audio per recording given to the speaker encoder
# Resemblyzer cosine of speech against singing: the same person 0.64-0.89 on the real pairs, the
# same singing moved to the other register 0.52-0.63, other people 0.45-0.77.
EMBEDDING_SAME = 0.66                 # where "same person" becomes the likelier
EMBEDDING_WIDTH = 0.03
SAME_FORMANT_SPREAD = 1.08            # formant ratios of one person speaking and singing: ~1 +- 8 %
# The same for a high speaker's ratios above 1 (see same_speaker_score). It was 1.15 while the
# band started at 200 Hz, below a high voice's first harmonic (own singing of the high real persons
# read x1.08-1.24); compared from the pitch up they read x0.90-1.08, and the ordinary spread judges
# another person's singing "your own voice" less often (base install 46.1 % -> 42.4 % of 2058, own
# singing still 49/49).
HIGH_SAME_FORMANT_SPREAD = SAME_FORMANT_SPREAD
LOW_REGISTER_HZ = 165.0               # speaking medians below: the low (adult male) register
# The octave decision for a melody with a voice (octave_scores; weights explained there). Where the
# seven real persons sing relative to their speaking median: -0.3, +6.2, +8.6, +11.2, +13.0,
# +15.0, +15.9 st (mean +9.9, sd 5.7).
SUNG_CENTRE_ST = 9.9
SUNG_SPREAD_ST = 5.7
OUTSIDE_SPREAD_ST = 2.0               # fall-off (st) below 0 / beyond +16: 4 st outside costs 2 nats
REGISTER_SPREAD = 0.3                 # registers: the formant reading's error (1.17^0.3 = +-5 %; measured sd 0.31)
# A reading on the impossible side (a high speaker's melody with higher formants, a low speaker's
# with lower: register_likelihood) is a contaminated reading this often: on the 70 test songs the
# separated vocal's formants read more than 2 REGISTER_SPREAD (0.094 in log ratio) off the dry
# vocal's on 16 (all of them upward: the band's partials on the voice's); 0.1 and 0.3 decide the
# same on those songs.
CONTAMINATED_READING = 0.2


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
    # what became of the embedding cue: 'ran', 'skipped' (it could not change what the engine
    # uses: see embedding_can_change), 'off' (speaker_embedding: none), 'not installed', or None
    # (no melody voice to compare)
    embedding: str | None = None

    @property
    def has_voice(self) -> bool:
        return self.formant_ratio is not None or self.embedding_cosine is not None

    def ran(self) -> list[str]:
        """The cues that were computed, in order: 'register', 'formants', 'embedding'."""
        return (["register"] + (["formants"] if self.formant_ratio is not None else [])
                + (["embedding"] if self.embedding_cosine is not None else []))

    def report(self) -> dict:
        """The cues for an analysis file: {"ran": [...], "register_st", "formant_ratio",
        "envelope_match", "embedding_cosine" (None when not computed), "embedding" (its status)}."""
        def num(x):
            return None if x is None or not math.isfinite(x) else round(float(x), 4)
        return {"ran": self.ran(), "register_st": num(self.register_st), "formant_ratio": num(self.formant_ratio),
                "envelope_match": num(self.envelope_match), "embedding_cosine": num(self.embedding_cosine),
                "embedding": self.embedding}


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
    user_range: str | None = None   # the user's own range when given ('A2-E4', 'baritone (A2-A4)')

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


def formant_ratio(speech_env: np.ndarray, melody_env: np.ndarray, sample_rate: int = 24000,
                  f0_hz: float | None = None) -> tuple[float, float]:
    """Frequency warp a that best maps the speaker's average log envelope onto the melody
    voice's (melody(f) ~ speech(f / a)), both [K] over 0..sample_rate/2, both analysed at a
    median pitch of ``f0_hz`` when given (voice_cues re-synthesises the speech at the melody's).

    Compared in FORMANT_BAND_HZ, from the pitch up when it is higher (below the first harmonic an
    envelope holds no measurement: a voice at 254 Hz read x1.30 against its own speech with the
    band from 200 Hz, x1.08 from 254 Hz), its top lowered to what both recordings contain (the
    speech's after the strongest warp: band_top), after removing each curve's straight-line trend over
    log-frequency (spectral tilt differs between speaking and singing, formant positions
    much less). Returns (ratio, correlation at that ratio).
    """
    k = len(speech_env)
    freqs = np.arange(k) * (sample_rate / 2.0) / (k - 1)
    # the speech warped by the smallest ratio still holds content up to its top x that ratio
    top = min(FORMANT_BAND_HZ[1], band_top(speech_env, freqs) * FORMANT_SEARCH[0], band_top(melody_env, freqs))
    low = max(FORMANT_BAND_HZ[0], f0_hz) if f0_hz is not None and math.isfinite(f0_hz) else FORMANT_BAND_HZ[0]
    band = (freqs >= min(low, top / 2.0)) & (freqs <= top)
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


def band_top(env: np.ndarray, freqs: np.ndarray) -> float:
    """The highest frequency (Hz) worth comparing in an average log power envelope ``env`` [K] over
    ``freqs`` [K]: 90 % of the first frequency above 1 kHz where it falls BAND_EDGE_DB below its
    0.3-3 kHz median (a recording made at 8 or 16 kHz has nothing above 4 or 8 kHz: natural speech
    stays within about 25 dB up to 11 kHz), at least MIN_BAND_TOP_HZ; inf when it never falls."""
    env = np.asarray(env, dtype=np.float64)
    ref = float(np.median(env[(freqs >= 300.0) & (freqs <= 3000.0)]))
    low = np.flatnonzero((freqs >= 1000.0) & (env < ref - BAND_EDGE_DB * math.log(10.0) / 10.0))
    return max(0.9 * float(freqs[low[0]]), MIN_BAND_TOP_HZ) if len(low) else float("inf")


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
    cues = _signal_cues(speech_frames, melody_f0, melody_voice, embedding)
    if cues.embedding is None and melody_voice is not None and math.isfinite(cues.register_st):
        _add_embedding(cues, speech, melody_voice, embedding)
    return cues


def _signal_cues(speech_frames, melody_f0: np.ndarray, melody_voice: np.ndarray | None,
                 embedding: str) -> VoiceCues:
    """The cheap cues (F0 register, formant ratio) of voice_cues; ``embedding`` is only checked
    (and recorded when it rules the embedding out: 'off', 'not installed')."""
    if embedding not in ("auto", "resemblyzer", "none"):
        raise MelodyError(f"speaker embedding must be auto, resemblyzer or none, got {embedding!r}")
    cues = VoiceCues(register_st=median_semitones(melody_f0) - median_semitones(speech_frames.f0))
    if melody_voice is None or not math.isfinite(cues.register_st):
        return cues
    s_env = speech_envelope_at(speech_frames, cues.register_st)
    m_env = voiced_envelope(melody_voice, melody_f0)
    if s_env is not None and m_env is not None:
        cues.formant_ratio, cues.envelope_match = formant_ratio(s_env, m_env, f0_hz=_hz(median_semitones(melody_f0)))
    if embedding == "none":
        cues.embedding = "off"
    elif embedding == "auto" and not embedding_available():
        cues.embedding = "not installed"
    return cues


def embedding_wanted(embedding: str) -> bool:
    """Whether the setting ``embedding`` lets the embedding cue run when it is needed: 'resemblyzer',
    or 'auto' with resemblyzer installed."""
    return embedding == "resemblyzer" or (embedding == "auto" and embedding_available())


def _add_embedding(cues: VoiceCues, speech: np.ndarray, melody_voice: np.ndarray, embedding: str,
                   cosine: Callable[[], float | None] | None = None) -> None:
    """Compute the embedding cue into ``cues`` (unless ``embedding`` rules it out); ``cosine``:
    its value from a computation already under way (embedding_cosine of the same recordings)."""
    if embedding_wanted(embedding):
        cues.embedding_cosine = cosine() if cosine is not None else embedding_cosine(speech, melody_voice)
        cues.embedding = "ran"


# --- cheap cues first ---------------------------------------------------------------------

def embedding_can_change(setting, speech_f0: np.ndarray, melody_f0: np.ndarray, cues: VoiceCues,
                         sing_range=None, identity: bool = True) -> bool:
    """Whether the speaker embedding, whatever its value, could change what the engine takes from
    the key decision: the transposition, and ``same_speaker`` when ``identity`` (the reference
    engine's spectral balance reads it). ``cues``: the signal cues (no embedding yet).

    The rule is a bound, not a tuned threshold. The embedding enters the decision only through the
    same-speaker score s (same_speaker_score), which rises with the cosine, and the cosine lies in
    [-1, 1]; so s lies in [s(-1), s(+1)]. Below s = 0.5 the mixture weight w is 0 and same_speaker
    False: one outcome. From s = 0.5 on, same_speaker is True and w rises with s; the octave
    posterior is w [k = 0] + (1 - w) P_other(k), where w scales every k != 0 alike and only lifts
    k = 0, so the chosen octave switches at most once (to 0) and the outcome over that stretch is
    that of one of its ends. Every outcome the embedding can produce is therefore among the
    decisions at cosine -1, at the smallest cosine with s >= 0.5 and at +1; the decision without
    the embedding is compared too (it is what a skip gives). False -- skipping is safe -- when all
    of them agree. Without a formant cue the embedding would be the only voice cue: True.
    (tests/melody/test_key_skip.py checks this against dense cosine grids on random cues.)
    """
    if cues.formant_ratio is None:
        return True
    mode, user = parse_setting(setting), parse_range(sing_range)
    s_hz = _hz(median_semitones(speech_f0))

    def with_cosine(c: float | None) -> VoiceCues:
        return VoiceCues(cues.register_st, cues.formant_ratio, cues.envelope_match, c)

    def outcome(c: float | None) -> tuple:
        d = _decide(mode, speech_f0, melody_f0, with_cosine(c), user)
        return d.transpose, (d.same_speaker if identity else None)

    cosines = [None, -1.0, 1.0]
    score = lambda c: same_speaker_score(with_cosine(c), s_hz)   # noqa: E731
    if score(-1.0) < 0.5 <= score(1.0):     # the smallest cosine at even odds, by bisection
        lo, hi = -1.0, 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if score(mid) >= 0.5 else (mid, hi)
        cosines.append(hi)
    first = outcome(cosines[0])
    return any(outcome(c) != first for c in cosines[1:])


def choose(setting, speech: np.ndarray, speech_frames, melody_f0: np.ndarray,
           melody_voice: np.ndarray | None = None, embedding: str = "auto", sing_range=None,
           identity: bool = True, cosine: Callable[[], float | None] | None = None) -> KeyDecision:
    """The key decision from the recordings, cheap cues first: voice_cues + decide, but with
    ``embedding='auto'`` the speaker embedding (the costly cue: about 0.2 s for 8 s of each
    recording) is computed only when embedding_can_change says it could change the outcome
    (``identity``: the caller also uses ``same_speaker``); otherwise ``cues.embedding`` is
    'skipped'. ``embedding='resemblyzer'`` always computes it. Arguments as voice_cues and
    decide; speech_frames.f0 is the speech F0 [N]. ``cosine``: returns embedding_cosine(speech,
    melody_voice) from a computation started earlier on another thread (read only when needed)."""
    cues = _signal_cues(speech_frames, melody_f0, melody_voice, embedding)
    if cues.embedding is None and melody_voice is not None and math.isfinite(cues.register_st):
        if embedding == "auto" and not embedding_can_change(setting, speech_frames.f0, melody_f0, cues,
                                                            sing_range, identity):
            cues.embedding = "skipped"
        else:
            _add_embedding(cues, speech, melody_voice, embedding, cosine)
    return decide(setting, speech_frames.f0, melody_f0, cues, sing_range)


# --- decisions ----------------------------------------------------------------------------

def same_speaker_score(cues: VoiceCues, speech_median_hz: float | None = None) -> float | None:
    """0..1 belief that the melody's voice is the speaker's own (None without a voice).

    A weighted mean of three cue scores: the embedding (weight 1, logistic around
    EMBEDDING_SAME: it knows identity, not just size), the formant ratio (0.5, a Gaussian in
    log ratio: one vocal tract or two) and the F0 register (0.2: 1 while the melody sits where
    this speaker sings, falling off outside). Speech against the same person's singing scores
    lower on every cue than two recordings of one kind would, hence the modest thresholds.
    For a high speaker (``speech_median_hz`` >= LOW_REGISTER_HZ) a ratio above 1 is judged with
    HIGH_SAME_FORMANT_SPREAD (now the ordinary spread: with the formant band starting at the
    pitch, a high voice singing higher no longer reads as raised formants).
    """
    if not cues.has_voice:
        return None
    lo, hi = SUNG_ABOVE_SPOKEN
    r = cues.register_st
    outside = max(lo - 2.0 - r, r - hi - 2.0, 0.0) if math.isfinite(r) else 0.0
    parts = [(0.2, math.exp(-0.5 * (outside / 3.0) ** 2))]
    if cues.formant_ratio is not None:
        spread = HIGH_SAME_FORMANT_SPREAD if (speech_median_hz is not None and speech_median_hz >= LOW_REGISTER_HZ
                                              and cues.formant_ratio > 1.0) else SAME_FORMANT_SPREAD
        dev = math.log(cues.formant_ratio) / math.log(spread)
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


def sung_prior(x_st: float) -> float:
    """Log prior (nats, 0 at best) that a person sings a melody ``x_st`` semitones above their
    speaking median: a Gaussian around SUNG_CENTRE_ST (spread SUNG_SPREAD_ST: the real pairs'
    own singing sits at -0.3..+15.9 st, mean +9.9, sd 5.7), times a steep fall-off outside
    SUNG_ABOVE_SPOKEN (OUTSIDE_SPREAD_ST): singing below one's speaking voice or beyond +16 st
    is rare, so a melody is only kept there on strong evidence (its voice being the user's, or
    its formants placing it in the user's register: see octave_scores)."""
    lo, hi = SUNG_ABOVE_SPOKEN
    out = max(lo - x_st, x_st - hi, 0.0)
    return float(-0.5 * ((x_st - SUNG_CENTRE_ST) / SUNG_SPREAD_ST) ** 2 - 0.5 * (out / OUTSIDE_SPREAD_ST) ** 2)


def register_estimate(cues: VoiceCues, speech_median_hz: float) -> float | None:
    """The melody voice's register relative to the speaker's from its formants (registers: log
    ratio in units of REGISTER_FORMANT_RATIO), or None (no voice, or a ratio at the search bound,
    which says "the envelopes match at no warp", not by how much). Adults come in two registers
    an octave apart, so a low speaker (speaking median < LOW_REGISTER_HZ) can only meet a
    higher voice (clipped to 0..1) and a high speaker a lower one (-1..0). How much a reading
    clipped on the speaker's own side (e.g. the raised formants a high voice's sparse harmonics or
    a band's partials read as) still says is register_likelihood's business."""
    raw = _register_reading(cues)
    return None if raw is None else _clipped_register(raw, speech_median_hz)


def _clipped_register(raw: float, speech_median_hz: float) -> float:
    """A register reading clipped to the voices this speaker can meet (see register_estimate)."""
    return float(min(max(raw, 0.0), 1.0) if speech_median_hz < LOW_REGISTER_HZ else min(max(raw, -1.0), 0.0))


def _register_reading(cues: VoiceCues) -> float | None:
    """The unclipped register reading of register_estimate (log formant ratio / log
    REGISTER_FORMANT_RATIO), None without a usable ratio."""
    if cues.formant_ratio is None or formant_at_bound(cues.formant_ratio):
        return None
    return math.log(cues.formant_ratio) / math.log(REGISTER_FORMANT_RATIO)


def reading_on_impossible_side(cues: VoiceCues, speech_median_hz: float) -> bool:
    """True when the formant reading puts the melody's voice on the side of the speaker's register
    no adult voice lies on: higher formants than a high speaker's (>= LOW_REGISTER_HZ), lower than
    a low speaker's (see register_likelihood)."""
    raw = _register_reading(cues)
    return raw is not None and _impossible(raw, speech_median_hz)


def _impossible(raw: float, speech_median_hz: float) -> bool:
    """Whether an unclipped register reading lies on the side no adult voice reads (see above)."""
    return raw != 0.0 and (raw < 0) == (speech_median_hz < LOW_REGISTER_HZ)


def register_likelihood(cues: VoiceCues, speech_median_hz: float, k: int) -> float:
    """Log likelihood (nats, up to a constant) of the formant reading if the melody's singer is k
    registers above the speaker (the melody then moves -12k st); 0 without a reading.

    A reading on the side this speaker's voice can meet (register_estimate: a low speaker's
    melody with formants as high or higher, a high speaker's as low or lower) is a Gaussian
    measurement, with error REGISTER_SPREAD, of the clipped register. A reading on the other,
    impossible side is off by at least its overshoot, so it is modelled as what it is: either a
    noisy reading of the singer's register (the same Gaussian of the unclipped value, around the
    register octave k implies: 0 or the other one) or, with probability CONTAMINATED_READING, a
    contaminated one that says nothing (uniform over the registers FORMANT_SEARCH can return);
    an octave k beyond both registers costs its distance from the nearer, as on the possible side.
    Clipping such a reading to "your register" instead made it the strongest evidence of all
    for keeping the melody: a high speaker given a lower voice's song whose separated vocal read
    x1.14-1.17 (band partials on the voice's) was kept an octave low, against where people sing."""
    raw = _register_reading(cues)
    if raw is None:
        return 0.0
    if not _impossible(raw, speech_median_hz):   # within, or beyond the other register: clipped
        return -0.5 * ((_clipped_register(raw, speech_median_hz) - k) / REGISTER_SPREAD) ** 2
    register = _clipped_register(k, speech_median_hz)   # the singer's register for octave k
    span = math.log(FORMANT_SEARCH[1] / FORMANT_SEARCH[0]) / math.log(REGISTER_FORMANT_RATIO)
    density = math.exp(-0.5 * ((raw - register) / REGISTER_SPREAD) ** 2) / (REGISTER_SPREAD * math.sqrt(2 * math.pi))
    # an octave no adult register explains (a low speaker's melody moved up, a high one's down, or
    # two octaves) costs what it costs on the possible side, its distance from the nearest register
    return math.log((1.0 - CONTAMINATED_READING) * density + CONTAMINATED_READING / span) \
        - 0.5 * ((k - register) / REGISTER_SPREAD) ** 2


def octave_scores(cues: VoiceCues, score: float | None, speech_median_hz: float) -> dict[int, float]:
    """Posterior probability of each octave k (the melody moves -12k st) for a melody with a voice:

        P(k) = w [k = 0] + (1 - w) P_other(k)
        P_other(k) ~ exp(sung_prior(register_st - 12 k) + register_likelihood(k))

    with w = clip((score - 0.5) / 0.5, 0, 1), the same-speaker belief above even odds: the user's
    own singing is where they sing, whatever its register (their own speech vs singing gives
    formant ratios of 0.92-1.09 on the enlarged set); another voice is placed by where people
    sing relative to their speech (the prior) and by its register (the formants).

    Weights and why: the prior is the physics of where people sing (from the seven real persons);
    the formant term's REGISTER_SPREAD = 0.3 registers (+-5 % in formant ratio) lets a clear
    register (ratio ~1.17) outweigh the prior's preference within the sung window, but not a
    melody far outside it. "Below my speaking voice" or "beyond +16 st" then needs w near 1
    (strong same-voice evidence) or a formant register that puts the melody there. The
    Resemblyzer cosine, when installed, enters only through ``score``; on the enlarged set of
    benchmarks/key_generalise.py the decision is as right without it as with it."""
    w = min(max((score - 0.5) / 0.5, 0.0), 1.0) if score is not None else 0.0
    logits = {k: sung_prior(cues.register_st - 12.0 * k) + register_likelihood(cues, speech_median_hz, k)
              for k in range(-3, 4)}
    top = max(logits.values())
    total = sum(math.exp(v - top) for v in logits.values())
    return {k: float(w * (k == 0) + (1.0 - w) * math.exp(v - top) / total) for k, v in logits.items()}


def register_octaves(cues: VoiceCues, same_speaker: bool | None, speech_median_hz: float,
                     score: float | None = None) -> int:
    """Octaves between the melody singer's register and the speaker's (+1: one octave higher).

    A melody with a voice: the most probable of octave_scores (``score``: the same-speaker score; when
    only ``same_speaker`` is given, True counts as 1). A melody without a voice (MIDI, notes)
    keeps its octave unless its median lies outside SCORE_WINDOW, so a score written for the
    speaker's register stays as written.
    """
    r = cues.register_st
    if not math.isfinite(r):
        return 0
    octaves = 0
    if cues.has_voice:
        if score is None and same_speaker is not None:
            score = 1.0 if same_speaker else 0.0
        scores = octave_scores(cues, score, speech_median_hz)
        octaves = max(scores, key=lambda k: (scores[k], -abs(k)))
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
    melody that already fits keeps its key. A melody wider than the range has its median centred
    on it (the median, not the middle of the 10th-90th percentiles: a separated vocal's frames
    read on a higher partial fill one tail and would move that middle by several semitones).
    """
    s = median_semitones(speech_f0)
    if not math.isfinite(s) or not np.any(np.asarray(melody_f0) > 0):
        return int(round(prefer))
    sung = SingRange(low=69.0 + s + SUNG_ABOVE_SPOKEN[0], high=69.0 + s + SUNG_ABOVE_SPOKEN[1], source="speech")
    shifts = np.arange(-36, 37)
    cost = range_cost(melody_f0, shifts.astype(np.float64), sung)
    best = cost.min()
    good = shifts[cost <= best + 1e-9]
    return int(good[np.argmin(np.abs(good - prefer))])


def decide(setting, speech_f0: np.ndarray, melody_f0: np.ndarray, cues: VoiceCues | None = None,
           sing_range=None) -> KeyDecision:
    """The transposition for a ``--transpose`` setting; MelodyError when it would move the melody
    out of the range a voice can sing (contour.check_sung_range).

    ``sing_range`` (None, 'A2-E4', a voice type or a SingRange): where the user sings, when
    they said so; 'auto' then picks the octave that puts the melody's bulk inside it
    (range_octave; the user's own singing is kept when it fits) and 'fit' the semitone shift
    (range_shift), instead of the range guessed from the speech.

    'auto': whole octaves, from the cues (a same-speaker melody stays, another register moves
    by its octave offset, a voiceless score moves only when outside SCORE_WINDOW); 'fit': the
    semitone shift that best fits the speaker's sung range (key change allowed), starting from
    the 'auto' octave; a number: that many semitones. speech_f0 [N], melody_f0 [T] in Hz.
    """
    decision = _decide(parse_setting(setting), speech_f0, melody_f0, cues, parse_range(sing_range))
    from .contour import check_sung_range

    check_sung_range(melody_f0, decision.transpose)
    return decision


def _decide(mode, speech_f0: np.ndarray, melody_f0: np.ndarray, cues: VoiceCues | None,
            user: SingRange | None = None) -> KeyDecision:
    cues = cues if cues is not None else VoiceCues(median_semitones(melody_f0) - median_semitones(speech_f0))
    s_med = median_semitones(speech_f0)
    score = same_speaker_score(cues, _hz(s_med))
    same = None if score is None else score >= 0.5
    octaves = register_octaves(cues, same, _hz(s_med), score)
    lo, hi = sung_range(speech_f0)
    base = dict(same_speaker_score=score, same_speaker=same, register_octaves=octaves,
                speech_median_hz=_hz(s_med), melody_median_hz=_hz(median_semitones(melody_f0)),
                sung_range_hz=(_hz(lo), _hz(hi)), cues=cues)
    who = _who(cues, score, octaves, _hz(s_med))
    if user is not None and not isinstance(mode, float) and np.any(np.asarray(melody_f0) > 0):
        return _decide_in_range(mode, melody_f0, user, same, octaves, who, base)
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


def _decide_in_range(mode: str, melody_f0: np.ndarray, user: SingRange, same: bool | None, octaves: int,
                     who: str, base: dict) -> KeyDecision:
    """'auto' / 'fit' against the user's own range (see decide)."""
    base = {**base, "user_range": user.text + (f" ({user.label})" if user.label else "")}
    if mode == "auto":
        k = range_octave(melody_f0, user, prefer=octaves, keep=bool(same))
        base["register_octaves"] = k
        moved = "melody kept" if k == 0 else \
            f"moved {abs(k)} octave{'s' if abs(k) > 1 else ''} {'down' if k > 0 else 'up'}"
        return KeyDecision(transpose=float(-12 * k), mode="auto",
                           reason=f"{who}; {moved} to lie in {user.describe()}", **base)
    shift = float(range_shift(melody_f0, user, prefer=-12.0 * octaves))
    return KeyDecision(transpose=shift, mode="fit",
                       reason=f"{who}; shifted {shift:+g} st so the melody lies in {user.describe()}", **base)


def _who(cues: VoiceCues, score: float | None, octaves: int, speech_median_hz: float) -> str:
    """The cue summary in words, e.g. 'another voice, one register higher (melody +21.0 st
    above your speaking median, formants x1.18, embedding cosine 0.62)'."""
    facts = [f"melody {cues.register_st:+.1f} st from your speaking median"]
    if cues.formant_ratio is not None:
        facts.append(f"formants x{cues.formant_ratio:.2f}")
        if reading_on_impossible_side(cues, speech_median_hz):
            side = "lower" if speech_median_hz < LOW_REGISTER_HZ else "higher"
            facts[-1] += f": {side} than any adult voice reads against yours, so weighed as possibly contaminated"
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


# --- a user's own range -------------------------------------------------------------------

# voice types' usual ranges (VOICE_RANGES) and note names live in melody.voices (no numpy)
RANGE_PERCENTILES = (5.0, 95.0)   # a measured range: these percentiles of the voiced F0 (robust to blips)
MIN_RANGE_VOICED_S = 1.0          # voiced singing needed to measure a range
MIN_RANGE_ST = 3.0                # narrower measured ranges are widened to this (around their middle)


@dataclass(frozen=True)
class SingRange:
    """Where this user sings: MIDI note numbers low..high (low < high) and where it came from
    ('range' A2-E4 given, 'voice' a voice type, 'measured' from their singing)."""
    low: float
    high: float
    source: str = "range"
    label: str = ""

    @property
    def text(self) -> str:
        """'A2-E4' (notes rounded to the nearest semitone)."""
        return f"{note_name(self.low)}-{note_name(self.high)}"

    def describe(self) -> str:
        """'your range A2-E4' / 'your range A2-A4 (baritone)'."""
        extra = f" ({self.label})" if self.label else ""
        return f"your range {self.text}{extra}"


def parse_range(value, name: str = "range") -> SingRange | None:
    """A range setting: None; a voice type (VOICE_RANGES key); 'LOW-HIGH' note names ('A2-E4',
    also 'A2..E4', 'A2 to E4'); a SingRange. Anything else (or low not below high, or notes
    outside C1-C7) is an InvalidValueError naming the allowed forms."""
    import re

    from ..errors import InvalidValueError
    from ..validate import MAX_PITCH, MIN_PITCH, describe
    from .notes import note_number

    if value is None or isinstance(value, SingRange):
        return value
    allowed = f"LOW-HIGH note names (e.g. A2-E4) or a voice type ({', '.join(VOICE_RANGES)})"
    if not isinstance(value, str):
        raise InvalidValueError(f"{name} must be {allowed}, got {describe(value)}")
    text = value.strip()
    if text.lower() in VOICE_RANGES:
        lo, hi = VOICE_RANGES[text.lower()]
        return SingRange(lo, hi, "voice", text.lower())
    m = re.fullmatch(r"([A-Ga-g][#b♯♭]?\d)\s*(?:-|–|\.\.|\s+to\s+)\s*([A-Ga-g][#b♯♭]?\d)", text)
    if not m:
        raise InvalidValueError(f"{name} must be {allowed}, got {value!r}")
    lo, hi = note_number(m.group(1)), note_number(m.group(2))
    if not (MIN_PITCH <= lo < hi <= MAX_PITCH):
        raise InvalidValueError(f"{name} {value!r}: the low note must lie below the high one, both within C1-C7")
    return SingRange(lo, hi, "range")


def range_setting(value, name: str = "sing_range") -> str | None:
    """A config's sing_range field (None, 'A2-E4' or a voice type), canonicalised: -> str | None."""
    r = parse_range(value, name)
    if r is None:
        return None
    return r.label if r.source == "voice" else r.text


def measure_range(f0: np.ndarray, frame_s: float = 128 / 24000) -> SingRange:
    """The range a person sings in, from the F0 [T] (Hz, 0 unvoiced) of any of their singing (a
    scale, a song): the RANGE_PERCENTILES of the voiced frames in semitones, widened to at
    least MIN_RANGE_ST. MelodyError when fewer than MIN_RANGE_VOICED_S seconds are voiced."""
    v = np.asarray(f0, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) * frame_s < MIN_RANGE_VOICED_S:
        raise MelodyError(f"too little singing to measure a range: {len(v) * frame_s:.1f} s voiced, "
                          f"at least {MIN_RANGE_VOICED_S:g} s needed")
    p = 69.0 + 12.0 * np.log2(v / 440.0)
    lo, hi = (float(x) for x in np.percentile(p, RANGE_PERCENTILES))
    if hi - lo < MIN_RANGE_ST:
        mid = (lo + hi) / 2
        lo, hi = mid - MIN_RANGE_ST / 2, mid + MIN_RANGE_ST / 2
    return SingRange(float(np.floor(lo)), float(np.ceil(hi)), "measured")


def nearest_voice(r: SingRange) -> str:
    """The voice type whose range is closest to ``r`` (sum of the distances of both ends)."""
    return min(VOICE_RANGES, key=lambda k: abs(VOICE_RANGES[k][0] - r.low) + abs(VOICE_RANGES[k][1] - r.high))


def range_cost(melody_f0: np.ndarray, shifts: np.ndarray, r: SingRange) -> np.ndarray:
    """Mean distance (st) of the melody's core frames (10th-90th percentile) outside the range,
    for each shift [S] -> [S]; a melody wider than the range costs the distance of its median
    from the range's middle instead (the median: a separated vocal's frames read on a higher
    partial fill one tail; with the middle of the 10th-90th percentiles, about 10 % of such frames
    kept a song's low voice an octave below a 4-semitone range it should have moved into)."""
    v = np.asarray(melody_f0, dtype=np.float64)
    v = v[v > 0]
    p = 69.0 + 12.0 * np.log2(v / 440.0)
    lo_p, hi_p = np.percentile(p, [10, 90])
    core = p[(p >= lo_p) & (p <= hi_p)]
    if hi_p - lo_p > r.high - r.low:
        return np.abs(float(np.median(p)) + shifts - (r.low + r.high) / 2)
    return np.array([np.mean(np.maximum(r.low - (core + k), 0) + np.maximum((core + k) - r.high, 0))
                     for k in shifts])


def range_octave(melody_f0: np.ndarray, r: SingRange, prefer: int, keep: bool) -> int:
    """Octaves (+1: the melody moves one octave DOWN, as register_octaves) that put the melody's
    bulk inside the user's range: of the octaves with the least cost (range_cost, within
    0.25 st), the melody kept when ``keep`` (the cues say it is the user's own singing) and it
    fits, else the one nearest the cues' choice ``prefer`` (a voice type spans two octaves: the
    range rules octaves out, the cues choose among the rest), then the one whose median lies
    nearest the range's middle."""
    octaves = np.arange(-3, 4)
    cost = range_cost(melody_f0, -12.0 * octaves, r)
    good = octaves[cost <= cost.min() + 0.25]
    if keep and 0 in good:
        return 0
    good = good[np.abs(good - prefer) == np.abs(good - prefer).min()]
    med = median_semitones(melody_f0) + 69.0
    dist = np.abs(med - 12.0 * good - (r.low + r.high) / 2)
    return int(good[np.argmin(dist)])


def range_shift(melody_f0: np.ndarray, r: SingRange, prefer: float) -> int:
    """The semitone shift (-36..36) that best puts the melody's bulk inside the range
    (range_cost); among equals the one closest to ``prefer``."""
    shifts = np.arange(-36, 37)
    cost = range_cost(melody_f0, shifts.astype(np.float64), r)
    good = shifts[cost <= cost.min() + 1e-9]
    return int(good[np.argmin(np.abs(good - prefer))])
