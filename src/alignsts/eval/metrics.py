"""Objective metrics of a converted output against the real singing (frames compared in place).

Definitions (also in the README, "Evaluating outputs"): RCA / RPA = mir_eval raw chroma / raw
pitch accuracy; F0 RMSE in cents over frames voiced in both; voicing F1; LSD; RRD; MCD after
DTW; speaker similarity = cosine of Resemblyzer embeddings.

All inputs are 24 kHz mono waveforms; F0 contours are Praat autocorrelation F0 at hop 128
with the 80-750 Hz range, as the AlignSTS evaluation does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio import frontend as fe

LSD_FLOOR = 0.1
LSD_MIN_HZ = 100.0


def _mir_eval_pitch(measure: str, ref_f0: np.ndarray, est_f0: np.ndarray) -> float:
    """A mir_eval.melody accuracy (by name) of ``est_f0`` against ``ref_f0`` on the front-end frame grid;
    NaN when the reference has no voiced frame."""
    import mir_eval

    n = min(len(ref_f0), len(est_f0))
    t = fe.frame_times(n)
    ref_v, ref_c, est_v, est_c = mir_eval.melody.to_cent_voicing(
        t, np.asarray(ref_f0[:n], float), t, np.asarray(est_f0[:n], float))
    if ref_v.sum() == 0:
        return float("nan")
    return float(getattr(mir_eval.melody, measure)(ref_v, ref_c, est_v, est_c))


def rca(ref_f0: np.ndarray, est_f0: np.ndarray) -> float:
    """mir_eval raw chroma accuracy of ``est_f0`` against ``ref_f0`` (both [T] Hz, 0 = unvoiced)."""
    return _mir_eval_pitch("raw_chroma_accuracy", ref_f0, est_f0)


def raw_pitch_accuracy(ref_f0: np.ndarray, est_f0: np.ndarray) -> float:
    """mir_eval raw pitch accuracy (within 50 cents, octave errors count as wrong) of
    ``est_f0`` against ``ref_f0`` (both [T] Hz, 0 = unvoiced)."""
    return _mir_eval_pitch("raw_pitch_accuracy", ref_f0, est_f0)


def voicing_f1(ref_f0: np.ndarray, est_f0: np.ndarray) -> float:
    """F1 of the output's voiced frames against the target's (frames in place, [T] Hz, 0 = unvoiced):
    precision = voiced in both / voiced in the output, recall = voiced in both / voiced in the target."""
    n = min(len(ref_f0), len(est_f0))
    r, e = np.asarray(ref_f0[:n]) > 0, np.asarray(est_f0[:n]) > 0
    both = int(np.count_nonzero(r & e))
    if not r.any() and not e.any():
        return float("nan")
    if both == 0:
        return 0.0
    precision, recall = both / np.count_nonzero(e), both / np.count_nonzero(r)
    return float(2 * precision * recall / (precision + recall))


def f0_rmse_cents(ref_f0: np.ndarray, est_f0: np.ndarray) -> float:
    """RMS pitch error in cents over frames voiced in both contours."""
    n = min(len(ref_f0), len(est_f0))
    r, e = np.asarray(ref_f0[:n], float), np.asarray(est_f0[:n], float)
    both = (r > 0) & (e > 0)
    if not both.any():
        return float("nan")
    d = 1200.0 * np.log2(e[both] / r[both])
    return float(np.sqrt(np.mean(d ** 2)))


def lsd(ref_wav: np.ndarray, est_wav: np.ndarray) -> float:
    """Log-spectral distance: mean over frames of the L2 norm of the difference of
    log(0.1 + |STFT|) above 100 Hz (n_fft 512, hop 128)."""
    n = min(len(ref_wav), len(est_wav))
    a = fe.stft_magnitude(ref_wav[:n])
    b = fe.stft_magnitude(est_wav[:n])
    k0 = int(np.ceil(LSD_MIN_HZ * fe.N_FFT / fe.SAMPLE_RATE))
    d = np.log(LSD_FLOOR + a[:, k0:]) - np.log(LSD_FLOOR + b[:, k0:])
    return float(np.mean(np.sqrt(np.sum(d ** 2, axis=1))))


def rrd(ref_wav: np.ndarray, est_wav: np.ndarray) -> float:
    """Rhythm-curve distance: L2 norm of the difference of the two rhythm curves."""
    n = min(len(ref_wav), len(est_wav))
    a = fe.rhythm_curve(fe.log_mel(ref_wav[:n]))
    b = fe.rhythm_curve(fe.log_mel(est_wav[:n]))
    return float(np.linalg.norm(a - b))


def mcd_dtw(ref_wav: np.ndarray, est_wav: np.ndarray, order: int = 24) -> float:
    """Mel-cepstral distortion (dB) after DTW, over frames where the reference is not silent."""
    from ..align.dtw import dtw_full
    from ..audio import world

    pyworld = fe.load_pyworld()

    def mcep(w):
        f = world.analyze(w)
        mc = pyworld.code_spectral_envelope(f.sp, fe.SAMPLE_RATE, order + 1)[:, 1:]
        e = 10 * np.log10(np.sum(f.sp, axis=1) + 1e-12)
        return mc, e

    a, ea = mcep(ref_wav)
    b, eb = mcep(est_wav)
    a = a[ea > ea.max() - 50]
    b = b[eb > eb.max() - 50]
    cost = np.sqrt(np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1))
    path = dtw_full(cost)
    diff = a[path[:, 0]] - b[path[:, 1]]
    return float(np.mean(10.0 / np.log(10) * np.sqrt(2.0 * np.sum(diff ** 2, axis=1))))


def speaker_embedding(wav: np.ndarray) -> np.ndarray:
    """Resemblyzer's 256-d utterance embedding of 24 kHz audio [N] (unit length); needs resemblyzer."""
    from ..audio.content import speaker_embedding as embed

    return embed(wav, "resemblyzer", 256)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings [D]."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def speaker_similarity(a_wav: np.ndarray, b_wav: np.ndarray) -> float:
    """Cosine similarity of the Resemblyzer embeddings of two 24 kHz recordings (1 = same voice)."""
    return cosine(speaker_embedding(a_wav), speaker_embedding(b_wav))


@dataclass
class Scores:
    rca: float
    f0_rmse_cents: float
    lsd: float
    rrd: float
    mcd: float | None = None
    rpa: float | None = None
    vuv_f1: float | None = None


def score(ref_wav: np.ndarray, est_wav: np.ndarray, with_mcd: bool = True,
          ref_f0: np.ndarray | None = None, est_f0: np.ndarray | None = None) -> Scores:
    """All frame metrics of ``est_wav`` against ``ref_wav`` (24 kHz [N]), frames compared in place
    over the shorter length (MCD after DTW). Given F0 contours ([T] Hz on the same grid) are used
    instead of tracking them again."""
    n = min(len(ref_wav), len(est_wav))
    ref_wav, est_wav = ref_wav[:n], est_wav[:n]
    if ref_f0 is None:
        ref_f0 = fe.f0_praat(ref_wav)
    ref_f0 = ref_f0[: fe.n_frames(n)]
    est_f0 = fe.f0_praat(est_wav) if est_f0 is None else est_f0[: fe.n_frames(n)]
    return Scores(rca=rca(ref_f0, est_f0), f0_rmse_cents=f0_rmse_cents(ref_f0, est_f0),
                  lsd=lsd(ref_wav, est_wav), rrd=rrd(ref_wav, est_wav),
                  mcd=mcd_dtw(ref_wav, est_wav) if with_mcd else None,
                  rpa=raw_pitch_accuracy(ref_f0, est_f0), vuv_f1=voicing_f1(ref_f0, est_f0))
