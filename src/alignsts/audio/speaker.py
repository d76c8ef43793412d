"""Resemblyzer's speaker embedding computed with numpy alone (no torch at run time).

Resemblyzer (https://github.com/resemble-ai/Resemblyzer, Apache License 2.0, (c) Resemble AI)
ships a trained speaker encoder in its wheel (``resemblyzer/pretrained.pt``): 40-band mel
frames (16 kHz, 25 ms window, 10 ms hop) -> 3-layer LSTM (hidden 256) -> the last layer's final
hidden state -> linear 256 -> ReLU -> L2 norm, run on 1.6 s partial windows (1.3 per second)
whose embeddings are averaged and L2-normed. This module computes the same numbers from the same
weights: they are read once with torch (the only torch import, on first use) and kept with the
mel filter bank as a .npz in the user cache (alignsts.cachedir), so later processes load 4 MB of
arrays instead of importing torch. The pre-processing (16 kHz resampling with soxr HQ, volume
raised to -30 dBFS, long silences removed with WebRTC VAD) follows Resemblyzer's ``preprocess_wav``.
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AudioInputError, NeuralSetupError
from ..lanes import one_blas_thread

SR = 16000
N_FFT = 400                 # 25 ms
HOP = 160                   # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160        # 1.6 s per partial utterance
PARTIAL_RATE = 1.3          # partial utterances per second
MIN_COVERAGE = 0.75         # the last partial is kept when at least this much of it is audio
NORM_DBFS = -30.0           # volume raised (never lowered) to this RMS level
VAD_MS = 30                 # WebRTC VAD window
VAD_AVERAGE = 8             # windows in the moving average of the VAD flags
VAD_MAX_SILENCE = 6         # windows of silence kept around voiced ones
INT16_MAX = 2 ** 15 - 1
CACHE_VERSION = 1


@dataclass(frozen=True)
class Encoder:
    """LSTM weights per layer (w_ih [4H, in], w_hh [4H, H], b [4H]; gates i, f, g, o as in
    torch), the linear head (w [E, H], b [E]) and the mel filter bank [N_MELS, N_FFT // 2 + 1]."""
    layers: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    linear_w: np.ndarray
    linear_b: np.ndarray
    mel_basis: np.ndarray


def available() -> bool:
    """True when Resemblyzer (whose wheel holds the weights) and webrtcvad are installed; imports nothing."""
    return all(importlib.util.find_spec(m) is not None for m in ("resemblyzer", "webrtcvad"))


def _weights_file() -> Path:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise NeuralSetupError("speaker embeddings need resemblyzer: pip install 'alignsts[neural]'")
    path = Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"
    if not path.is_file():
        raise NeuralSetupError(f"{path}: Resemblyzer's weights are missing; reinstall resemblyzer")
    return path


def _cache_name(weights: Path) -> str:
    st = weights.stat()
    return f"resemblyzer-v{CACHE_VERSION}-{st.st_size}-{st.st_mtime_ns}.npz"


def convert_weights(weights: Path) -> dict[str, np.ndarray]:
    """Resemblyzer's .pt weights and librosa's mel filter bank as numpy arrays (imports torch and
    librosa, Resemblyzer's own dependencies, once)."""
    try:
        import librosa
        import torch
    except ImportError as e:
        raise NeuralSetupError(f"converting Resemblyzer's weights once needs torch and librosa ({e}); "
                               "pip install 'alignsts[neural]' or set speaker_embedding: none") from None
    state = torch.load(weights, map_location="cpu", weights_only=True)["model_state"]
    arrays = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in state.items()
              if k.startswith(("lstm.", "linear."))}
    arrays["mel_basis"] = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)
    return arrays


def _from_arrays(a) -> Encoder:
    layers = tuple((np.ascontiguousarray(a[f"lstm.weight_ih_l{k}"]), np.ascontiguousarray(a[f"lstm.weight_hh_l{k}"]),
                    a[f"lstm.bias_ih_l{k}"] + a[f"lstm.bias_hh_l{k}"]) for k in range(3))
    return Encoder(layers, a["linear.weight"], a["linear.bias"], a["mel_basis"])


@functools.lru_cache(maxsize=1)
def encoder() -> Encoder:
    """The encoder, from the cached .npz (written on first use, atomically) or converted now."""
    from ..atomic import atomic_path
    from ..cachedir import cache_dir

    weights = _weights_file()
    folder = cache_dir("models")
    cached = folder / _cache_name(weights) if folder is not None else None
    if cached is not None and cached.is_file():
        try:
            with np.load(cached) as z:
                return _from_arrays({k: z[k] for k in z.files})
        except (OSError, ValueError, KeyError):
            pass   # a broken cache file: convert again and replace it
    arrays = convert_weights(weights)
    if cached is not None:
        try:
            with atomic_path(cached) as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, **arrays)
        except Exception:   # a cache that cannot be written only costs the conversion next time
            pass
    return _from_arrays(arrays)


# --- pre-processing ------------------------------------------------------------------------

def resample_16k(wav: np.ndarray, sr: int) -> np.ndarray:
    """[N] at ``sr`` -> [ceil(N * 16000 / sr)] float32 (soxr HQ, as librosa.resample does)."""
    import soxr

    wav = np.asarray(wav, dtype=np.float32)
    if sr == SR:
        return wav
    y = soxr.resample(wav, sr, SR, quality="HQ").astype(np.float32)
    n = int(np.ceil(len(wav) * SR / sr))
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))


def raise_volume(wav: np.ndarray, target_dbfs: float = NORM_DBFS) -> np.ndarray:
    """Scale [N] up to ``target_dbfs`` RMS (int16 full scale); louder audio is left as it is."""
    rms = np.sqrt(np.mean((wav * INT16_MAX) ** 2))
    if not rms > 0:
        return wav
    with np.errstate(divide="ignore"):
        change = target_dbfs - 20 * np.log10(rms / INT16_MAX)
    return wav if change < 0 else wav * (10 ** (change / 20))


def _vad(mode: int):
    """WebRTC VAD at ``mode`` for SR audio: -> is_speech(16-bit PCM bytes of one window) -> bool.
    Calls the compiled ``_webrtcvad`` directly: the ``webrtcvad`` wrapper module imports
    pkg_resources (about 50 ms a process) only to read its version."""
    try:
        import _webrtcvad
    except ImportError:                       # another packaging of it: the wrapper module
        import webrtcvad

        vad = webrtcvad.Vad(mode)
        return lambda pcm: vad.is_speech(pcm, sample_rate=SR)
    handle = _webrtcvad.create()
    _webrtcvad.init(handle)
    _webrtcvad.set_mode(handle, mode)
    return lambda pcm: bool(_webrtcvad.process(handle, SR, pcm, len(pcm) // 2))


def trim_silences(wav: np.ndarray) -> np.ndarray:
    """[N] 16 kHz -> the samples of 30 ms windows that WebRTC VAD (mode 3) calls speech, after a
    moving average over VAD_AVERAGE windows and a dilation by VAD_MAX_SILENCE windows."""
    from .dsp import binary_dilation1d

    win = VAD_MS * SR // 1000
    wav = wav[: len(wav) - len(wav) % win]
    pcm = np.round(wav * INT16_MAX).astype("<i2").tobytes()
    is_speech = _vad(3)
    flags = np.array([is_speech(pcm[2 * i: 2 * (i + win)]) for i in range(0, len(wav), win)], dtype=float)
    if flags.size == 0:
        return wav[:0]
    padded = np.concatenate((np.zeros((VAD_AVERAGE - 1) // 2), flags, np.zeros(VAD_AVERAGE // 2)))
    c = np.cumsum(padded)
    c[VAD_AVERAGE:] = c[VAD_AVERAGE:] - c[:-VAD_AVERAGE]
    mask = np.round(c[VAD_AVERAGE - 1:] / VAD_AVERAGE).astype(bool)
    mask = binary_dilation1d(mask, VAD_MAX_SILENCE + 1)
    return wav[np.repeat(mask, win)]


def preprocess(wav: np.ndarray, sr: int) -> np.ndarray:
    """[N] at ``sr`` -> [M] 16 kHz float32 as Resemblyzer's preprocess_wav gives it."""
    return trim_silences(raise_volume(resample_16k(wav, sr)))


# --- network -------------------------------------------------------------------------------

def mel_frames(wav: np.ndarray, mel_basis: np.ndarray) -> np.ndarray:
    """[N] 16 kHz -> power mel frames [T, N_MELS] (centred, zero-padded STFT, periodic Hann)."""
    x = np.pad(np.asarray(wav, dtype=np.float32), N_FFT // 2)
    n = 1 + (len(x) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    spec = np.fft.rfft(x[idx] * window, axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    return power @ mel_basis.T


def partial_slices(n_samples: int) -> list[slice]:
    """Mel-frame ranges of the partial utterances of ``n_samples`` audio (Resemblyzer's rule)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round((SR / PARTIAL_RATE) / HOP))
    starts = range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step)
    slices = [slice(i, i + PARTIAL_FRAMES) for i in starts]
    last = slices[-1]
    coverage = (n_samples - last.start * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices = slices[:-1]
    return slices


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


LSTM_STEPS = 16   # time steps whose input projection is computed at once ([B, 16, 4H]: memory flat in B x T)


def lstm_last_hidden(x: np.ndarray, layers) -> np.ndarray:
    """[B, T, in] through the stacked LSTM -> the last layer's final hidden state [B, H]."""
    seq = x
    h = None
    for k, (w_ih, w_hh, b) in enumerate(layers):
        hidden = w_hh.shape[1]
        h = np.zeros((x.shape[0], hidden), dtype=np.float32)
        c = np.zeros_like(h)
        last = k == len(layers) - 1
        out = None if last else np.empty((x.shape[0], x.shape[1], hidden), dtype=np.float32)
        w_ih_t, w_hh_t = np.ascontiguousarray(w_ih.T), np.ascontiguousarray(w_hh.T)
        for t in range(x.shape[1]):
            if t % LSTM_STEPS == 0:   # the input's part of the gates for the next steps: [B, S, 4H]
                pre = seq[:, t:t + LSTM_STEPS] @ w_ih_t + b
            g = pre[:, t % LSTM_STEPS] + h @ w_hh_t
            i, f, cell, o = (g[:, j * hidden:(j + 1) * hidden] for j in range(4))
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(cell)
            h = _sigmoid(o) * np.tanh(c)
            if out is not None:
                out[:, t] = h
        seq = out
    return h


def embed_partials(mels: np.ndarray, enc: Encoder) -> np.ndarray:
    """[B, PARTIAL_FRAMES, N_MELS] -> L2-normed embeddings [B, 256]."""
    with one_blas_thread():   # 480 small products: a second BLAS thread only waits
        h = lstm_last_hidden(mels.astype(np.float32), enc.layers)
    e = np.maximum(h @ enc.linear_w.T + enc.linear_b, 0.0)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def _partial_mels(wav16k: np.ndarray, enc: Encoder) -> np.ndarray:
    """Pre-processed 16 kHz audio [M] -> its partial utterances' mel frames [B, PARTIAL_FRAMES, N_MELS]."""
    slices = partial_slices(len(wav16k))
    need = slices[-1].stop * HOP
    wav = np.pad(wav16k, (0, need - len(wav16k))) if need >= len(wav16k) else wav16k
    mel = mel_frames(wav, enc.mel_basis)
    return np.stack([mel[s] for s in slices])


def _utterance(partials: np.ndarray) -> np.ndarray:
    raw = partials.mean(axis=0)
    return (raw / np.linalg.norm(raw)).astype(np.float32)


def embed_preprocessed(wav16k: np.ndarray, enc: Encoder | None = None) -> np.ndarray:
    """Utterance embedding [256] (float32, L2-normed) of pre-processed 16 kHz audio [M]."""
    enc = enc or encoder()
    return _utterance(embed_partials(_partial_mels(wav16k, enc), enc))


def embed_many(wavs: list[np.ndarray], sr: int) -> list[np.ndarray | None]:
    """Utterance embeddings [256] of several [N] recordings at ``sr`` (None for one with no
    speech left after silence trimming), their partials run through the LSTM as one batch."""
    enc = encoder()
    mels = [None if len(x) == 0 else _partial_mels(x, enc) for x in (preprocess(w, sr) for w in wavs)]
    given = [m for m in mels if m is not None]
    if not given:
        return [None] * len(wavs)
    partials = embed_partials(np.concatenate(given), enc)
    out, k = [], 0
    for m in mels:
        if m is None:
            out.append(None)
            continue
        out.append(_utterance(partials[k: k + len(m)]))
        k += len(m)
    return out


def embed(wav: np.ndarray, sr: int) -> np.ndarray:
    """Resemblyzer's utterance embedding [256] of [N] audio at ``sr``. AudioInputError when
    nothing is left after silence trimming; NeuralSetupError when resemblyzer is missing."""
    (e,) = embed_many([wav], sr)
    if e is None:
        raise AudioInputError("no speech left after Resemblyzer's silence trimming")
    return e
