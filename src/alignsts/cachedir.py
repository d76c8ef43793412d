"""The user's cache folder for files alignsts derives once and reuses (converted weights, a
packed pronouncing dictionary, numba's compiled functions): $XDG_CACHE_HOME/alignsts
(default ~/.cache/alignsts), or ``ALIGNSTS_CACHE_DIR`` when set. Nothing here is an input or an
output of a conversion; everything in it can be deleted and is rebuilt on the next use."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(sub: str = "") -> Path | None:
    """The writable folder ``<cache>/<sub>`` (created), or None when it cannot be written."""
    base = os.environ.get("ALIGNSTS_CACHE_DIR")
    if not base:
        home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(home, "alignsts")
    folder = Path(base) / sub if sub else Path(base)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None
