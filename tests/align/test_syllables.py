"""Syllable detection on small synthetic speech files of known syllable counts.

The files and their counts are listed in tests/assets/syllables/sentences.tsv (made by
scripts/make_test_assets.sh with espeak-ng). The detector gets the F0 the score engine
gives it: WORLD analysis (dio + stonemask) of the speech.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alignsts.align.syllables import Syllable, SyllableConfig, band_loudness_db, detect
from alignsts.audio import frontend as fe
from alignsts.audio import io, world

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "syllables"


def _sentences():
    rows = []
    for line in (ASSETS / "sentences.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        file, count, text = line.split("\t")
        rows.append((file, int(count), text))
    return rows


SENTENCES = _sentences()


def _detect(path, cfg=None):
    x = io.load(path)
    return detect(fe.stft_magnitude(x), world.analyze(x).f0, cfg), x


def test_assets_are_present_and_small():
    assert len(SENTENCES) >= 4
    total = 0
    for file, count, _ in SENTENCES:
        p = ASSETS / file
        assert p.is_file(), f"{p} missing: run bash scripts/make_test_assets.sh"
        total += p.stat().st_size
        assert 4 <= count <= 14
    assert total < 400_000


@pytest.mark.parametrize("file,count,text", SENTENCES, ids=[s[0] for s in SENTENCES])
def test_syllable_count(file, count, text):
    sylls, x = _detect(ASSETS / file)
    assert abs(len(sylls) - count) <= 1, f"{text!r}: {len(sylls)} syllables found, {count} spoken"
    _check_structure(sylls, fe.n_frames(len(x)))


def test_syllable_count_bundled_demo_speech():
    """'Twinkle twinkle little star, how I wonder what you are' (festival voice): 14 syllables."""
    from alignsts import api

    sylls, x = _detect(api.demo_files()[0])
    assert abs(len(sylls) - 14) <= 1
    _check_structure(sylls, fe.n_frames(len(x)))


def _check_structure(sylls, n):
    prev_end = 0
    for s in sylls:
        assert isinstance(s, Syllable)
        assert prev_end <= s.start <= s.vowel_start <= s.peak < s.vowel_end <= s.end <= n
        assert s.onset_frames == s.vowel_start - s.start and s.coda_frames == s.end - s.vowel_end
        prev_end = s.end


def test_min_distance_merges_nuclei():
    """A looser configuration finds fewer syllables (the count comes from the detector, not the file)."""
    file, count, _ = max(SENTENCES, key=lambda s: s[1])
    few, _ = _detect(ASSETS / file, SyllableConfig(min_distance_ms=400.0))
    assert len(few) < count - 3


def test_silence_and_unvoiced_noise_have_no_syllables():
    n = fe.SAMPLE_RATE
    silence = np.zeros(n, dtype=np.float32)
    assert detect(fe.stft_magnitude(silence), np.zeros(fe.n_frames(n))) == []
    noise = (0.2 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    assert detect(fe.stft_magnitude(noise), np.zeros(fe.n_frames(n))) == []


def test_separate_voiced_bursts_are_separate_syllables():
    """Three 'vowels' (harmonic tones) with pauses: three syllables, split at the pauses."""
    sr = fe.SAMPLE_RATE
    t = np.arange(int(0.25 * sr)) / sr
    vowel = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20)) * np.hanning(len(t))
    gap = np.zeros(int(0.15 * sr))
    x = np.concatenate([gap, vowel, gap, vowel, gap, vowel, gap]).astype(np.float32) * 0.2
    f0 = fe.f0_praat(x, official_shift=False)
    sylls = detect(fe.stft_magnitude(x), f0)
    assert len(sylls) == 3
    dt = fe.HOP / sr
    centres = [0.15 + 0.125 + k * 0.4 for k in range(3)]
    for s, c in zip(sylls, centres):
        assert abs(s.peak * dt - c) < 0.06
    for a, b in zip(sylls[:-1], sylls[1:]):
        assert (b.start - a.end) * dt > 0.05       # the pause lies between them


def test_band_loudness():
    mag = np.ones((10, fe.N_FFT // 2 + 1), dtype=np.float32)
    e = band_loudness_db(mag, (300.0, 3500.0), smooth=1)
    freqs = np.arange(mag.shape[1]) * fe.SAMPLE_RATE / fe.N_FFT
    k = int(np.sum((freqs >= 300) & (freqs < 3500)))
    np.testing.assert_allclose(e, 10 * np.log10(k + 1e-10), rtol=1e-6)
    assert band_loudness_db(mag * 10, (300.0, 3500.0), smooth=5) == pytest.approx(e + 20.0, abs=1e-4)


def test_detect_count_finds_the_known_number_or_says_none():
    from alignsts.align.syllables import detect_count

    hits = 0
    for file, count, _ in SENTENCES:
        x = io.load(ASSETS / file)
        mag, f0 = fe.stft_magnitude(x), world.analyze(x).f0
        found = detect_count(mag, f0, count)
        if found is not None:
            hits += 1
            assert len(found) == count
            assert all(a.end <= b.start + 1 for a, b in zip(found[:-1], found[1:]))
        assert detect_count(mag, f0, 200) is None          # far more than any setting finds
    assert hits >= len(SENTENCES) - 1
