"""Output level: integrated loudness (ITU-R BS.1770, as pyloudnorm measures it) to a target, capped at a
peak, never clipping; and a vocal laid over a backing track at a balanced level."""
from __future__ import annotations

import numpy as np

TARGET_LUFS = -16.0        # a common level for streamed vocals and podcasts
PEAK_DBFS = -1.0           # sample-peak ceiling: headroom for resampling and lossy encoding
VOCAL_OVER_BACKING_LU = 3.0  # the vocal sits this much louder than its backing track
MIN_LOUDNESS_S = 0.4       # BS.1770 gates 400 ms blocks: shorter audio has no integrated loudness


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def peak_dbfs(wav: np.ndarray) -> float:
    peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else -np.inf


def integrated_loudness(wav: np.ndarray, sr: int) -> float:
    """Integrated loudness in LUFS of [N] or [N, C] audio; -inf when silent, NaN when shorter
    than one 400 ms block. The same numbers as pyloudnorm.Meter(sr) (audio.loudness; no scipy.signal)."""
    from .loudness import integrated_loudness as bs1770

    if wav.shape[0] < int(MIN_LOUDNESS_S * sr) + 1:
        return float("nan")
    return bs1770(np.asarray(wav), sr)


def normalize(wav: np.ndarray, sr: int, target_lufs: float = TARGET_LUFS,
              peak_dbfs_max: float = PEAK_DBFS) -> tuple[np.ndarray, float]:
    """Scale [N] (or [N, C]) audio to ``target_lufs`` integrated loudness, then down to at most
    ``peak_dbfs_max`` sample peak. Audio too short for a loudness measure is peak-normalised
    to the ceiling instead; silence is returned as it is. Returns (audio, gain in dB)."""
    wav = np.asarray(wav, dtype=np.float32)
    peak = peak_dbfs(wav)
    if not np.isfinite(peak):
        return wav, 0.0
    loud = integrated_loudness(wav, sr)
    gain_db = target_lufs - loud if np.isfinite(loud) else peak_dbfs_max - peak
    gain_db = min(gain_db, peak_dbfs_max - peak)
    return (wav * db_to_gain(gain_db)).astype(np.float32), float(gain_db)


def mix(vocal: np.ndarray, backing: np.ndarray, sr: int, vocal_over_backing_lu: float = VOCAL_OVER_BACKING_LU,
        peak_dbfs_max: float = PEAK_DBFS) -> np.ndarray:
    """The vocal [N] over the backing track [K] or [K, C], sample 0 on sample 0, as long as the
    longer of the two: the backing set ``vocal_over_backing_lu`` below the vocal's integrated
    loudness (loudness measured where each sounds), the sum scaled down if its peak would pass
    ``peak_dbfs_max``. Returns [max(N, K)] or [max(N, K), C] (the backing's channels)."""
    vocal = np.asarray(vocal, dtype=np.float32)
    backing = np.asarray(backing, dtype=np.float32)
    channels = backing.shape[1] if backing.ndim == 2 else 1
    # the vocal is heard on every channel of the backing: measure it so (BS.1770 sums channels)
    v_loud = integrated_loudness(np.repeat(vocal[:, None], channels, axis=1) if channels > 1 else vocal, sr)
    b_loud = integrated_loudness(backing, sr)
    gain_db = 0.0
    if np.isfinite(v_loud) and np.isfinite(b_loud):
        gain_db = (v_loud - vocal_over_backing_lu) - b_loud
    n = max(len(vocal), len(backing))
    out = np.zeros((n,) + backing.shape[1:], dtype=np.float32)
    out[: len(backing)] += backing * db_to_gain(gain_db)
    out[: len(vocal)] += vocal[:, None] if backing.ndim == 2 else vocal
    ceiling = db_to_gain(peak_dbfs_max)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > ceiling:
        out *= ceiling / peak
    return out
