"""What every engine reports beside its waveform: the common part of the three analyses."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ConversionAnalysis:
    """Base of each engine's analysis (reference: ``Analysis``, score: ``ScoreAnalysis``, neural:
    ``NeuralAnalysis``), on the 24 kHz / hop 128 grid: ``speech_f0`` [N] Hz of the speech (0 =
    unvoiced), ``target_f0`` [M] Hz the F0 the output sings, ``transpose`` semitones applied to the
    melody."""
    speech_f0: np.ndarray
    target_f0: np.ndarray
    transpose: float
