"""Neural engine: the AlignSTS acoustic model and its HiFi-GAN vocoder on any recording.

speech ─ high-pass ─ WORLD monotone ─ 16 kHz ─ wav2vec2 CTC logits [T2, 32] ─┐
speech ─ Resemblyzer speaker embedding [256] ─────────────────────────────────┼─ AlignSTS ─ mel ─ HiFi-GAN
melody ─ target F0 [T1] Hz (24 kHz / hop 128) ────────────────────────────────┘
Needs ``pip install alignsts[neural]`` (torch, transformers, resemblyzer). Nothing is
downloaded: every model comes from a local folder.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np

from ..audio import frontend as fe
from ..audio import io, world
from ..errors import AlignSTSError, AudioInputError
from ..melody import contour

log = logging.getLogger("alignsts")

CONTENT_SR = 16000
ATTENTION_CHUNK = 1024     # query frames per attention block: memory linear in song length
RESEMBLYZER_SIZE = 256
W2V_HINT = ("download facebook/wav2vec2-base-960h into a local folder (for example with "
            "`huggingface-cli download facebook/wav2vec2-base-960h --local-dir checkpoints/wav2vec2-base-960h` "
            "on a machine with internet access) and pass that folder with --content-model")


class NeuralSetupError(AlignSTSError):
    """A model file or package the neural engine needs is missing."""


@dataclass
class NeuralConfig:
    checkpoint: str = ""                  # AlignSTS folder: official (config.yaml + model_ckpt_steps_*.ckpt)
    #                                       or imported (config.yaml + model.safetensors)
    vocoder: str | None = None            # HiFi-GAN folder (official YAML/JSON format, or imported); None: Griffin-Lim
    content_model: str | None = None      # local wav2vec2-base-960h folder (Wav2Vec2ForCTC)
    trust_checkpoint: bool = False        # allow full unpickling of checkpoints (only for trusted files)
    speaker: str = "resemblyzer"          # speaker embedding: resemblyzer, or none (zeros)
    speaker_mean_f0: float | None = None  # Hz for the monotone speech; default: the speech's mean voiced F0
    transpose: str | float = "auto"
    seed: int = 0
    device: str = "auto"                  # auto (CUDA when available), cpu, cuda
    griffin_lim_iters: int = 64


@dataclass
class NeuralAnalysis:
    """speech_f0 [N]; target_f0 [T1] (sung); content [T2, 32]; mel [T1, 80] log10; transpose;
    rhythm_codes [T1] (empty for a model without the rhythm adaptor); vocoder ('hifigan' or 'griffin-lim')."""
    speech_f0: np.ndarray
    target_f0: np.ndarray
    content: np.ndarray
    mel: np.ndarray
    transpose: float
    rhythm_codes: np.ndarray
    vocoder: str


def _torch():
    try:
        import torch
    except ImportError:
        raise NeuralSetupError("the neural engine needs PyTorch: pip install 'alignsts[neural]'") from None
    return torch


def device_of(setting: str):
    torch = _torch()
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
        torch = _torch()
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


def griffin_lim(log10_mel: np.ndarray, iters: int, seed: int) -> np.ndarray:
    """A vocoder of last resort: mel [T, 80] log10 -> waveform [T * hop] by Griffin-Lim."""
    torch = _torch()
    fb = fe.mel_filterbank()
    mag = np.maximum(np.linalg.pinv(fb) @ (10.0 ** log10_mel.T), 0.0)      # [K, T]
    spec = torch.from_numpy(mag.astype(np.float32))
    window = torch.hann_window(fe.WIN)
    gen = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * np.pi * torch.rand(spec.shape, generator=gen))
    n = (spec.shape[1] - 1) * fe.HOP
    for _ in range(max(1, iters)):
        y = torch.istft(spec * angles, fe.N_FFT, fe.HOP, fe.WIN, window, length=n)
        rebuilt = torch.stft(y, fe.N_FFT, fe.HOP, fe.WIN, window, return_complex=True)
        angles = torch.exp(1j * torch.angle(rebuilt))
    y = torch.istft(spec * angles, fe.N_FFT, fe.HOP, fe.WIN, window, length=len(log10_mel) * fe.HOP)
    return y.numpy().astype(np.float32)


def convert(speech: np.ndarray, melody_f0: np.ndarray, cfg: NeuralConfig, progress=None,
            models: dict | None = None) -> tuple[np.ndarray, NeuralAnalysis]:
    """Sing ``speech`` [N] (24 kHz) on the target F0 ``melody_f0`` [T1] Hz (hop 128).

    ``models`` may hold already loaded 'acoustic', 'vocoder' and 'content' models (batch use).
    Returns (waveform [T1 * hop] at 24 kHz, NeuralAnalysis). Deterministic for a given seed.
    """
    torch = _torch()
    from ..models.convert import load_acoustic, load_vocoder_any

    report = progress or (lambda stage, frac: None)
    device = device_of(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    models = models if models is not None else {}

    report("models", 0.0)
    if "acoustic" not in models:
        if not cfg.checkpoint:
            raise NeuralSetupError("no AlignSTS checkpoint given: download the official release and pass its "
                                   "folder (config.yaml + model_ckpt_steps_*.ckpt) with --checkpoint")
        models["acoustic"] = load_acoustic(cfg.checkpoint, trust=cfg.trust_checkpoint).to(device)
    mel_content = models["acoustic"].cfg.content == "mel"   # a model trained on mel content (alignsts prepare)
    if "content" not in models and not mel_content:
        models["content"] = ContentModel(cfg.content_model, device)
    if "vocoder" not in models and cfg.vocoder:
        models["vocoder"] = load_vocoder_any(cfg.vocoder, trust=cfg.trust_checkpoint).to(device)
    acoustic = models["acoustic"]
    acoustic.attention_chunk = ATTENTION_CHUNK

    report("content", 0.0)
    clean = official_speech_preprocess(speech, rng)
    flat, speech_f0 = monotone(clean, cfg.speaker_mean_f0)
    if mel_content:
        content = fe.log_mel(flat).astype(np.float32)
    else:
        content = models["content"](io.resample(flat, fe.SAMPLE_RATE, CONTENT_SR))
    spk = speaker_embedding(clean, cfg.speaker if acoustic.cfg.speaker_embed else "none", acoustic.cfg.hidden)

    semitones = contour.resolve_transpose(cfg.transpose, speech_f0, melody_f0)
    target = contour.transpose(melody_f0, semitones)

    report("acoustic", 0.0)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)

    def noise(shape, like):
        return torch.randn(tuple(shape), generator=gen, device=like.device, dtype=like.dtype)

    spenv = None
    if not acoustic.cfg.rhythm_adaptor:   # ablation: the speech's own rhythm replaces the adaptor
        logmel = fe.log_mel(clean)
        curve = fe.rhythm_curve(logmel)[:, None] if acoustic.cfg.rhythm_enc.inp == 1 else logmel
        spenv = torch.from_numpy(np.ascontiguousarray(curve)[None]).float().to(device)
    with torch.no_grad():
        out = acoustic(torch.from_numpy(content[None]).float().to(device),
                       torch.from_numpy(target[None]).float().to(device),
                       torch.from_numpy(np.asarray(spk)[None]).float().to(device), infer=True, noise_fn=noise,
                       spenv=spenv)
    mel = out["mel_out"][0].float().cpu().numpy()

    report("vocoder", 0.0)
    if "vocoder" in models:
        with torch.no_grad():
            wav = models["vocoder"](torch.from_numpy(mel.T[None]).float().to(device),
                                    torch.from_numpy(target[None]).float().to(device), generator=gen)
        wav = wav.reshape(-1).float().cpu().numpy()
        which = "hifigan"
    else:
        log.warning("no --vocoder given: using Griffin-Lim, which sounds rough; pass the official HiFi-GAN folder")
        wav = griffin_lim(mel, cfg.griffin_lim_iters, cfg.seed)
        which = "griffin-lim"
    report("done", 1.0)
    return wav.astype(np.float32), NeuralAnalysis(
        speech_f0=speech_f0, target_f0=target, content=content, mel=mel, transpose=semitones,
        rhythm_codes=out["rhythm_codes"][0].cpu().numpy() if "rhythm_codes" in out else np.zeros(0, np.int64),
        vocoder=which)
