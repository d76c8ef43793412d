"""Tiny prepared datasets for the trainers, written straight in the store format (no audio
analysis): a few 'words' of phoneme-like units, spoken fast (content) and sung slow (mel)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alignsts.data.store import write_split

CONTENT_DIM = 32
N_UNITS = 6


def synthetic_item(rng: np.random.Generator, units_c: np.ndarray, units_m: np.ndarray,
                   spk: np.ndarray) -> dict[str, np.ndarray]:
    k = int(rng.integers(3, 6))
    seq = rng.integers(0, N_UNITS, size=k)
    speech_d = rng.integers(6, 10, size=k)
    sing_d = rng.integers(12, 22, size=k)
    notes = 110.0 * 2 ** (rng.integers(0, 12, size=k) / 12)
    content = np.concatenate([np.repeat(units_c[s][None], d, 0) for s, d in zip(seq, speech_d)])
    content = content + 0.05 * rng.standard_normal(content.shape)
    mel = np.concatenate([np.repeat(units_m[s][None], d, 0) for s, d in zip(seq, sing_d)])
    f0 = np.concatenate([np.full(d, f) for f, d in zip(notes, sing_d)])
    rhythm = np.concatenate([np.r_[np.full(d - 3, 0.95), np.full(3, 0.1)] for d in sing_d])
    t1 = len(f0)
    wav = (0.3 * np.sin(2 * np.pi * np.cumsum(np.repeat(f0, 128)) / 24000) * 32767).astype(np.int16)
    return {"content": content.astype(np.float32), "sing_f0": f0.astype(np.float32),
            "sing_rhythm": rhythm.astype(np.float32), "sing_mel": mel.astype(np.float32),
            "sing_wav": wav[: t1 * 128], "spk": spk[None].astype(np.float32),
            "speech_rhythm": np.linspace(0.1, 0.9, len(content)).astype(np.float32),
            "sing_content": np.concatenate([np.repeat(units_c[s][None], d, 0)
                                            for s, d in zip(seq, sing_d)]).astype(np.float32)}


def make_prepared(root: Path, n_train: int = 8, n_valid: int = 2, hidden: int = 32, seed: int = 0,
                  content_dim: int = CONTENT_DIM, content_kind: str = "wav2vec2", speaker: str = "resemblyzer") -> Path:
    rng = np.random.default_rng(seed)
    units_c = rng.standard_normal((N_UNITS, content_dim))
    units_m = rng.uniform(-5.0, -1.0, size=(N_UNITS, 80))
    spks = rng.standard_normal((3, hidden)) * 0.1
    items = {}
    for split, n in (("train", n_train), ("valid", n_valid)):
        rows = []
        for j in range(n):
            spk = j % 2 if split == "train" else 2
            rows.append({"id": f"s{spk}#{split}#{j}", "speaker": f"s{spk}", "song": split, "text": None})
            items[rows[-1]["id"]] = synthetic_item(rng, units_c, units_m, spks[spk] if speaker != "none" else 0 * spks[spk])
        write_split(root / split, rows, lambda it: items[it["id"]])
    stats = {"content_dim": content_dim, "content_kind": content_kind, "speaker_kind": speaker,
             "mel_min": [-5.0] * 80, "mel_max": [0.0] * 80}
    (root / "stats.json").write_text(json.dumps(stats))
    return root


@pytest.fixture
def prepared(tmp_path) -> Path:
    return make_prepared(tmp_path / "data")


@pytest.fixture
def make_data():
    """make_prepared itself, for tests that need other content kinds or sizes."""
    return make_prepared
