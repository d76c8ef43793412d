"""The neural models' input front-end, shared by the neural engine and training-data preparation.

speech ─ high-pass (official clean-up) ─ WORLD monotone ─ 16 kHz ─ wav2vec2 CTC logits [T2, 32]
speech ─ Resemblyzer speaker embedding [256]

Only numpy/scipy and WORLD are imported here; torch, transformers and resemblyzer are imported by
the functions that need them, so importing this module stays torch-free. Nothing is downloaded:
every model comes from a local folder (Resemblyzer's weights ship in its wheel).
"""
from __future__ import annotations

import functools

import numpy as np

from ..errors import AudioInputError, NeuralSetupError, option
from . import frontend as fe
from . import world

CONTENT_SR = 16000
RESEMBLYZER_SIZE = 256
W2V_HINT = ("download facebook/wav2vec2-base-960h into a local folder (for example with "
            "`huggingface-cli download facebook/wav2vec2-base-960h --local-dir checkpoints/wav2vec2-base-960h` "
            "on a machine with internet access) and pass that folder with " + option("content_model"))


def require_torch():
    try:
        import torch
    except ImportError:
        raise NeuralSetupError("the neural engine needs PyTorch: pip install 'alignsts[neural]'") from None
    return torch


def device_of(setting: str):
    torch = require_torch()
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def official_speech_preprocess(wav: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The official speech clean-up: 5th-order Butterworth high-pass at 30 Hz applied forward
    and backward, scaled by 0.96, plus uniform noise of amplitude 5e-7: [N] -> [N]."""
    from scipy.signal import butter, filtfilt

    b, a = butter(5, 30.0 / (fe.SAMPLE_RATE / 2), btype="high")
    y = filtfilt(b, a, np.asarray(wav, dtype=np.float64)) * 0.96
    return (y + rng.uniform(-5e-7, 5e-7, size=len(y))).astype(np.float32)


def monotone(wav: np.ndarray, mean_f0: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """WORLD-flattened speech: every voiced frame at one F0 (default: the mean voiced F0).

    Returns (monotone waveform [N], the speech's own F0 [T])."""
    feats = world.analyze(wav)
    f0 = feats.f0.copy()
    voiced = f0 > 0
    if mean_f0 is None:
        mean_f0 = float(f0[voiced].mean()) if voiced.any() else 0.0
    flat = np.where(voiced, mean_f0, 0.0)
    y = world.synthesize(world.WorldFeatures(flat, feats.sp, feats.ap), n_samples=len(wav))
    return y, f0


class ContentModel:
    """wav2vec2 CTC logits of 16 kHz speech from a local Wav2Vec2ForCTC folder."""

    def __init__(self, folder: str | None, device):
        torch = require_torch()
        if not folder:
            raise NeuralSetupError(f"no content model given: {W2V_HINT}")
        try:
            from transformers import Wav2Vec2ForCTC
        except ImportError:
            raise NeuralSetupError("the neural engine needs transformers: pip install 'alignsts[neural]'") from None
        try:
            self.model = Wav2Vec2ForCTC.from_pretrained(folder, local_files_only=True).to(device).eval()
        except (OSError, ValueError) as e:
            raise NeuralSetupError(f"{folder}: cannot load a Wav2Vec2ForCTC model here "
                                   f"({str(e).splitlines()[0][:120]}); {W2V_HINT}") from None
        self.device = device
        self.torch = torch

    def __call__(self, wav16k: np.ndarray) -> np.ndarray:
        """[N16] -> CTC logits [T2, vocab] (processor normalisation: zero mean, unit variance)."""
        x = np.asarray(wav16k, dtype=np.float32)
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        with self.torch.no_grad():
            logits = self.model(self.torch.from_numpy(x)[None].to(self.device)).logits[0]
        return logits.float().cpu().numpy()


def speaker_embedding(wav24k: np.ndarray, kind: str, size: int) -> np.ndarray:
    """Speaker embedding [size]: Resemblyzer's 256-d utterance embedding, or zeros."""
    if kind == "none":
        return np.zeros(size, dtype=np.float32)
    if kind != "resemblyzer":
        raise NeuralSetupError(f"unknown speaker embedding {kind!r} (use resemblyzer or none)")
    if size != RESEMBLYZER_SIZE:
        raise NeuralSetupError(f"this model adds a {size}-d speaker embedding; Resemblyzer gives "
                               f"{RESEMBLYZER_SIZE}: use speaker: none")
    encoder = voice_encoder()   # says what to install when resemblyzer is missing
    from resemblyzer import preprocess_wav

    wav = preprocess_wav(np.asarray(wav24k, dtype=np.float32), source_sr=fe.SAMPLE_RATE)
    if len(wav) == 0:   # Resemblyzer trims silence; nothing left to embed
        raise AudioInputError("speech: no speech left after Resemblyzer's silence trimming")
    return np.asarray(encoder.embed_utterance(wav), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def voice_encoder():
    """Resemblyzer's speaker encoder (weights inside its wheel), loaded once per process."""
    try:
        from resemblyzer import VoiceEncoder
    except ImportError:
        raise NeuralSetupError("speaker embeddings need resemblyzer: pip install 'alignsts[neural]' "
                               "(or use speaker 'none')") from None
    import contextlib
    import io as _io

    with contextlib.redirect_stdout(_io.StringIO()):   # it prints a line when loading
        return VoiceEncoder(device="cpu")
