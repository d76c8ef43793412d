"""The cover's pieces: length fitting, the mix at the original vocal's level, the separator choice."""
from __future__ import annotations

import numpy as np
import pytest

from alignsts.audio.level import integrated_loudness
from alignsts.engines import cover
from alignsts.errors import AlignSTSError, InvalidValueError

SR = 24000


def stems(n: int, vocal_gain: float = 0.3, band_gain: float = 0.2) -> cover.SongStems:
    t = np.arange(n) / SR
    voc = (vocal_gain * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    band = (band_gain * np.sin(2 * np.pi * 110 * t)).astype(np.float32)
    return cover.SongStems(vocals=np.stack([voc, voc], 1), instrumental=np.stack([band, 0.5 * band], 1), sr=SR,
                           f0=np.zeros(n // 256 + 1), hop=256)


def test_fit_length_cuts_or_pads_with_silence():
    x = np.ones(10, np.float32)
    assert len(cover.fit_length(x, 4)) == 4
    y = cover.fit_length(x, 15)
    assert len(y) == 15 and np.all(y[10:] == 0) and np.all(y[:10] == 1)


def test_mix_puts_your_vocal_at_the_song_vocals_level():
    st = stems(3 * SR)
    quiet = 0.01 * np.sin(2 * np.pi * 330 * np.arange(3 * SR) / SR).astype(np.float32)
    out = cover.cover_mix(quiet, st)
    assert out.shape == st.instrumental.shape
    yours = out - st.instrumental * (out[:, 1] @ st.instrumental[:, 1]) / (st.instrumental[:, 1] @ st.instrumental[:, 1])
    assert abs(integrated_loudness(yours, SR) - integrated_loudness(st.vocals, SR)) < 0.5


def test_mix_never_clips_and_matches_the_song_length():
    st = stems(2 * SR, vocal_gain=0.9, band_gain=0.9)
    out = cover.cover_mix(np.ones(SR, np.float32) * 0.01, st)     # shorter vocal: padded to the song
    assert out.shape[0] == 2 * SR
    assert float(np.max(np.abs(out))) <= 10 ** (-1 / 20) + 1e-6


def test_separator_choices(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))     # no cached demucs model counts
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    assert cover.check_separator("classic") == "classic"
    for bad in (None, 3, ""):
        with pytest.raises(InvalidValueError):
            cover.check_separator(bad)
    with pytest.raises(InvalidValueError, match="no such model"):
        cover.check_separator("/nonexistent/model/folder")
    with pytest.raises(AlignSTSError, match="nothing is downloaded|pip install demucs"):
        cover.check_separator("demucs")
