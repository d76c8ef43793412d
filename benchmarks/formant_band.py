#!/usr/bin/env python
"""How well does the formant ratio read a voice's register, for each comparison band?

    python benchmarks/formant_band.py [--pairs-dir DIR] [--cache DIR]

Uses the 49 labelled speakers of benchmarks/key_generalise.py (built there, cached in --cache).
For every speaker's speech against the singing of every speaker made from the same person, the
true register difference is known: D = (that singer's speaking median - this speaker's) / 12
(octaves; a register is an octave of speaking pitch and REGISTER_FORMANT_RATIO in formants). The
register the formants read is rho = log(formant ratio) / log(key.REGISTER_FORMANT_RATIO). The
table gives, per band of key.FORMANT_BAND_HZ (starting at the melody's median pitch when that is
above 200 Hz, as key.voice_cues does; "before": 200-5000 Hz from 200 Hz, the previous setting),
the error rho - D over the 294 pairs of a person with a transformed self (sd, share beyond half a
register), the formant ratio of the seven real persons' own singing (should be ~1), and the real
persons crossed with each other, grouped by speaker and singer register (low = speaking median
below 165 Hz): one register apart should read about +-1, the same register about 0. The speech
envelopes (re-synthesised at the melody's pitch, as key.voice_cues does) are cached in --cache/formant_envelopes.npy.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from key_generalise import LOW_HZ, build  # noqa: E402
from reference_pairs import DEFAULT_PAIRS, pairs_or_none  # noqa: E402

BANDS = ((200.0, 5000.0), (200.0, 6000.0), (200.0, 7000.0), (200.0, 8000.0), (200.0, 10000.0))


def envelopes(speakers: list[dict], cache: Path) -> dict:
    """{'pairs': {(a, b): speech envelope at b's pitch [K]}, 'sing': {b: envelope [K]}} for every
    pair of one person and every pair of two real (untransformed) persons."""
    from alignsts.audio import world
    from alignsts.melody import key

    path = cache / "formant_envelopes.npy"
    if path.is_file():
        return np.load(path, allow_pickle=True).item()
    out = {"pairs": {}, "sing": {}}
    stem = {s["name"]: s["name"].replace("/", "_") for s in speakers}
    for a in speakers:
        frames = None
        for b in speakers:
            if a["person"] != b["person"] and not (a["setting"] == "orig" and b["setting"] == "orig"):
                continue
            if frames is None:
                frames = world.analyze(np.load(cache / f"{stem[a['name']]}_speech.npy"))
            f0 = np.load(cache / f"{stem[b['name']]}_singf0.npy")
            if b["name"] not in out["sing"]:
                out["sing"][b["name"]] = key.voiced_envelope(np.load(cache / f"{stem[b['name']]}_sing.npy"), f0)
            reg = key.median_semitones(f0) - key.median_semitones(frames.f0)
            out["pairs"][(a["name"], b["name"])] = key.speech_envelope_at(frames, reg)
        print(f"  envelopes of {a['name']}", flush=True)
    np.save(path, out, allow_pickle=True)
    return out


def band_row(speakers: list[dict], env: dict, band: tuple[float, float], from_pitch: bool = True) -> str:
    """One table row: the band from 200 Hz or (``from_pitch``, as key.voice_cues) from the melody's pitch."""
    from alignsts.melody import key

    by = {s["name"]: s for s in speakers}
    saved = key.FORMANT_BAND_HZ
    key.FORMANT_BAND_HZ = band
    try:
        err, own_real, cross = [], [], {}
        for (a, b), s_env in env["pairs"].items():
            f0_hz = key._hz(by[b]["sing_st"]) if from_pitch else None
            ratio, _ = key.formant_ratio(s_env, env["sing"][b], f0_hz=f0_hz)
            rho = math.log(ratio) / math.log(key.REGISTER_FORMANT_RATIO)
            A, B = by[a], by[b]
            if A["person"] == B["person"]:
                if a == b:
                    if A["setting"] == "orig":
                        own_real.append(ratio)
                else:
                    err.append(rho - (B["speech_st"] - A["speech_st"]) / 12.0)
            else:
                low_a, low_b = key._hz(A["speech_st"]) < LOW_HZ, key._hz(B["speech_st"]) < LOW_HZ
                cross.setdefault("one register apart" if low_a != low_b else "same register", []).append(
                    rho if low_a or low_a == low_b else -rho)
    finally:
        key.FORMANT_BAND_HZ = saved
    err = np.array(err)
    apart, same = np.array(cross["one register apart"]), np.array(cross["same register"])
    start = "the pitch" if from_pitch else f"(before) {band[0]:.0f} Hz"
    return (f"| {start} to {band[1]:.0f} Hz | {err.std():.2f} | {100 * np.mean(np.abs(err) > 0.5):.1f} % | "
            f"x{min(own_real):.2f}-{max(own_real):.2f} | {apart.mean():+.2f} +- {apart.std():.2f} | "
            f"{same.mean():+.2f} +- {same.std():.2f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/alignsts_key_generalise"))
    args = ap.parse_args(argv)
    pairs = pairs_or_none(args.pairs_dir)
    if pairs is None:
        return 2
    speakers = build(pairs, args.cache)
    env = envelopes(speakers, args.cache)
    n_err = sum(1 for a, b in env["pairs"] if a != b and a.split("/")[0] == b.split("/")[0])
    print()
    print(f"# Formant ratio against the true register difference ({n_err} transformed same-person pairs, "
          f"7 real persons)")
    print()
    print("| band | error sd (registers) | error > 0.5 | real own singing | real, one register apart "
          "(signed to +1) | real, same register |")
    print("|---|---|---|---|---|---|")
    print(band_row(speakers, env, (200.0, 5000.0), from_pitch=False))
    for band in BANDS:
        print(band_row(speakers, env, band))
    return 0


if __name__ == "__main__":
    sys.exit(main())
