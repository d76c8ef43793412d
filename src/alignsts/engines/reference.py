"""Reference engine: sing the speech with the melody and timing of a sung reference.

speech [N] ─ WORLD analysis ─┐
                              ├─ warp envelope/aperiodicity onto the reference's time axis
reference [M] ─ DTW alignment ┘   ─ reference F0 (transposed) ─ WORLD synthesis ─ loudness
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Optional

import numpy as np

from ..align.speech_to_sung import AlignConfig, Alignment, align_stats
from ..audio import chunks
from ..audio import frontend as fe
from ..audio import world
from ..errors import MelodyError
from ..lanes import Lanes
from ..melody import contour, key
from ..melody.key import KeyDecision
from ..validate import Check, Range, one_of, transpose_setting
from .analysis import ConversionAnalysis

SAME_SPEAKER_BALANCE = 1.0    # the reference is the user: all of its coarse shape is theirs (0.7 -> 1.0 with frame order 8 -> 4: OVRL change -0.18 -> -0.07, LSD 5.17 -> 5.31)
OTHER_SPEAKER_BALANCE = 0.5   # another singer: half of how their spectrum moves, none of its colour


@dataclass
class ReferenceConfig:
    transpose: Annotated[str | float, Check(transpose_setting)] = "auto"      # "auto" (whole octaves), "fit" (best semitone shift) or semitones
    sing_range: Annotated[Optional[str], Check(key.range_setting)] = None   # your range: "A2-E4" or a voice type (bass..soprano); None: from your speech
    reference_f0: Annotated[str, Check(one_of("praat", "harvest", "dio"))] = "praat"          # F0 tracker for the reference: praat, harvest, dio
    bridge_gap_ms: Annotated[float, Range(0, 1000)] = 80.0          # fill reference unvoiced gaps up to this where speech is voiced
    min_voiced_ms: Annotated[float, Range(0, 1000)] = 20.0          # drop shorter voiced blips of the reference F0
    consonant_rate: bool = True          # keep consonants at their natural rate
    max_consonant_ms: Annotated[float, Range(0, 2000)] = 200.0      # longest stretch treated as one consonant cluster
    follow_loudness: bool = True         # impose the reference's frame loudness
    max_gain_db: Annotated[float, Range(0, 120)] = 40.0
    # Spectral balance: how much of the reference's coarse spectral shape the output takes.
    # The per-frame part (cepstral order `balance_frame_order` over 0-12 kHz, i.e. detail
    # coarser than ~3 kHz at order 4) follows the singing's tilt and effort over time; the
    # global part (`balance_global_order`, time-invariant) matches microphone and voice colour.
    # Formant-scale detail of the reference is taken only as that time-invariant colour: per
    # frame it belongs to the reference's vowel at that instant, which the alignment places a
    # few frames off at every transition (order 8 per frame at full strength: DNSMOS OVRL change
    # -0.16 on the pairs, order 4: -0.07; issue 19). Formants stay the speaker's; 0 strength
    # keeps the speech spectrum as it is.
    # None (default) decides by who sings the reference: the same person -> SAME_SPEAKER_BALANCE
    # with both parts; another person -> OTHER_SPEAKER_BALANCE of only the per-frame part
    # relative to its own average (how singing changes tilt and breath over time), never their
    # colour. A number forces that strength with both parts.
    balance_strength: Annotated[Optional[float], Range(0, 1)] = None
    balance_frame_order: Annotated[int, Range(1, 256)] = 4
    balance_global_order: Annotated[int, Range(1, 256)] = 64
    balance_smooth_ms: Annotated[float, Range(0, 1000)] = 16.0
    formant: Annotated[float, Range(*world.FORMANT_RANGE)] = 1.0   # move the output's formants by this factor (pitch kept)
    speaker_embedding: Annotated[str, Check(one_of("auto", "resemblyzer", "none"))] = "auto"   # same-speaker cue
    align: AlignConfig = field(default_factory=AlignConfig)
    pieces: chunks.PieceConfig = field(default_factory=chunks.PieceConfig)


log = logging.getLogger("alignsts")


@dataclass
class Analysis(ConversionAnalysis):
    """Frame-level analysis of a conversion (all on the 24 kHz / hop 128 grid).

    speech_f0 [N], reference_f0 [M], target_f0 [M] (what was synthesised),
    source [M] speech frame used at each output frame, path [L, 2] raw DTW path,
    transpose (semitones applied to the reference melody); key: the KeyDecision (what was
    chosen and why, whether the reference is the speaker's own voice); balance: the spectral
    balance applied (strength, and 'same'/'other'/'set' for how it was chosen).
    """
    reference_f0: np.ndarray
    source: np.ndarray
    path: np.ndarray
    speech_active: np.ndarray
    reference_active: np.ndarray
    key: KeyDecision | None = None
    balance: tuple[float, str] = (0.0, "set")


def consonant_frames(f0: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Speech frames that are active but unvoiced (consonants, breaths): [N] -> bool [N]."""
    return active & (f0 <= 0)


def keep_consonant_rate(source: np.ndarray, consonant: np.ndarray, max_len: int) -> np.ndarray:
    """Re-time a reference->speech frame map so consonant clusters play at their natural rate.

    source [M] (monotone speech frame per output frame) -> [M]. Each run of output frames
    that shows the same consonant cluster longer than the cluster itself is re-timed:
    the cluster is played once at rate 1, placed at the end of the run (onsets lead into
    the following vowel), and the frames before it hold the preceding speech frame, i.e.
    the previous vowel is sustained instead of the consonant being smeared.
    """
    out = source.copy()
    m = len(source)
    is_cons = consonant[source]
    for a, b in contour.runs(is_cons):
        frames = np.unique(source[a:b])
        length = frames[-1] - frames[0] + 1
        if b - a <= length or length > max_len:
            continue
        start = b - length
        out[start:b] = np.arange(frames[0], frames[-1] + 1)
        hold = source[a - 1] if a > 0 else frames[0]
        out[a:start] = hold
    return np.clip(out, 0, None) if m else out


def skip_silent_sources(source: np.ndarray, speech_active: np.ndarray,
                        reference_active: np.ndarray) -> np.ndarray:
    """Where the reference sings over a pause of the speech, hold the last spoken frame; sung
    frames before any spoken one (a song's first note, after an intro that maps to the speech's
    leading silence) take the first spoken frame."""
    out = source.copy()
    bad = reference_active & ~speech_active[source]
    last = -1
    for j in range(len(out)):
        if bad[j]:
            if last >= 0:
                out[j] = last
        elif speech_active[out[j]]:
            last = out[j]
    spoken = np.flatnonzero(speech_active[out])
    if bad.any() and len(spoken):
        lead = np.flatnonzero(bad & (np.arange(len(out)) < spoken[0]))
        out[lead] = out[spoken[0]]
    return out


BALANCE_CHUNK = 4096   # frames per block: keeps memory flat on long songs


def _log_diff_ceps(sp: np.ndarray, ref_sp: np.ndarray, order: int) -> np.ndarray:
    """Cepstrum of log(ref_sp) - log(sp) up to ``order``: [T, K] -> [T, order + 1]."""
    from ..audio.dsp import dct

    return dct(np.log(ref_sp + 1e-12) - np.log(sp + 1e-12), axis=1, count=order + 1)


def apply_spectral_balance(sp: np.ndarray, ref_envelope, active: np.ndarray, frame_order: int,
                           global_order: int, strength: float, smooth: int,
                           global_ceps: np.ndarray | None = None, keep_colour: bool = True) -> None:
    """Move envelope ``sp`` [T, K] (in place) toward the coarse shape of the reference's.

    ``ref_envelope(a, b)`` returns the reference envelope of frames a..b-1 ([b-a, K]).
    The difference of the log envelopes is liftered: per frame up to ``frame_order``,
    and its mean over ``active`` frames up to ``global_order`` (time-invariant).
    ``keep_colour=False`` (a reference sung by someone else) drops the time-invariant part
    altogether and removes the per-frame part's mean over ``active`` frames: the output follows
    how the reference's coarse shape moves, not where it sits (their voice colour).
    Works in blocks of BALANCE_CHUNK frames. ``global_ceps`` [K]: that mean, when it was
    taken over more than ``sp`` (a piece of a long conversion; see balance_global_ceps).
    """
    from ..audio.dsp import idct_first

    n, k = sp.shape
    blocks = [(a, min(a + BALANCE_CHUNK, n)) for a in range(0, n, BALANCE_CHUNK)]
    margin = max(smooth, 1)
    ref_envelope = _last_call_kept(ref_envelope)
    mean = global_ceps
    if mean is None and (global_order > frame_order or not keep_colour) and active[:n].any():
        total = np.zeros(k)
        # last block first, each read with the margins the pass below reads it with: block 0's
        # envelope (for a short input: the only one) is then analysed once, not twice
        for a, b in reversed(blocks):
            if active[a:b].any():
                lo, hi = max(0, a - margin), min(n, b + margin)
                ceps = _log_diff_ceps(sp[a:b][active[a:b]], ref_envelope(lo, hi)[a - lo: b - lo][active[a:b]],
                                      max(global_order, frame_order))
                total[: ceps.shape[1]] += ceps.sum(axis=0)
        mean = total / active[:n].sum()
    glob = np.zeros(k)
    if mean is not None and keep_colour:
        glob[frame_order + 1: global_order + 1] = mean[frame_order + 1: global_order + 1]
    elif mean is not None:
        glob[: frame_order + 1] = -mean[: frame_order + 1]
    glob_gain = idct_first(glob[: max(global_order, frame_order) + 1], k)
    tail = sp[:0].copy()   # the unmodified last rows of the previous block
    for a, b in blocks:
        lo, hi = max(0, a - margin), min(n, b + margin)
        ceps = _log_diff_ceps(np.concatenate([tail, sp[a:hi]]), ref_envelope(lo, hi), frame_order)
        gain = contour.smooth_frames(idct_first(ceps, k), smooth)[a - lo: b - lo]
        tail = sp[max(a, b - margin):b].copy()
        sp[a:b] *= np.exp(strength * (gain + glob_gain[None, :]))


def _last_call_kept(fn):
    """``fn(a, b)`` that returns its last result again when asked for the same (a, b) (one
    block of envelope kept: memory stays that of one block)."""
    last = {}

    def call(a: int, b: int):
        if (a, b) not in last:
            last.clear()
            last[(a, b)] = fn(a, b)
        return last[(a, b)]
    return call


def loudness_gain(out_logmel: np.ndarray, ref_logmel: np.ndarray, max_db: float) -> np.ndarray:
    """Per-frame amplitude gain giving the output the reference's loudness: [T].

    Loudness is the front-end's frame energy (the quantity the rhythm curve is made of);
    it grows as gain**(1/ln 10), hence the exponent.
    """
    return loudness_gain_from_energy(fe.mel_energy(out_logmel), fe.mel_energy(ref_logmel), max_db)


def loudness_gain_from_energy(e_out: np.ndarray, e_ref: np.ndarray, max_db: float) -> np.ndarray:
    """``loudness_gain`` from the frame energies (frontend.mel_energy) [T], [T']: -> [T]."""
    e_out = np.asarray(e_out, dtype=np.float64)
    e_ref = np.asarray(e_ref, dtype=np.float64)
    n = min(len(e_out), len(e_ref))
    gain = np.ones(len(e_out))
    gain[:n] = (e_ref[:n] / np.maximum(e_out[:n], 1e-12)) ** np.log(10.0)
    lim = 10.0 ** (max_db / 20.0)
    return np.clip(gain, 1.0 / (lim * 100.0), lim)


def apply_frame_gain(wav: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Multiply [N] audio by a frame-rate gain [T] interpolated to samples."""
    centres = np.arange(len(gain)) * fe.HOP
    return (wav * np.interp(np.arange(len(wav)), centres, gain)).astype(np.float32)


def target_melody(reference: np.ndarray, cfg: ReferenceConfig, tick=None, lanes: Lanes | None = None,
                  known: np.ndarray | None = None) -> np.ndarray:
    """Reference F0 cleaned for use as a melody: [M samples] -> [n_frames] Hz.

    ``known`` [n_frames(M)] Hz: the reference's F0 when it is known better than a tracker can read
    it from ``reference`` (a song's separator follows the voice in the mix, before the band's
    leftovers in the separated vocal mislead Praat); None: tracked here, long references in
    overlapping windows (audio.chunks.framewise; in parallel with ``lanes``). Either way, voiced
    blips shorter than ``cfg.min_voiced_ms`` are dropped; a MelodyError when nothing is left.
    """
    if known is None:
        f0 = chunks.framewise(reference, lambda seg, n: fe.f0_track(seg, cfg.reference_f0, n), cfg=cfg.pieces,
                              keep_peak=True, tick=tick, lanes=lanes)
    elif len(known) != fe.n_frames(len(reference)):
        raise ValueError(f"the reference's known F0 has {len(known)} frames, the reference {fe.n_frames(len(reference))}")
    else:
        f0 = known
    f0 = contour.remove_short_voiced(np.asarray(f0, dtype=np.float64), contour.ms_to_frames(cfg.min_voiced_ms))
    if not np.any(f0 > 0):
        raise MelodyError("reference: no voiced (sung) frames found, so there is no melody to follow")
    return f0


# Normalised alignment cost (align.speech_to_sung.path_cost_ratio) above which the speech and
# the reference are unlikely to be the same words. benchmarks/unrelated_inputs.py: the 7 real
# pairs give 0.56-0.70; English speech with Chinese singing 0.68-0.79 (9 of 12 warned, with
# the length test); 21 of all 42 mismatched pairs warn. A sure sign, not a guarantee.
ALIGN_COST_WARN = 0.74
LENGTH_RATIO_WARN = 3.0


def unrelated_warnings(ali: Alignment) -> list[str]:
    """Why the speech and the reference look unrelated (empty when they look like a pair)."""
    out = []
    spoken = int(ali.speech_active.sum())
    sung = int(ali.reference_active.sum())
    if spoken and sung and max(spoken, sung) > LENGTH_RATIO_WARN * min(spoken, sung):
        out.append(f"the reference has {sung * fe.HOP / fe.SAMPLE_RATE:.1f} s of singing and the speech "
                   f"{spoken * fe.HOP / fe.SAMPLE_RATE:.1f} s of speaking (more than {LENGTH_RATIO_WARN:g}x "
                   f"apart): are they the same words?")
    if ali.cost_ratio > ALIGN_COST_WARN:
        out.append(f"the speech and the reference align poorly (cost {ali.cost_ratio:.2f}, same-words pairs "
                   f"stay below {ALIGN_COST_WARN:g}): the reference should sing the words that are spoken")
    return out


def convert(speech: np.ndarray, reference: np.ndarray, cfg: ReferenceConfig | None = None,
            progress=None, reference_f0: np.ndarray | None = None) -> tuple[np.ndarray, Analysis]:
    """Sing ``speech`` [N] (24 kHz) with the melody and timing of ``reference`` [M] (24 kHz).
    ``reference_f0`` [n_frames(M)] Hz: the reference's F0 when already known (see target_melody).

    Returns (sung waveform [M'] at 24 kHz on the reference's time axis, Analysis).
    Long inputs are analysed and synthesised in pieces (audio.chunks): memory stays flat.
    With more than one thread (``cfg.pieces.threads``) the speech's analysis runs beside the
    reference's, the speaker embedding beside both, and pieces side by side; the output is the
    same.
    """
    cfg = cfg or ReferenceConfig()
    with Lanes(cfg.pieces.threads) as lanes:
        return _convert(speech, reference, cfg, progress or (lambda stage, frac: None), lanes, reference_f0)


def _analyse_speech(speech: np.ndarray, cfg: ReferenceConfig, lanes: Lanes):
    """The speech's F0 [N frames] and its WORLD frames (world.FrameAnalyzer; whole up front
    when it fits one analysis window, its envelope and aperiodicity then on two further lanes).
    The F0's windows run one after another: this runs on a lane itself, and a task that waits
    for tasks queued behind it could wait for ever (it only starts the two, never waits)."""
    speech_f0 = chunks.framewise(speech, world.f0_dio, cfg=cfg.pieces)
    window, _ = cfg.pieces.analysis_frames()
    return speech_f0, world.FrameAnalyzer(speech, speech_f0, keep_all=len(speech_f0) <= window, lanes=lanes)


def _convert(speech: np.ndarray, reference: np.ndarray, cfg: ReferenceConfig, report,
             lanes: Lanes, reference_f0: np.ndarray | None = None) -> tuple[np.ndarray, Analysis]:
    m = fe.n_frames(len(reference))
    # on other threads, the critical path first (FIFO): the speech's WORLD analysis, the
    # reference's envelope, then the speaker embedding should the key decision ask for it
    speech_job = lanes.start(_analyse_speech, speech, cfg, lanes)

    report("melody", 0.0)
    ref_f0 = target_melody(reference, cfg, tick=lambda f: report("melody", f), lanes=lanes, known=reference_f0)
    ref_f0_env = contour.bridge_gaps(ref_f0, contour.ms_to_frames(cfg.bridge_gap_ms))
    one_piece = len(chunks.plan_pieces(m, cfg.pieces.piece_frames())) == 2
    # a one-piece output balances against the reference's whole envelope: read it beside the rest
    ref_envelope = lanes.start(world.envelope, reference, ref_f0_env, 0, m) \
        if one_piece and lanes.parallel and cfg.balance_strength != 0 else None

    report("analysis", 0.0)    # (the speech's: under way since the start)
    report("alignment", 0.0)
    # the reference's STFT is read once: alignment statistics and the loudness it imposes at the end
    r_energy, r_ceps, e_ref = chunks.spectral_stats_and_mel_energy(reference)
    ali: Alignment = align_stats(*chunks.spectral_stats(speech), r_energy, r_ceps, cfg.align,
                                 progress=lambda f: report("alignment", f))
    del r_ceps
    for message in unrelated_warnings(ali):
        log.warning("%s", message)
    speech_f0, speech_frames = speech_job.result()
    cosine = None   # (it reads only the two recordings; unused if the cheap cues suffice)
    if lanes.parallel and key.embedding_wanted(cfg.speaker_embedding):
        cosine = lanes.start(key.embedding_cosine, speech, reference).result
    source = skip_silent_sources(ali.source, ali.speech_active, ali.reference_active)
    if cfg.consonant_rate:
        cons = consonant_frames(speech_f0, ali.speech_active)
        source = keep_consonant_rate(source, cons, contour.ms_to_frames(cfg.max_consonant_ms))
    source = np.maximum.accumulate(source)

    report("key", 0.0)
    # cheap cues first: the embedding only when it could change the key or the balance's who-sings
    decision = key.choose(cfg.transpose, speech, speech_frames, ref_f0, reference, cfg.speaker_embedding,
                          cfg.sing_range, identity=cfg.balance_strength is None, cosine=cosine)
    strength, colour = balance_for(cfg.balance_strength, decision)
    formant = world.check_formant(cfg.formant)

    report("synthesis", 0.0)
    semitones = decision.transpose
    voiced_src = speech_f0[source] > 0
    target = contour.bridge_gaps(ref_f0, contour.ms_to_frames(cfg.bridge_gap_ms), allow=voiced_src)
    target = contour.transpose(target, semitones)

    ap_voiced = speech_frames.median_voiced_aperiodicity()
    bounds = chunks.plan_pieces(m, cfg.pieces.piece_frames(), chunks.join_cost(r_energy, target > 0))
    global_ceps = None
    if strength > 0 and len(bounds) > 2:
        global_ceps = balance_global_ceps(speech_frames, source, reference, ref_f0_env, ali.reference_active,
                                          max(cfg.balance_global_order, cfg.balance_frame_order))

    def reference_envelope(a: int, b: int) -> np.ndarray:
        """The reference's CheapTrick envelope of frames a..b-1: [b-a, K]."""
        if ref_envelope is not None and (a, b) == (0, m):
            return ref_envelope.result()
        return world.envelope(reference, ref_f0_env, a, b)

    def features(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Envelope and aperiodicity of output frames lo..hi-1, re-timed and balanced."""
        sp, ap = speech_frames.at(source[lo:hi])
        voiced = target[lo:hi] > 0
        if ap_voiced is not None:
            # sung frames must be periodic even where the speech frame was not (consonants)
            ap[voiced] = np.minimum(ap[voiced], ap_voiced)
        if strength > 0:
            apply_spectral_balance(sp, lambda a, b: reference_envelope(lo + a, lo + b),
                                   ali.reference_active[lo:hi], cfg.balance_frame_order,
                                   cfg.balance_global_order, strength,
                                   contour.ms_to_frames(cfg.balance_smooth_ms), global_ceps,
                                   keep_colour=colour != "other")
        if formant != 1.0:
            sp = world.warp_formants(sp, formant)
        return sp, ap

    y = chunks.synthesize_in_pieces(target, len(reference), features, bounds,
                                    tick=lambda f: report("synthesis", f), lanes=lanes)
    del speech_frames

    if cfg.follow_loudness:
        for _ in range(2):  # the second pass corrects what the window smeared
            chunks.apply_frame_gain(y, loudness_gain_from_energy(chunks.mel_energy(y), e_ref, cfg.max_gain_db))
    report("done", 1.0)
    analysis = Analysis(speech_f0=speech_f0, reference_f0=ref_f0, target_f0=target[:m], source=source,
                        path=ali.path, transpose=semitones, speech_active=ali.speech_active,
                        reference_active=ali.reference_active, key=decision, balance=(strength, colour))
    return y, analysis


def balance_for(setting: float | None, decision: KeyDecision) -> tuple[float, str]:
    """(strength, how) of the spectral balance: a number from the config wins ('set'); else
    'same' (SAME_SPEAKER_BALANCE with the reference's colour) when the key decision found the
    reference to be the speaker's own voice, 'other' (OTHER_SPEAKER_BALANCE, no colour)."""
    if setting is not None:
        return float(setting), "set"
    if decision.same_speaker:
        return SAME_SPEAKER_BALANCE, "same"
    return OTHER_SPEAKER_BALANCE, "other"


def balance_global_ceps(speech_frames: world.FrameAnalyzer, source: np.ndarray, reference: np.ndarray,
                        ref_f0_env: np.ndarray, active: np.ndarray, order: int,
                        block: int = 4096) -> np.ndarray | None:
    """Mean cepstrum up to ``order`` of log(reference / re-timed speech envelope) over the active
    output frames (what apply_spectral_balance takes as its time-invariant part): -> [order + 1],
    None if none is active."""
    frames = world.spread(np.flatnonzero(active[:len(source)]))
    if not len(frames):
        return None
    total = None
    for a in range(0, len(frames), block):
        fr = frames[a:a + block]
        uniq, inverse = np.unique(source[fr], return_inverse=True)
        sp = speech_frames.envelope_at(uniq)[inverse]    # the envelope only: no D4C here
        ref = world.FrameAnalyzer(reference, ref_f0_env).envelope_at(fr)
        part = _log_diff_ceps(sp, ref, order).sum(axis=0)
        total = part if total is None else total + part
    return total / len(frames)
