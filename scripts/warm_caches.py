#!/usr/bin/env python
"""Build the caches a first conversion would otherwise build, once at install (`make setup` runs it).

    python scripts/warm_caches.py

numba compiles the long-input DTW and separator Viterbi loops on their first call and keeps them
on disk (``cache=True``; NUMBA_CACHE_DIR when set, else beside the sources): about 0.9 CPU s of a
user's first long conversion or `--song`. (Short conversions use no numba at all: align/dtw.py
fills small bands in numpy, audio/loudness.py convolves.) The speaker-embedding weights are converted to their .npz on first use
(audio/speaker.py) when the neural extra is installed. This script makes a tiny synthetic speech
and song (2 s, generated here: nothing is read or downloaded) and runs the reference engine with
loudness matching and the classic separator on them; nothing is written but the caches. Exit 0
whatever happens (a failure only means the first real run compiles instead): one line says what
was warmed.
"""
from __future__ import annotations

import sys
import time

import numpy as np

SR = 24000


def _voice(seconds: float, hz: float, syllables: float, seed: int) -> np.ndarray:
    """A harmonic voice with a gliding pitch and syllable-rate loudness: [N] float32 at SR."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = hz * 2.0 ** (np.sin(2 * np.pi * 0.7 * t) * 3 / 12)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * syllables * t) ** 2
    return (0.1 * x * env + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def warm() -> list[str]:
    """Run what compiles: -> the names of the parts that ran."""
    from alignsts import api
    from alignsts.align import dtw
    from alignsts.audio import level, separate

    done = []
    speech, sung = _voice(2.0, 120.0, 3.0, 0), _voice(2.0, 220.0, 2.0, 1)
    api.convert((speech, SR), reference=(sung, SR), loudness=level.TARGET_LUFS)
    done.append("reference engine + loudness")
    dtw.compile_loops()
    done.append("long-input alignment")
    band = 0.05 * np.sin(2 * np.pi * 110.0 * np.arange(len(sung)) / SR).astype(np.float32)
    separate.separate(np.stack([sung + band, sung + band], axis=1), SR)
    done.append("separator")
    return done


def main() -> int:
    t0 = time.process_time()
    try:
        done = warm()
    except Exception as e:   # noqa: BLE001  (never fail an install: the first run compiles instead)
        print(f"cache warm-up skipped ({type(e).__name__}: {e}); the first conversion compiles instead",
              file=sys.stderr)
        return 0
    print(f"caches warmed: {', '.join(done)} ({time.process_time() - t0:.1f} CPU s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
