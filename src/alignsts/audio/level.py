"""Output level: integrated loudness (ITU-R BS.1770 via pyloudnorm) to a target, capped at a
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
    than one 400 ms block."""
    import pyloudnorm

    if wav.shape[0] < int(MIN_LOUDNESS_S * sr) + 1:
        return float("nan")
    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim == 2 and wav.shape[1] > 5:
        # BS.1770 (pyloudnorm) weighs at most 5 channels: more (6-8, e.g. 5.1/7.1) are measured as
        # their mean plus 10 log10(C), exact for C equal channels (the vocal laid on every one)
        channels = wav.shape[1]
        return integrated_loudness(wav.mean(axis=1), sr) + 10.0 * float(np.log10(channels))
    if wav.shape[0] > LONG_SAMPLES:
        return integrated_loudness_blocks(wav, sr)
    return float(pyloudnorm.Meter(sr).integrated_loudness(wav))


LONG_SAMPLES = 1 << 22      # longer audio (175 s at 24 kHz) is measured block by block
_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)   # BS.1770 channel weights (L, R, C, Ls, Rs)


def integrated_loudness_blocks(wav: np.ndarray, sr: int, block: int = 1 << 20) -> float:
    """pyloudnorm's BS.1770-4 integrated loudness of [N] or [N, C<=5] audio, computed in blocks:
    the K-weighting filters run with their state carried from block to block, and the 400 ms
    gating blocks' energies come from running sums of squares at their (pyloudnorm's) bounds,
    so no full-length float64 copy is ever made (pyloudnorm makes three)."""
    import pyloudnorm
    from scipy.signal import lfilter

    meter = pyloudnorm.Meter(sr)
    x = wav[:, None] if wav.ndim == 1 else wav
    n, channels = x.shape
    t_g, step = meter.block_size, 1.0 - meter.overlap
    count = int(np.round(((n / sr - t_g) / (t_g * step)))) + 1
    j = np.arange(count, dtype=np.float64)
    lo = np.minimum((t_g * (j * step) * sr).astype(np.int64), n)
    hi = np.minimum((t_g * (j * step + 1) * sr).astype(np.int64), n)
    bounds = np.unique(np.concatenate([lo, hi]))
    filters = list(meter._filters.values())
    z = np.zeros((channels, count))
    for c in range(channels):
        states = [np.zeros(max(len(f.a), len(f.b)) - 1) for f in filters]
        prefix = np.zeros(len(bounds))          # sum of squares of samples [0, bound)
        offset = 0.0
        for b0 in range(0, n, block):
            y = np.asarray(x[b0:b0 + block, c], dtype=np.float64)
            for k, f in enumerate(filters):
                y, states[k] = lfilter(f.b, f.a, y, zi=states[k])
                y *= f.passband_gain
            cs = np.cumsum(y * y)
            cs += offset
            sel = (bounds > b0) & (bounds <= b0 + len(y))
            prefix[sel] = cs[bounds[sel] - b0 - 1]
            offset = float(cs[-1]) if len(cs) else offset
        at = np.searchsorted(bounds, hi), np.searchsorted(bounds, lo)
        z[c] = np.maximum(prefix[at[0]] - prefix[at[1]], 0.0) / (t_g * sr)
    g = np.asarray(_GAINS[:channels])[:, None]
    with np.errstate(divide="ignore"):
        blocks = -0.691 + 10.0 * np.log10(np.sum(g * z, axis=0))
        keep = blocks >= -70.0
        if not np.any(keep):
            return float("-inf")
        rel = -0.691 + 10.0 * np.log10(np.sum(g[:, 0] * z[:, keep].mean(axis=1))) - 10.0
        keep = (blocks > rel) & (blocks > -70.0)
        if not np.any(keep):
            return float("-inf")
        return float(-0.691 + 10.0 * np.log10(np.sum(g[:, 0] * z[:, keep].mean(axis=1))))


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
    """Loudness of C equal channels over one of them: 10 log10 of the summed BS.1770 weights
    (C > 5: C, as integrated_loudness measures those)."""
    if channels <= 1:
        return 0.0
    return 10.0 * float(np.log10(sum(_GAINS[:channels]) if channels <= 5 else channels))


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
