"""Frame features for aligning speech with singing of the same words."""
from __future__ import annotations

import numpy as np

from ..audio import frontend as fe


def deltas(x: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over +-width frames: [T, D] -> [T, D]."""
    pad = np.pad(x, ((width, width), (0, 0)), mode="edge")
    num = sum(k * (pad[width + k: width + k + len(x)] - pad[width - k: width - k + len(x)])
              for k in range(1, width + 1))
    return num / (2 * sum(k * k for k in range(1, width + 1)))


def active_frames(energy_db: np.ndarray, below_max_db: float = fe.SILENCE_DB) -> np.ndarray:
    """Frames that are not silence: louder than max - below_max_db and than the noise floor + 6 dB."""
    floor = np.percentile(energy_db, 5)
    thr = max(energy_db.max() - below_max_db, floor + 6.0)
    return energy_db > thr


def alignment_features(mag: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Normalised mel-cepstra without c0 plus deltas: [T, K] -> [T, 2 * ALIGN_N_CEPS].

    Mean and variance come from the active (non-silent) frames only, so long sung
    vowels or pauses do not dominate the normalisation.
    """
    return features_from_cepstra(fe.cepstra(mag), active)


def features_from_cepstra(ceps: np.ndarray, active: np.ndarray) -> np.ndarray:
    """``alignment_features`` from mel-cepstra c0.. already computed: [T, 1 + ALIGN_N_CEPS] -> [T, 2 * ALIGN_N_CEPS]."""
    c = ceps[:, 1:]
    ref = c[active] if active.sum() > 10 else c
    c = (c - ref.mean(axis=0)) / (ref.std(axis=0) + 1e-6)
    return np.concatenate([c, deltas(c)], axis=1).astype(np.float32)
