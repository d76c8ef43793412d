"""Neural engine: the AlignSTS acoustic model and its HiFi-GAN vocoder on any recording.

speech ─ high-pass ─ WORLD monotone ─ 16 kHz ─ wav2vec2 CTC logits [T2, 32] ─┐
speech ─ Resemblyzer speaker embedding [256] ─────────────────────────────────┼─ AlignSTS ─ mel ─ HiFi-GAN
melody ─ target F0 [T1] Hz (24 kHz / hop 128) ────────────────────────────────┘
Needs ``pip install alignsts[neural]`` (torch, transformers, resemblyzer). Nothing is
downloaded: every model comes from a local folder.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Optional

import numpy as np

from ..audio import frontend as fe
from ..audio import io, world
from ..audio.content import (CONTENT_SR, ContentModel, device_of, monotone, official_speech_preprocess,
                             require_torch, speaker_embedding)
from ..errors import NeuralSetupError, option
from ..melody import contour, key
from ..melody.key import KeyDecision
from ..validate import CallerOnly, Check, Range, one_of, transpose_setting
from ..validate import device as device_setting
from .analysis import ConversionAnalysis

__all__ = ["NeuralConfig", "NeuralAnalysis", "NeuralSetupError", "convert", "monotone"]

log = logging.getLogger("alignsts")

ATTENTION_CHUNK = 1024     # query frames per attention block: memory linear in song length


@dataclass
class NeuralConfig:
    checkpoint: str = ""                  # AlignSTS folder: official (config.yaml + model_ckpt_steps_*.ckpt)
    #                                       or imported (config.yaml + model.safetensors)
    vocoder: str | None = None            # HiFi-GAN folder (official YAML/JSON format, or imported); None: Griffin-Lim
    content_model: str | None = None      # local wav2vec2-base-960h folder (Wav2Vec2ForCTC)
    trust_checkpoint: Annotated[bool, CallerOnly("--trust-checkpoint")] = False        # allow full unpickling of checkpoints (only for trusted files)
    speaker: Annotated[str, Check(one_of("resemblyzer", "none"))] = "resemblyzer"          # speaker embedding: resemblyzer, or none (zeros)
    speaker_mean_f0: Annotated[Optional[float], Range(40, 1000)] = None  # Hz for the monotone speech; default: the speech's mean voiced F0
    transpose: Annotated[str | float, Check(transpose_setting)] = "auto"   # auto (octaves), fit (semitones) or semitones
    sing_range: Annotated[Optional[str], Check(key.range_setting)] = None   # your range: "A2-E4" or a voice type (bass..soprano); None: from your speech
    formant: Annotated[float, Range(*world.FORMANT_RANGE)] = 1.0   # move the output's formants by this factor (pitch kept)
    seed: Annotated[int, Range(0, 2**32 - 1)] = 0
    device: Annotated[str, Check(device_setting)] = "auto"                  # auto (CUDA when available), cpu, cuda
    griffin_lim_iters: Annotated[int, Range(1, 1000)] = 64


@dataclass
class NeuralAnalysis(ConversionAnalysis):
    """speech_f0 [N]; target_f0 [T1] (sung); content [T2, 32]; mel [T1, 80] log10, clipped to the
    model's [mel_vmin, mel_vmax] as the vocoder got it; transpose; rhythm_codes [T1] (empty for a
    model without the rhythm adaptor); vocoder ('hifigan' or 'griffin-lim')."""
    content: np.ndarray
    mel: np.ndarray
    rhythm_codes: np.ndarray
    vocoder: str
    key: KeyDecision | None = None


def convert(speech: np.ndarray, melody_f0: np.ndarray, cfg: NeuralConfig, progress=None,
            models: dict | None = None, melody_voice: np.ndarray | None = None) -> tuple[np.ndarray, NeuralAnalysis]:
    """Sing ``speech`` [N] (24 kHz) on the target F0 ``melody_f0`` [T1] Hz (hop 128).

    ``models`` may hold already loaded 'acoustic', 'vocoder' and 'content' models (batch use).
    ``melody_voice`` [M] (24 kHz): the recording the melody was sung in (a reference, or
    --melody-from), whose voice tells the key decision whether it is the speaker's register.
    Returns (waveform [T1 * hop] at 24 kHz, NeuralAnalysis). Deterministic for a given seed.
    """
    torch = require_torch()
    from ..models.ckpt import load_acoustic, load_vocoder
    from ..models.vocoder import griffin_lim

    report = progress or (lambda stage, frac: None)
    device = device_of(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    models = models if models is not None else {}

    report("models", 0.0)
    if "acoustic" not in models:
        if not cfg.checkpoint:
            raise NeuralSetupError("no AlignSTS checkpoint given: download the official release and pass its "
                                   f"folder (config.yaml + model_ckpt_steps_*.ckpt) with {option('checkpoint')}")
        models["acoustic"] = load_acoustic(cfg.checkpoint, trust=cfg.trust_checkpoint).to(device)
    mel_content = models["acoustic"].cfg.content == "mel"   # a model trained on mel content (alignsts prepare)
    if "content" not in models and not mel_content:
        models["content"] = ContentModel(cfg.content_model, device)
    if "vocoder" not in models and cfg.vocoder:
        models["vocoder"] = load_vocoder(cfg.vocoder, trust=cfg.trust_checkpoint).to(device)
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

    # the envelope cue reads WORLD frames of the speech (only a bounded number: key.MAX_PROBE_FRAMES),
    # at the F0 the monotone step already tracked
    speech_frames = world.FrameAnalyzer(clean, speech_f0) if melody_voice is not None \
        else world.WorldFeatures(speech_f0, None, None)
    # cheap cues first: the embedding only when it could change the transposition (all this engine uses)
    decision = key.choose(cfg.transpose, clean, speech_frames, melody_f0, melody_voice,
                          "none" if cfg.speaker == "none" else "auto", cfg.sing_range, identity=False)
    semitones = decision.transpose
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
    # as the official inference does before vocoding (and before saving the mel)
    mel = np.clip(out["mel_out"][0].float().cpu().numpy(), acoustic.cfg.mel_vmin, acoustic.cfg.mel_vmax)

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
    if cfg.formant != 1.0:   # the vocoder makes a waveform, not an envelope: re-synthesise with WORLD
        wav = world.shift_formants(wav, world.check_formant(cfg.formant), f0=target)
    report("done", 1.0)
    return wav.astype(np.float32), NeuralAnalysis(
        speech_f0=speech_f0, target_f0=target, content=content, mel=mel, transpose=semitones,
        rhythm_codes=out["rhythm_codes"][0].cpu().numpy() if "rhythm_codes" in out else np.zeros(0, np.int64),
        vocoder=which, key=decision)
