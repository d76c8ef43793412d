"""The AlignSTS front-end: every analysis constant lives here.

All frame-level features share one time grid: 24 kHz audio, hop 128 samples
(5.33 ms), ``n_frames(len) = len // HOP + 1`` frames (a centred STFT).
The numbers match the official AlignSTS preprocessing so the neural engine can
reuse these features unchanged.
"""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 24000
HOP = 128
WIN = 512
N_FFT = 512
N_MELS = 80
FMIN = 50.0
FMAX = 11025.0
LOG_FLOOR = 1e-10

F0_FLOOR = 80.0           # Praat pitch floor (Hz)
F0_CEIL = 750.0           # Praat pitch ceiling (Hz)
VOICING_THRESHOLD = 0.6   # Praat autocorrelation voicing threshold
PRAAT_SHIFT = 8           # official code prepends 8 unvoiced frames at hop 128

RHYTHM_COEF = 35.0        # slope of the sigmoid in the rhythm curve

F0_BIN = 256              # coarse pitch: values 1..255
F0_COARSE_MIN = 50.0
F0_COARSE_MAX = 1100.0

FRAME_PERIOD_MS = 1000.0 * HOP / SAMPLE_RATE


def n_frames(n_samples: int) -> int:
    """Number of analysis frames for a waveform of ``n_samples`` samples."""
    return n_samples // HOP + 1


def frame_times(n: int) -> np.ndarray:
    """Centre time in seconds of each of ``n`` frames: [n]."""
    return np.arange(n) * (HOP / SAMPLE_RATE)


def pad_to_frames(wav: np.ndarray) -> np.ndarray:
    """Zero-pad (or cut) ``wav`` [N] to ``n_frames(N) * HOP`` samples, as the official code."""
    target = n_frames(len(wav)) * HOP
    out = np.zeros(target, dtype=wav.dtype)
    out[: min(len(wav), target)] = wav[:target]
    return out


def _hz_to_mel_slaney(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels)


def _mel_to_hz_slaney(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=4)
def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin: float = FMIN, fmax: float = FMAX) -> np.ndarray:
    """Slaney-style, area-normalised triangular mel filters (librosa's default): [n_mels, n_fft//2+1]."""
    fft_freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_pts = np.linspace(_hz_to_mel_slaney(fmin), _hz_to_mel_slaney(fmax), n_mels + 2)
    hz_pts = _mel_to_hz_slaney(mel_pts)
    fdiff = np.diff(hz_pts)
    ramps = hz_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (hz_pts[2:] - hz_pts[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.setflags(write=False)  # shared by every caller through the cache
    return weights


def stft_magnitude(wav: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Centred, zero-padded Hann STFT magnitude: [N] -> [n_frames(N), n_fft//2+1] float32."""
    wav = np.asarray(wav, dtype=np.float32)
    padded = np.pad(wav, (n_fft // 2, n_fft // 2))
    return _magnitude_of_padded(padded, 1 + (len(padded) - n_fft) // hop, n_fft, hop)


def stft_magnitude_frames(wav: np.ndarray, start: int, stop: int, n_fft: int = N_FFT,
                          hop: int = HOP) -> np.ndarray:
    """Frames start..stop-1 of ``stft_magnitude(wav)``, computing only those: -> [stop-start, n_fft//2+1].

    Reads only the samples those frames cover, so long inputs can be analysed block by block
    with the same result as the whole; frames past the end see zeros, as the whole STFT's padding.
    """
    first = start * hop - n_fft // 2
    seg = np.zeros(max(stop - start - 1, 0) * hop + n_fft, dtype=np.float32)
    lo, hi = max(first, 0), min(first + len(seg), len(wav))
    if hi > lo:
        seg[lo - first: hi - first] = wav[lo:hi]
    return _magnitude_of_padded(seg, max(stop - start, 0), n_fft, hop)


def _magnitude_of_padded(padded: np.ndarray, n: int, n_fft: int, hop: int) -> np.ndarray:
    """|rfft| of ``n`` Hann-windowed frames hop apart from the start of ``padded``: -> [n, n_fft//2+1]."""
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n, n_fft), strides=(padded.strides[0] * hop, padded.strides[0]), writeable=False)
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    out = np.empty((n, n_fft // 2 + 1), dtype=np.float32)
    for a in range(0, n, 8192):  # blocks keep the complex intermediate small
        out[a:a + 8192] = np.abs(np.fft.rfft(frames[a:a + 8192] * window, axis=1))
    return out


def log_mel(wav: np.ndarray) -> np.ndarray:
    """log10 mel spectrogram of 24 kHz audio: [N] -> [n_frames(N), 80]."""
    return log_mel_from_magnitude(stft_magnitude(wav))


def log_mel_from_magnitude(mag: np.ndarray) -> np.ndarray:
    """log10 mel of an STFT magnitude already computed: [T, 257] -> [T, 80]."""
    return np.log10(np.maximum(LOG_FLOOR, mag @ mel_filterbank().T)).astype(np.float32)


def f0_praat(wav: np.ndarray, n: int | None = None, floor: float = F0_FLOOR,
             ceil: float = F0_CEIL, official_shift: bool = True) -> np.ndarray:
    """F0 in Hz (0 = unvoiced) by Praat autocorrelation, official settings: [N] -> [n].

    ``n`` defaults to ``n_frames(N)``. With ``official_shift`` Praat's frames are shifted
    right by ``PRAAT_SHIFT`` frames and padded/cut to ``n`` as the official code does
    (this delays the contour by 4 frames); otherwise each Praat frame is placed at its
    true time, which is what resynthesis needs.
    """
    import parselmouth

    if n is None:
        n = n_frames(len(wav))
    # the official code analyses the hop-padded waveform
    snd = parselmouth.Sound(pad_to_frames(np.asarray(wav, dtype=np.float64)),
                            sampling_frequency=SAMPLE_RATE)
    pitch = snd.to_pitch_ac(time_step=HOP / SAMPLE_RATE, voicing_threshold=VOICING_THRESHOLD,
                            pitch_floor=floor, pitch_ceiling=ceil)
    f0 = pitch.selected_array["frequency"]
    shift = PRAAT_SHIFT if official_shift else int(round(pitch.xs()[0] * SAMPLE_RATE / HOP))
    out = np.zeros(n, dtype=np.float32)
    body = f0[: max(0, n - shift)]
    out[shift: shift + len(body)] = body
    return out


@lru_cache(maxsize=1)
def load_pyworld():
    """The pyworld module, imported on first use (WORLD analysis lives in :mod:`.world`).

    pyworld's package ``__init__`` only imports pkg_resources (about 50 ms a process) to read
    its own version and then re-exports its compiled module, so that compiled module is loaded
    directly when it can be found; otherwise (another layout) the package is imported."""
    import importlib.machinery
    import importlib.util
    import sys
    import warnings

    if "pyworld" not in sys.modules:
        try:
            spec = importlib.util.find_spec("pyworld")
            folder = list(spec.submodule_search_locations or [])[0]
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = os.path.join(folder, "pyworld" + suffix)
                if os.path.isfile(path):
                    ext = importlib.util.spec_from_file_location(
                        "pyworld.pyworld", path, loader=importlib.machinery.ExtensionFileLoader("pyworld.pyworld", path))
                    module = importlib.util.module_from_spec(ext)
                    ext.loader.exec_module(module)
                    if all(hasattr(module, f) for f in ("dio", "stonemask", "cheaptrick", "d4c", "synthesize")):
                        return module
        except (ImportError, AttributeError, IndexError, TypeError, OSError):
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyworld's pkg_resources deprecation notice
        import pyworld
    return pyworld


def f0_world(wav: np.ndarray, n: int | None = None, method: str = "harvest",
             floor: float = 60.0, ceil: float = F0_CEIL) -> np.ndarray:
    """F0 in Hz (0 = unvoiced) by WORLD harvest or dio+stonemask: [N] -> [n]."""
    pyworld = load_pyworld()
    if n is None:
        n = n_frames(len(wav))
    x = np.asarray(wav, dtype=np.float64)
    if method == "harvest":
        f0, t = pyworld.harvest(x, SAMPLE_RATE, f0_floor=floor, f0_ceil=ceil,
                                frame_period=FRAME_PERIOD_MS)
    elif method == "dio":
        f0, t = pyworld.dio(x, SAMPLE_RATE, f0_floor=floor, f0_ceil=ceil,
                            frame_period=FRAME_PERIOD_MS)
        f0 = pyworld.stonemask(x, f0, t, SAMPLE_RATE)
    else:
        raise ValueError(f"unknown F0 method {method!r} (use 'praat', 'harvest' or 'dio')")
    return fit_length(f0.astype(np.float32), n)


def f0_track(wav: np.ndarray, method: str = "praat", n: int | None = None) -> np.ndarray:
    """F0 at true frame times by the named method ('praat', 'harvest', 'dio'): [N] -> [n]."""
    if method == "praat":
        return f0_praat(wav, n, official_shift=False)
    return f0_world(wav, n, method=method)


def fit_length(x: np.ndarray, n: int, edge: bool = False) -> np.ndarray:
    """Cut or pad ``x`` [T, ...] along axis 0 to ``n`` rows (zeros, or the last row if ``edge``)."""
    if len(x) >= n:
        return x[:n]
    if edge and len(x) > 0:
        pad = np.repeat(x[-1:], n - len(x), axis=0)
    else:
        pad = np.zeros((n - len(x),) + x.shape[1:], dtype=x.dtype)
    return np.concatenate([x, pad], axis=0)


def voicing(f0: np.ndarray) -> np.ndarray:
    """Voiced mask of an F0 contour: [T] -> bool [T]."""
    return np.asarray(f0) > 0


def mel_energy(logmel: np.ndarray) -> np.ndarray:
    """Frame energy as the official code computes it from log10 mel: [T, 80] -> [T].

    (It applies the natural exp to log10 values; kept for compatibility.)
    """
    return np.sqrt(np.sum(np.exp(logmel.astype(np.float64)) ** 2, axis=-1)).astype(np.float32)


# loudness_db rises by this many dB per dB of gain (the energy takes exp of log10 values)
LOUDNESS_PER_GAIN = 1.0 / np.log(10.0)


def loudness_db(logmel: np.ndarray) -> np.ndarray:
    """The front-end's frame energy (what the rhythm curve is made of) in dB: [T, 80] -> [T]."""
    return (20.0 * np.log10(mel_energy(logmel).astype(np.float64) + 1e-12)).astype(np.float32)


def rhythm_curve(logmel: np.ndarray) -> np.ndarray:
    """AlignSTS rhythm curve, sigmoid(35 * standardised energy): [T, 80] -> [T].

    Standardised as the official data loader does it (torch ``Tensor.std()``: the unbiased
    estimate, N - 1); a single frame has no spread and gives 0.5.
    """
    e = np.sqrt(np.sum(np.exp(np.asarray(logmel, dtype=np.float64)) ** 2, axis=-1))   # mel_energy, unrounded
    std = e.std(ddof=1) if len(e) > 1 else 0.0
    z = (e - e.mean()) / (std + 1e-8)
    return (1.0 / (1.0 + np.exp(-RHYTHM_COEF * z))).astype(np.float32)


def f0_to_coarse(f0_hz: np.ndarray) -> np.ndarray:
    """Quantise F0 in Hz to the official 1..255 coarse pitch bins: [T] -> int64 [T]."""
    f0 = np.asarray(f0_hz, dtype=np.float64)
    mel_min = 1127 * np.log(1 + F0_COARSE_MIN / 700)
    mel_max = 1127 * np.log(1 + F0_COARSE_MAX / 700)
    f0_mel = 1127 * np.log(1 + f0 / 700)
    voiced = f0_mel > 0
    f0_mel[voiced] = (f0_mel[voiced] - mel_min) * (F0_BIN - 2) / (mel_max - mel_min) + 1
    f0_mel[f0_mel <= 1] = 1
    f0_mel[f0_mel > F0_BIN - 1] = F0_BIN - 1
    return np.floor(f0_mel + 0.5).astype(np.int64)


def hz_to_cents(f0: np.ndarray, ref_hz: float = 10.0) -> np.ndarray:
    """Hz -> cents above ``ref_hz``; unvoiced (<= 0) frames give 0: [T] -> [T]."""
    f0 = np.asarray(f0, dtype=np.float64)
    out = np.zeros_like(f0)
    v = f0 > 0
    out[v] = 1200.0 * np.log2(f0[v] / ref_hz)
    return out


# --- alignment features (speaker- and pitch-robust spectral shape) ---
ALIGN_N_MELS = 40
ALIGN_FMIN = 80.0
ALIGN_FMAX = 7600.0
ALIGN_N_CEPS = 13          # c1..c13: the envelope, not the harmonics
SILENCE_DB = 45.0          # frames this far below the loudest are silence


def power_sum(mag: np.ndarray, bins: np.ndarray | None = None, block: int = 8192) -> np.ndarray:
    """Sum of squared magnitudes per frame, in float64, over all bins or the ``bins`` mask:
    [T, K] -> [T]. Works in blocks of frames, so no float64 copy of a long STFT is made."""
    out = np.empty(len(mag), dtype=np.float64)
    for a in range(0, len(mag), block):
        part = mag[a:a + block] if bins is None else mag[a:a + block, bins]
        out[a:a + block] = np.sum(part.astype(np.float64) ** 2, axis=1)
    return out


def frame_energy_db(mag: np.ndarray) -> np.ndarray:
    """Frame power in dB from an STFT magnitude: [T, K] -> [T]."""
    return (10.0 * np.log10(power_sum(mag) + 1e-10)).astype(np.float32)


def cepstra(mag: np.ndarray) -> np.ndarray:
    """Mel-cepstra c0..c_ALIGN_N_CEPS of an STFT magnitude: [T, K] -> [T, ALIGN_N_CEPS+1]."""
    from .dsp import dct

    fb = mel_filterbank(SAMPLE_RATE, N_FFT, ALIGN_N_MELS, ALIGN_FMIN, ALIGN_FMAX)
    logm = np.log(np.maximum(mag @ fb.T, 1e-8))
    return dct(logm, axis=1)[:, : ALIGN_N_CEPS + 1].astype(np.float32)
