#!/usr/bin/env python
"""The classic separator alone, per song set: its F0 against the dry vocal's and the stems' SI-SDR.

    python benchmarks/separator_f0.py [--songs DIR ...] [--set NAME=VALUE ...] [--per-song]

Songs: folders made by scripts/make_test_songs.py (song.mp3, vocal_dry.wav, vocal_wet.wav,
band.wav, meta.json); default /tmp/alignsts-songs. ``--set`` overrides a SeparatorConfig field
(e.g. ``--set stereo_weight=0 --set stereo_mask=0``: without the stereo cue). Per own / other
songs of each folder:

- F0 RCA: chroma accuracy (mir_eval's raw chroma accuracy, eval.metrics.rca) of the separator's
  F0 (Stems.f0 on the front-end's frames, as --song uses it) against Praat's F0 of the dry vocal;
- voiced where the singer is not: the share of the dry vocal's unvoiced frames where that F0 is
  voiced (a cover then sings through the singer's gaps); voicing F1 (eval.metrics.voicing_f1);
- SI-SDR of the instrumental against the true band and of the vocal stem against the vocal as
  mixed (mono, 24 kHz), as benchmarks/cover.py computes them.
Exit code: 0, or 2 when a folder holds no songs.
"""
from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import fields
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cover import mono24, si_sdr  # noqa: E402

SR = 24000


def parse_sets(items: list[str]) -> dict:
    """['stereo_weight=0', ...] -> {'stereo_weight': 0.0, ...} (typed as the SeparatorConfig field)."""
    from alignsts.audio.separate import SeparatorConfig

    types = {f.name: type(getattr(SeparatorConfig(), f.name)) for f in fields(SeparatorConfig)}
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in types:
            raise SystemExit(f"--set {item}: SeparatorConfig has no field {name!r}")
        kind = types[name]
        out[name] = (value.lower() in ("1", "true", "yes")) if kind is bool else kind(value)
    return out


def score(args: tuple[Path, dict]) -> dict:
    """One song folder -> its numbers (see the module docstring)."""
    folder, overrides = args
    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.audio import separate as sep
    from alignsts.engines.cover import SongStems
    from alignsts.eval import metrics

    song = io.load_channels(folder / "song.mp3", SR)
    n = len(song)
    st = sep.separate(song, SR, sep.SeparatorConfig(threads=1, **overrides))
    dry = fe.f0_track(mono24(folder / "vocal_dry.wav")[:n])
    f0 = SongStems(st.vocals, st.instrumental, SR, st.f0, st.hop).vocal_f0(len(dry), fe.HOP)
    unvoiced = dry <= 0
    return {"song": folder.name, "kind": json.loads((folder / "meta.json").read_text())["kind"],
            "rca": metrics.rca(dry, f0), "voiced_in_gaps": float(np.mean(f0[unvoiced] > 0)) if unvoiced.any() else 0.0,
            "voicing_f1": metrics.voicing_f1(dry, f0),
            "instrumental": si_sdr(st.instrumental.mean(axis=1), mono24(folder / "band.wav")[:n]),
            "vocal": si_sdr(st.vocals.mean(axis=1), mono24(folder / "vocal_wet.wav")[:n])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", nargs="+", default=["/tmp/alignsts-songs"])
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--per-song", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    overrides = parse_sets(args.set)
    print(f"SeparatorConfig overrides: {overrides or 'none'}\n")
    print("| songs | n | F0 RCA | voiced where the singer is not | voicing F1 | SI-SDR instrumental / vocal (dB) |")
    print("|---|---|---|---|---|---|")
    for root in map(Path, args.songs):
        folders = sorted(p for p in root.iterdir() if (p / "song.mp3").exists()) if root.is_dir() else []
        if not folders:
            print(f"{root}: no songs (make them with scripts/make_test_songs.py)", file=sys.stderr)
            return 2
        with ProcessPoolExecutor(max(1, args.workers)) as ex:
            rows = list(ex.map(score, [(f, overrides) for f in folders]))
        for kind in ("own", "other"):
            r = [x for x in rows if x["kind"] == kind]
            if r:
                mean = {k: float(np.mean([x[k] for x in r])) for k in ("rca", "voiced_in_gaps", "voicing_f1",
                                                                        "instrumental", "vocal")}
                print(f"| {root.name}, {kind} | {len(r)} | {mean['rca']:.3f} | {mean['voiced_in_gaps']:.3f} | "
                      f"{mean['voicing_f1']:.3f} | {mean['instrumental']:.2f} / {mean['vocal']:.2f} |")
        if args.per_song:
            for x in rows:
                print(f"|   {x['song']} | 1 | {x['rca']:.3f} | {x['voiced_in_gaps']:.3f} | {x['voicing_f1']:.3f} | "
                      f"{x['instrumental']:.2f} / {x['vocal']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
