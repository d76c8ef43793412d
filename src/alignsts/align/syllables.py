"""Syllables of speech (or singing) without text or language: loudness peaks of voiced sound.

In the spirit of de Jong & Wempe (2009): a syllable nucleus is a peak of the band-limited
loudness that is voiced and stands out from its surroundings by a few dB; boundaries
lie at the loudness dips between nuclei and at pauses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from ..audio import frontend as fe
from ..audio.frames import ms_to_frames, runs, smooth_frames
from ..validate import InvalidValueError, Range
from .features import active_frames


@dataclass
class SyllableConfig:
    band_hz: Annotated[tuple[float, float], Range(0, 12000)] = (300.0, 3500.0)   # where vowels carry their energy
    smooth_ms: Annotated[float, Range(0, 1000)] = 35.0
    prominence_db: Annotated[float, Range(0, 60)] = 3.0     # a nucleus rises this much above the dips around it
    min_distance_ms: Annotated[float, Range(0, 2000)] = 90.0  # nuclei closer than this are one syllable
    nucleus_db: Annotated[float, Range(0, 60)] = 7.0        # the vowel spans the voiced frames within this of the peak
    min_voiced_ms: Annotated[float, Range(0, 1000)] = 30.0

    def validate(self) -> None:
        # narrower than ~2 STFT bins (47 Hz each) the band holds no energy to find syllables in
        if not self.band_hz[1] - self.band_hz[0] >= 100:
            raise InvalidValueError(f"band_hz must be [low, high] with high - low >= 100 Hz, got {list(self.band_hz)}")


@dataclass(frozen=True)
class Syllable:
    """Frame indices on the front-end grid: [start, end) the syllable, [vowel_start, vowel_end)
    its voiced nucleus, peak its loudest frame."""
    start: int
    vowel_start: int
    vowel_end: int
    end: int
    peak: int

    @property
    def onset_frames(self) -> int:
        return self.vowel_start - self.start

    @property
    def coda_frames(self) -> int:
        return self.end - self.vowel_end


def band_loudness_db(mag: np.ndarray, band_hz: tuple[float, float], smooth: int) -> np.ndarray:
    """Smoothed band energy in dB: [T, K] -> [T]."""
    freqs = np.arange(mag.shape[1]) * fe.SAMPLE_RATE / fe.N_FFT
    sel = (freqs >= band_hz[0]) & (freqs < band_hz[1])
    return smooth_frames(10.0 * np.log10(fe.power_sum(mag, sel) + 1e-10), smooth)


def detect(mag: np.ndarray, f0: np.ndarray, cfg: SyllableConfig | None = None) -> list[Syllable]:
    """Syllables of a recording from its STFT magnitude [T, K] and F0 [T] (0 = unvoiced)."""
    from ..audio.dsp import find_peaks

    cfg = cfg or SyllableConfig()
    n = min(len(mag), len(f0))
    mag, f0 = mag[:n], np.asarray(f0[:n])
    loud = band_loudness_db(mag, cfg.band_hz, ms_to_frames(cfg.smooth_ms))
    active = active_frames(fe.frame_energy_db(mag))
    voiced = (f0 > 0) & active
    for a, b in runs(voiced):
        if b - a < ms_to_frames(cfg.min_voiced_ms):
            voiced[a:b] = False
    masked = np.where(voiced, loud, loud.min() - 60.0)
    peaks = find_peaks(masked, cfg.prominence_db, max(1, ms_to_frames(cfg.min_distance_ms)))
    peaks = [int(p) for p in peaks if voiced[p]]
    if not peaks:
        return []
    # syllable boundaries: the loudness dip between neighbouring nuclei, or a pause
    bounds = []
    for p, q in zip(peaks[:-1], peaks[1:]):
        gap = ~active[p:q]
        if gap.any():
            silent = runs(gap)
            a, b = max(silent, key=lambda r: r[1] - r[0])
            bounds.append((p + a, p + b))        # previous ends at the pause, next starts after it
        else:
            d = p + int(np.argmin(loud[p:q]))
            bounds.append((d, d))
    sylls = []
    for k, p in enumerate(peaks):
        start = bounds[k - 1][1] if k > 0 else _region_start(active, p)
        end = bounds[k][0] if k < len(bounds) else _region_end(active, p)
        v0 = p
        while v0 - 1 >= start and voiced[v0 - 1] and loud[v0 - 1] > loud[p] - cfg.nucleus_db:
            v0 -= 1
        v1 = p + 1
        while v1 < end and voiced[v1] and loud[v1] > loud[p] - cfg.nucleus_db:
            v1 += 1
        sylls.append(Syllable(start=start, vowel_start=v0, vowel_end=v1, end=max(end, v1), peak=p))
    return sylls


def _region_start(active: np.ndarray, p: int) -> int:
    while p > 0 and active[p - 1]:
        p -= 1
    return p


def _region_end(active: np.ndarray, p: int) -> int:
    while p < len(active) and active[p]:
        p += 1
    return p


# looser to stricter: (prominence dB, minimum distance ms) tried when a known number is wanted
COUNT_SEARCH = [(p, d) for p in (3.0, 2.5, 2.0, 4.0, 1.5, 5.0, 1.0, 6.0, 0.5) for d in (90.0, 70.0, 50.0, 120.0)]


def detect_count(mag: np.ndarray, f0: np.ndarray, n: int, cfg: SyllableConfig | None = None) -> list[Syllable] | None:
    """Syllables found without text when their number ``n`` is known (from the lyrics): the
    detector's prominence and spacing are varied, from the configured values outwards, until
    it finds exactly ``n``; None when no setting does."""
    from dataclasses import replace

    cfg = cfg or SyllableConfig()
    found = detect(mag, f0, cfg)
    if len(found) == n:
        return found
    for prominence, distance in COUNT_SEARCH:
        found = detect(mag, f0, replace(cfg, prominence_db=prominence, min_distance_ms=distance))
        if len(found) == n:
            return found
    return None
