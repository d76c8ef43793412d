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
    out = wav * np.float32(db_to_gain(gain_db))      # one float32 copy, however long the audio
    return out.astype(np.float32, copy=False), float(gain_db)


def mix(vocal: np.ndarray, backing: np.ndarray, sr: int, vocal_over_backing_lu: float = VOCAL_OVER_BACKING_LU,
        peak_dbfs_max: float = PEAK_DBFS, backing_delay: int = 0, in_place: bool = False) -> np.ndarray:
    """The vocal [N] over the backing track [K] or [K, C], vocal sample 0 on backing sample
    ``-backing_delay`` (the backing starts ``backing_delay`` samples later), as long as the longer
    of the two: the backing set ``vocal_over_backing_lu`` below the vocal's integrated loudness
    (loudness measured where each sounds), the sum scaled down if its peak would pass
    ``peak_dbfs_max``. Returns [max(N, delay + K)] or [.., C] (the backing's channels).
    Memory: the output only; the vocal is never copied per channel. ``in_place``: the caller
    gives up ``backing`` (float32), which becomes the output when it starts at 0 and is the longer."""
    vocal = np.asarray(vocal, dtype=np.float32)
    backing = np.asarray(backing, dtype=np.float32)
    channels = backing.shape[1] if backing.ndim == 2 else 1
    # the vocal is heard on every channel of the backing: C equal channels add their BS.1770 weights
    v_loud = integrated_loudness(vocal, sr) + _equal_channels_db(channels)
    b_loud = integrated_loudness(backing, sr)
    gain_db = 0.0
    if np.isfinite(v_loud) and np.isfinite(b_loud):
        gain_db = (v_loud - vocal_over_backing_lu) - b_loud
    d = max(0, int(backing_delay))
    n = max(len(vocal), d + len(backing))
    if in_place and d == 0 and len(backing) >= len(vocal) and backing.flags.writeable:
        out = backing                 # a 30-minute stereo backing is 350 MB: not copied
    else:
        out = np.zeros((n,) + backing.shape[1:], dtype=np.float32)
        out[d:d + len(backing)] = backing
    out[d:d + len(backing)] *= np.float32(db_to_gain(gain_db))
    out[: len(vocal)] += vocal[:, None] if backing.ndim == 2 else vocal
    ceiling = db_to_gain(peak_dbfs_max)
    peak = max(float(out.max()), -float(out.min())) if out.size else 0.0   # no |out| copy
    if peak > ceiling:
        out *= np.float32(ceiling / peak)
    return out


def _equal_channels_db(channels: int) -> float:
    """Loudness of C equal channels over one of them: 10 log10 of the summed BS.1770 channel
    weights, as audio.loudness weighs them (further channels than five count 1)."""
    from .loudness import CHANNEL_GAINS

    if channels <= 1:
        return 0.0
    return 10.0 * float(np.log10(sum(CHANNEL_GAINS[c] if c < len(CHANNEL_GAINS) else 1.0
                                     for c in range(channels))))


# --- which level an output gets (appended; the functions above are the measurement) ---------

LEVEL_WORDS = ("auto", "off")   # 'auto': the engine's natural level target; 'off': keep the engine's level


def reference_target(reference: np.ndarray, sr: int) -> float:
    """The integrated loudness (LUFS) an output following ``reference`` [N] (mono, as the
    engines hear it) should have: the reference's own; TARGET_LUFS when the reference has no
    measurable loudness (silent, or shorter than one 400 ms block).

    A mono vocal at the mono downmix's loudness sounds as loud as the original vocal did when
    it is put back on the song's channels, so the downmix is what is measured."""
    loud = integrated_loudness(np.asarray(reference, dtype=np.float32), sr)
    return float(loud) if np.isfinite(loud) else TARGET_LUFS


def backing_target(backing: np.ndarray, sr: int, vocal_over_backing_lu: float = VOCAL_OVER_BACKING_LU) -> float:
    """The integrated loudness (LUFS) of a mono vocal that sits ``vocal_over_backing_lu`` above
    the backing track [K] or [K, C], so that ``mix`` leaves the backing at its own level (the
    vocal is heard on all C channels, which BS.1770 sums: +10 log10 C). TARGET_LUFS when the
    backing has no measurable loudness."""
    backing = np.asarray(backing, dtype=np.float32)
    loud = integrated_loudness(backing, sr)
    if not np.isfinite(loud):
        return TARGET_LUFS
    channels = backing.shape[1] if backing.ndim == 2 else 1
    return float(loud + vocal_over_backing_lu - _equal_channels_db(channels))
