"""Per-item training features of one speech/singing pair (pure functions, 24 kHz / hop 128).

:func:`item_features` turns a spoken and a sung recording (both mono float32 at 24 kHz) into the
arrays that :mod:`alignsts.data.store` keeps per item. Axis 0 is time (or a single row for
per-item vectors):

====================  ==============  ==========================================================
key                   dtype, shape    meaning
====================  ==============  ==========================================================
``sing_mel``          f32 [T1, 80]    log10 mel of the singing (front-end grid)
``sing_f0``           f32 [T1]        Praat F0 of the singing at true frame times, Hz, 0 = unvoiced
``sing_rhythm``       f32 [T1]        rhythm curve of ``sing_mel``
``sing_wav``          i16 [T1*128]    the singing padded/cut to T1 * HOP samples, PCM 16
``content``           f32 [T2, C]     content features of the monotone (WORLD-flattened) speech
``speech_rhythm``     f32 [T2']       rhythm curve of the cleaned speech's log mel (24 kHz frames)
``sing_content``      f32 [T1', C]    the same content pipeline on the singing (zero-shot mode)
``spk``               f32 [1, D]      speaker embedding of the cleaned speech (D = 256)
====================  ==============  ==========================================================

A content function maps a 24 kHz waveform to ``[T, C]``: :func:`mel_content` (C = 80, the log
mel of the monotone wave) or the callable of :func:`make_w2v_content` (wav2vec2 CTC logits at
16 kHz, C = the model's vocabulary size, 32 for wav2vec2-base-960h). A speaker function maps
24 kHz speech to ``[D]`` (:func:`make_speaker_fn`).

Only numpy is imported here; torch/transformers/resemblyzer are imported by the functions that
need them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..audio import frontend as fe
from ..audio import io
from ..errors import AudioInputError, NeuralSetupError

__all__ = ["FEATURE_KEYS", "SPEAKER_DIM", "ContentFn", "SpeakerFn", "item_features",
           "make_speaker_fn", "make_w2v_content", "mel_content"]

FEATURE_KEYS = ("sing_mel", "sing_f0", "sing_rhythm", "sing_wav", "content", "speech_rhythm",
                "sing_content", "spk")
SPEAKER_DIM = 256   # Resemblyzer's embedding size; "none" gives zeros of the same size

ContentFn = Callable[[np.ndarray], np.ndarray]
SpeakerFn = Callable[[np.ndarray], np.ndarray]


def mel_content(wav24k: np.ndarray) -> np.ndarray:
    """Content features without a content model: log10 mel of the 24 kHz wave, [N] -> [T, 80]."""
    return fe.log_mel(np.asarray(wav24k, dtype=np.float32)).astype(np.float32)



class _W2VContent:
    """wav2vec2 CTC logits of a 24 kHz wave (resampled to 16 kHz): [N] -> [T2, vocab]."""

    def __init__(self, folder: str, device: str = "cpu"):
        from ..audio import content

        try:   # no "Loading weights" bar from every worker process
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass   # ContentModel reports the missing package
        self.model = content.ContentModel(folder, content.device_of(device))
        self.dim = int(self.model.model.config.vocab_size)

    def __call__(self, wav24k: np.ndarray) -> np.ndarray:
        from ..audio.content import CONTENT_SR

        wav16k = io.resample(np.asarray(wav24k, dtype=np.float32), fe.SAMPLE_RATE, CONTENT_SR)
        return np.asarray(self.model(wav16k), dtype=np.float32)


def make_w2v_content(folder: str, device: str = "cpu") -> ContentFn:
    """Load a local ``Wav2Vec2ForCTC`` folder once; returns a content function (24 kHz in).

    Raises :class:`alignsts.errors.NeuralSetupError` when the folder or packages are missing.
    """
    return _W2VContent(folder, device)


def _no_speaker(wav24k: np.ndarray) -> np.ndarray:
    return np.zeros(SPEAKER_DIM, dtype=np.float32)


def _resemblyzer(wav24k: np.ndarray) -> np.ndarray:
    from ..audio.content import speaker_embedding

    return speaker_embedding(wav24k, "resemblyzer", SPEAKER_DIM)


def make_speaker_fn(kind: str) -> SpeakerFn:
    """Speaker function for ``kind``: 'resemblyzer' (encoder loaded once, 256-d) or 'none' (zeros)."""
    if kind == "none":
        return _no_speaker
    if kind == "resemblyzer":
        from ..audio.content import voice_encoder

        voice_encoder()   # load it now (once per process), not at the first item
        return _resemblyzer
    raise NeuralSetupError(f"unknown speaker embedding {kind!r} (use resemblyzer or none)")


def _checked(wav: np.ndarray, name: str) -> np.ndarray:
    """Mono float32 24 kHz wave, or AudioInputError (empty, NaN/inf, too short, silent)."""
    return io.check_audio(np.asarray(wav), fe.SAMPLE_RATE, name)


def _content_of(wav24k: np.ndarray, content_fn: ContentFn, rng: np.random.Generator,
                name: str) -> tuple[np.ndarray, np.ndarray]:
    """clean-up -> WORLD monotone -> content_fn. Returns (content [T, C] float32, cleaned wave [N])."""
    from ..audio.content import monotone, official_speech_preprocess

    clean = official_speech_preprocess(wav24k, rng)
    flat, f0 = monotone(clean)
    if not np.any(f0 > 0):
        raise AudioInputError(f"{name}: no voiced frame (WORLD found no pitch), nothing to make monotone")
    content = np.asarray(content_fn(flat), dtype=np.float32)
    if content.ndim != 2 or len(content) == 0:
        raise AudioInputError(f"{name}: content features have shape {content.shape}, expected [T, C]")
    if not np.all(np.isfinite(content)):
        raise AudioInputError(f"{name}: content features are not finite")
    return np.ascontiguousarray(content), clean


def item_features(speech24k: np.ndarray, sing24k: np.ndarray, content_fn: ContentFn,
                  speaker_fn: SpeakerFn, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """All training arrays of one pair (see the module doc for keys, dtypes and shapes).

    speech24k, sing24k: mono waves at 24 kHz [N], [M]. ``rng`` drives the clean-up dither
    (the official 5e-7 uniform noise) of speech and then singing, so a seeded generator makes the
    result reproducible. Raises AudioInputError (one line, starting with 'speech:' or 'singing:')
    for empty, non-finite, too short, silent or unvoiced audio.
    """
    speech = _checked(speech24k, "speech")
    sing = _checked(sing24k, "singing")

    sing_mel = fe.log_mel(sing).astype(np.float32)
    t1 = len(sing_mel)
    sing_f0 = fe.f0_track(sing, "praat", t1).astype(np.float32)
    if not np.any(sing_f0 > 0):
        raise AudioInputError("singing: no voiced frame (Praat found no pitch)")
    sing_rhythm = fe.rhythm_curve(sing_mel).astype(np.float32)
    sing_wav = np.clip(np.round(fe.fit_length(sing, t1 * fe.HOP).astype(np.float64) * 32767.0),
                       -32768, 32767).astype(np.int16)

    content, clean = _content_of(speech, content_fn, rng, "speech")
    speech_rhythm = fe.rhythm_curve(fe.log_mel(clean)).astype(np.float32)
    sing_content, _ = _content_of(sing, content_fn, rng, "singing")
    if sing_content.shape[1] != content.shape[1]:
        raise AudioInputError(f"content features of speech ({content.shape[1]}) and singing "
                              f"({sing_content.shape[1]}) differ in size")

    spk = np.asarray(speaker_fn(clean), dtype=np.float32).reshape(1, -1)
    if not np.all(np.isfinite(spk)):
        raise AudioInputError("speech: speaker embedding is not finite")

    return {
        "sing_mel": np.ascontiguousarray(sing_mel),
        "sing_f0": sing_f0,
        "sing_rhythm": sing_rhythm,
        "sing_wav": sing_wav,
        "content": content,
        "speech_rhythm": speech_rhythm,
        "sing_content": sing_content,
        "spk": spk,
    }
