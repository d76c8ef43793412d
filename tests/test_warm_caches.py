"""scripts/warm_caches.py (run by `make setup`): it leaves the compiled loops of a first long
conversion or song in numba's cache, so a user's first such run does not compile them."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_warm_up_fills_the_numba_cache(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"),
               PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "warm_caches.py")], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0 and "caches warmed" in proc.stdout, proc.stderr[-500:]
    cached = {p.name.split("-")[0] for p in (tmp_path / "numba").rglob("*.nbi")}
    assert {"dtw._accumulate_rows", "dtw._backtrack", "separate._viterbi_py"} <= cached, cached
    assert not list(ROOT.glob("*.wav")), "the warm-up writes nothing but caches"
