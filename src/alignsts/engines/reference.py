"""Reference engine: sing the speech with the melody and timing of a sung reference.

speech [N] ─ WORLD analysis ─┐
                              ├─ warp envelope/aperiodicity onto the reference's time axis
reference [M] ─ DTW alignment ┘   ─ reference F0 (transposed) ─ WORLD synthesis ─ loudness
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Optional

import numpy as np

from ..align.speech_to_sung import AlignConfig, Alignment, align
from ..audio import frontend as fe
from ..audio import world
from ..errors import MelodyError
from ..melody import contour, key
from ..melody.key import KeyDecision
from ..validate import Check, Range, one_of, transpose_setting
from .analysis import ConversionAnalysis

SAME_SPEAKER_BALANCE = 0.5    # the reference is the user: its colour is theirs, take half of it
OTHER_SPEAKER_BALANCE = 0.5   # another singer: half of how their spectrum moves, none of its colour


@dataclass
class ReferenceConfig:
    transpose: Annotated[str | float, Check(transpose_setting)] = "auto"      # "auto" (whole octaves), "fit" (best semitone shift) or semitones
    reference_f0: Annotated[str, Check(one_of("praat", "harvest", "dio"))] = "praat"          # F0 tracker for the reference: praat, harvest, dio
    bridge_gap_ms: Annotated[float, Range(0, 1000)] = 80.0          # fill reference unvoiced gaps up to this where speech is voiced
    min_voiced_ms: Annotated[float, Range(0, 1000)] = 20.0          # drop shorter voiced blips of the reference F0
    consonant_rate: bool = True          # keep consonants at their natural rate
    max_consonant_ms: Annotated[float, Range(0, 2000)] = 200.0      # longest stretch treated as one consonant cluster
    follow_loudness: bool = True         # impose the reference's frame loudness
    max_gain_db: Annotated[float, Range(0, 120)] = 40.0
    # Spectral balance: how much of the reference's coarse spectral shape the output takes.
    # The per-frame part (cepstral order `balance_frame_order` over 0-12 kHz, i.e. detail
    # coarser than ~1.5 kHz at order 8) follows the singing's tilt and loudness; the global
    # part (`balance_global_order`, time-invariant) matches microphone and voice colour.
    # Formant detail stays the speaker's; 0 strength keeps the speech spectrum as it is.
    # None (default) decides by who sings the reference: the same person -> SAME_SPEAKER_BALANCE
    # with both parts; another person -> OTHER_SPEAKER_BALANCE of only the per-frame part
    # relative to its own average (how singing changes tilt and breath over time), never their
    # colour. A number forces that strength with both parts.
    balance_strength: Annotated[Optional[float], Range(0, 1)] = None
    balance_frame_order: Annotated[int, Range(1, 256)] = 8
    balance_global_order: Annotated[int, Range(1, 256)] = 64
    balance_smooth_ms: Annotated[float, Range(0, 1000)] = 16.0
    formant: Annotated[float, Range(*world.FORMANT_RANGE)] = 1.0   # move the output's formants by this factor (pitch kept)
    speaker_embedding: Annotated[str, Check(one_of("auto", "resemblyzer", "none"))] = "auto"   # same-speaker cue
    align: AlignConfig = field(default_factory=AlignConfig)


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
    """Where the reference sings over a pause of the speech, hold the last spoken frame."""
    out = source.copy()
    bad = reference_active & ~speech_active[source]
    last = -1
    for j in range(len(out)):
        if bad[j]:
            if last >= 0:
                out[j] = last
        elif speech_active[out[j]]:
            last = out[j]
    # leading frames with no earlier spoken frame take the first spoken frame after them
    first_ok = np.flatnonzero(speech_active[out] | ~reference_active)
    if bad.any() and len(first_ok):
        lead = np.flatnonzero(bad & (np.arange(len(out)) < first_ok[0]))
        out[lead] = out[first_ok[0]]
    return out


BALANCE_CHUNK = 4096   # frames per block: keeps memory flat on long songs


def _log_diff_ceps(sp: np.ndarray, ref_sp: np.ndarray) -> np.ndarray:
    """Cepstrum of log(ref_sp) - log(sp): [T, K] -> [T, K]."""
    from scipy.fft import dct

    return dct(np.log(ref_sp + 1e-12) - np.log(sp + 1e-12), type=2, norm="ortho", axis=1)


def apply_spectral_balance(sp: np.ndarray, ref_envelope, active: np.ndarray, frame_order: int,
                           global_order: int, strength: float, smooth: int, keep_colour: bool = True) -> None:
    """Move envelope ``sp`` [T, K] (in place) toward the coarse shape of the reference's.

    ``ref_envelope(a, b)`` returns the reference envelope of frames a..b-1 ([b-a, K]).
    The difference of the log envelopes is liftered: per frame up to ``frame_order``,
    and its mean over ``active`` frames up to ``global_order`` (time-invariant).
    ``keep_colour=False`` (a reference sung by someone else) drops the time-invariant part
    altogether and removes the per-frame part's mean over ``active`` frames: the output follows
    how the reference's coarse shape moves, not where it sits (their voice colour).
    Works in blocks of BALANCE_CHUNK frames.
    """
    from scipy.fft import idct

    n, k = sp.shape
    blocks = [(a, min(a + BALANCE_CHUNK, n)) for a in range(0, n, BALANCE_CHUNK)]
    glob = np.zeros(k)
    if (global_order > frame_order or not keep_colour) and active[:n].any():
        total = np.zeros(k)
        for a, b in blocks:
            if active[a:b].any():
                ceps = _log_diff_ceps(sp[a:b][active[a:b]], ref_envelope(a, b)[active[a:b]])
                total += ceps.sum(axis=0)
        mean = total / active[:n].sum()
        if keep_colour:
            glob[frame_order + 1: global_order + 1] = mean[frame_order + 1: global_order + 1]
        else:
            glob[: frame_order + 1] = -mean[: frame_order + 1]
    glob_gain = idct(glob, type=2, norm="ortho")
    margin = max(smooth, 1)
    tail = sp[:0].copy()   # the unmodified last rows of the previous block
    for a, b in blocks:
        lo, hi = max(0, a - margin), min(n, b + margin)
        ceps = _log_diff_ceps(np.concatenate([tail, sp[a:hi]]), ref_envelope(lo, hi))
        ceps[:, frame_order + 1:] = 0.0
        gain = contour.smooth_frames(idct(ceps, type=2, norm="ortho", axis=1), smooth)[a - lo: b - lo]
        tail = sp[max(a, b - margin):b].copy()
        sp[a:b] *= np.exp(strength * (gain + glob_gain[None, :]))


def loudness_gain(out_logmel: np.ndarray, ref_logmel: np.ndarray, max_db: float) -> np.ndarray:
    """Per-frame amplitude gain giving the output the reference's loudness: [T].

    Loudness is the front-end's frame energy (the quantity the rhythm curve is made of);
    it grows as gain**(1/ln 10), hence the exponent.
    """
    e_out = fe.mel_energy(out_logmel).astype(np.float64)
    e_ref = fe.mel_energy(ref_logmel).astype(np.float64)
    n = min(len(e_out), len(e_ref))
    gain = np.ones(len(e_out))
    gain[:n] = (e_ref[:n] / np.maximum(e_out[:n], 1e-12)) ** np.log(10.0)
    lim = 10.0 ** (max_db / 20.0)
    return np.clip(gain, 1.0 / (lim * 100.0), lim)


def apply_frame_gain(wav: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Multiply [N] audio by a frame-rate gain [T] interpolated to samples."""
    centres = np.arange(len(gain)) * fe.HOP
    return (wav * np.interp(np.arange(len(wav)), centres, gain)).astype(np.float32)


def target_melody(reference: np.ndarray, cfg: ReferenceConfig) -> np.ndarray:
    """Reference F0 cleaned for use as a melody: [M samples] -> [n_frames] Hz."""
    f0 = fe.f0_track(reference, cfg.reference_f0).astype(np.float64)
    f0 = contour.remove_short_voiced(f0, contour.ms_to_frames(cfg.min_voiced_ms))
    if not np.any(f0 > 0):
        raise MelodyError("reference: no voiced (sung) frames found, so there is no melody to follow")
    return f0


def convert(speech: np.ndarray, reference: np.ndarray, cfg: ReferenceConfig | None = None,
            progress=None) -> tuple[np.ndarray, Analysis]:
    """Sing ``speech`` [N] (24 kHz) with the melody and timing of ``reference`` [M] (24 kHz).

    Returns (sung waveform [M'] at 24 kHz on the reference's time axis, Analysis).
    """
    cfg = cfg or ReferenceConfig()
    report = progress or (lambda stage, frac: None)
    m = fe.n_frames(len(reference))

    report("melody", 0.0)
    ref_f0 = target_melody(reference, cfg)

    report("analysis", 0.0)
    speech_feats = world.analyze(speech)
    speech_f0 = speech_feats.f0

    report("alignment", 0.0)
    s_mag = fe.stft_magnitude(speech)
    r_mag = fe.stft_magnitude(reference)
    ali: Alignment = align(s_mag, r_mag, cfg.align, progress=lambda f: report("alignment", f))
    source = skip_silent_sources(ali.source, ali.speech_active, ali.reference_active)
    if cfg.consonant_rate:
        cons = consonant_frames(speech_f0, ali.speech_active)
        source = keep_consonant_rate(source, cons, contour.ms_to_frames(cfg.max_consonant_ms))
    source = np.maximum.accumulate(source)

    cues = key.voice_cues(speech, speech_feats, ref_f0, melody_voice=reference, embedding=cfg.speaker_embedding)
    decision = key.decide(cfg.transpose, speech_f0, ref_f0, cues)
    strength, colour = balance_for(cfg.balance_strength, decision)

    report("synthesis", 0.0)
    semitones = decision.transpose
    voiced_src = speech_f0[source] > 0
    target = contour.bridge_gaps(ref_f0, contour.ms_to_frames(cfg.bridge_gap_ms), allow=voiced_src)
    target = contour.transpose(target, semitones)

    sp = speech_feats.sp[source]
    ap = speech_feats.ap[source]
    voiced = target > 0
    if np.any(speech_f0 > 0):
        # sung frames must be periodic even where the speech frame was not (consonants)
        ap_voiced = np.median(speech_feats.ap[speech_f0 > 0], axis=0)
        ap[voiced] = np.minimum(ap[voiced], ap_voiced)
    del speech_feats
    if strength > 0:
        ref_f0_env = contour.bridge_gaps(ref_f0, contour.ms_to_frames(cfg.bridge_gap_ms))
        apply_spectral_balance(sp, lambda a, b: world.envelope(reference, ref_f0_env, a, b),
                               ali.reference_active, cfg.balance_frame_order, cfg.balance_global_order,
                               strength, contour.ms_to_frames(cfg.balance_smooth_ms), keep_colour=colour != "other")
    if cfg.formant != 1.0:
        sp = world.warp_formants(sp, world.check_formant(cfg.formant))
    y = world.synthesize(world.WorldFeatures(target, sp, ap), n_samples=len(reference))

    if cfg.follow_loudness:
        ref_logmel = fe.log_mel_from_magnitude(r_mag)   # reuse the alignment's STFT
        for _ in range(2):  # the second pass corrects what the window smeared
            y = apply_frame_gain(y, loudness_gain(fe.log_mel(y), ref_logmel, cfg.max_gain_db))
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
