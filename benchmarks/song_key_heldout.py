#!/usr/bin/env python
"""The key decision of `--song` on voices the song pipeline was not built on.

    python benchmarks/song_key_heldout.py [--pairs-dir DIR] [--cache DIR] [--songs DIR]
                                          [--settings W+3,W-3,P+5,P-5] [--band-f0-multiple K]

The 14 test songs of scripts/make_test_songs.py are made from the seven real pairs, which the
separator and the key decision were developed on. This makes more songs the same way from the
*transformed persons* of benchmarks/key_generalise.py (each real person's speech and singing
through WORLD +-3 st / PSOLA +-5 st with their formants; built there, cached in --cache), an own
and an other-register song per person (56 songs for the four default settings), and decides
each song's octave as `alignsts convert SPEECH --song SONG` does: the melody is the separator's F0
of the vocal (for the dry vocal, the reference engine's target_melody), the cues are the register, the formant
ratio of the speech (re-synthesised at the melody's pitch) against the separated vocal, and the
Resemblyzer cosine when installed; and once more with `--range` as `alignsts range` measures it from
the person's own singing. Right = the transposition equals the song's true shift (0 for
an own song, +-12 for an other-register one). The same decision with the dry vocal instead of the
separated one shows what the separation costs.

It also prints how much higher the separated vocal's formants read than the dry vocal's (log
of the ratio of the two formant ratios, per kind of song): the bias the band leaves in the stem.
--band-f0-multiple K also decides with the formants compared only up to K x the melody's median
F0 (tried with K=20 and not used: README, "A whole song").
Needs fluidsynth, fluid-soundfont-gm and sox (make sysdeps). Exit code 2 without the pairs.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_pairs import DEFAULT_PAIRS, pairs_or_none  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def person_folders(pairs: list[Path], cache: Path, out: Path, settings: list[str]) -> Path:
    """speech.wav / sing.wav of each transformed person (from key_generalise's cache, built
    there when missing) in out/<pair>_<setting>/: a pairs folder make_test_songs.py reads."""
    import soundfile as sf

    if not (cache / "speakers.json").is_file():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "key_generalise.py"), "--cache", str(cache),
                        "--pairs-dir", str(pairs[0].parent)], check=True)
    for p in pairs:
        for s in settings:
            folder = out / f"{p.name}_{s}"
            folder.mkdir(parents=True, exist_ok=True)
            for part in ("speech", "sing"):
                if not (folder / f"{part}.wav").is_file():
                    sf.write(str(folder / f"{part}.wav"), np.load(cache / f"{p.name}_{s}_{part}.npy").astype(np.float32),
                             24000)
    return out


def decide(speech: np.ndarray, voice: np.ndarray, top_multiple: float | None,
           sing_range: str | None = None, voice_f0: np.ndarray | None = None) -> tuple[dict, float]:
    """({(band, with embedding): transpose}, the formant ratio read over the full band), band
    'full' and (with top_multiple) 'band'; with ``sing_range`` (as `--range`) also ('range', False).
    ``voice_f0``: the voice's melody when known (a separated vocal: the separator's F0, as
    convert(song=...) uses it), else tracked as the reference engine does."""
    from alignsts.audio import world
    from alignsts.engines import reference as ref
    from alignsts.melody import key

    f0 = world.f0_dio(speech)
    frames = world.FrameAnalyzer(speech, f0, keep_all=True)
    melody = ref.target_melody(voice, ref.ReferenceConfig(), known=voice_f0)
    register = key.median_semitones(melody) - key.median_semitones(f0)
    hz = key._hz(key.median_semitones(melody))
    s_env, m_env = key.speech_envelope_at(frames, register), key.voiced_envelope(voice, melody)
    cosine = key.embedding_cosine(speech, voice) if key.embedding_available() else None
    out, full_ratio = {}, float("nan")
    band = key.FORMANT_BAND_HZ
    try:
        for name, top in (("full", band[1]), ("band", None if top_multiple is None else min(band[1], top_multiple * hz))):
            if top is None:
                continue
            key.FORMANT_BAND_HZ = (band[0], top)
            ratio, match = key.formant_ratio(s_env, m_env, f0_hz=hz)
            if name == "full":
                full_ratio = ratio
            for emb in (None, cosine) if cosine is not None else (None,):
                cues = key.VoiceCues(register, ratio, match, emb)
                out[(name, emb is not None)] = key.decide("auto", f0, melody, cues).transpose
            if name == "full" and sing_range is not None:
                out[("range", False)] = key.decide("auto", f0, melody, key.VoiceCues(register, ratio, match, None),
                                                   sing_range=sing_range).transpose
    finally:
        key.FORMANT_BAND_HZ = band
    return out, full_ratio


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/alignsts_key_generalise"))
    ap.add_argument("--songs", type=Path, default=Path("/tmp/alignsts-songs-heldout"))
    ap.add_argument("--settings", default="W+3,W-3,P+5,P-5")
    ap.add_argument("--band-f0-multiple", type=float, default=None)
    args = ap.parse_args(argv)
    pairs = pairs_or_none(args.pairs_dir)
    if pairs is None:
        return 2
    from alignsts import api
    from alignsts.audio import frontend as fe
    from alignsts.melody import key

    persons = person_folders(pairs, args.cache, args.songs / "persons", args.settings.split(","))
    songs = args.songs / "songs"
    if not songs.is_dir() or not any(songs.iterdir()):
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_test_songs.py"), "--pairs-dir", str(persons),
                        "--out", str(songs)], check=True)
    tally: dict = {}
    sung: dict = {}     # person -> their range as `alignsts range` measures it from their own singing
    for folder in sorted(p for p in persons.iterdir() if (p / "sing.wav").is_file()):
        sung[folder.name] = key.measure_range(fe.f0_praat(api.load_input(folder / "sing.wav", "singing"))).text
    bias: dict = {}     # kind -> log(formant ratio read on the separated vocal / on the dry vocal)
    for folder in sorted(p for p in songs.iterdir() if (p / "meta.json").is_file()):
        meta = json.loads((folder / "meta.json").read_text())
        speech = api.load_input(persons / meta["pair"] / "speech.wav", "speech")
        truth = meta["shift_to_speaker"]
        line = [f"{folder.name:24s} true shift {truth:+3.0f}"]
        ratios = {}
        stems = api.separate_song(str(folder / "song.mp3"))
        separated = stems.vocals.mean(axis=1)
        for source, voice, voice_f0 in (
                ("separated", separated, stems.vocal_f0(fe.n_frames(len(separated)), fe.HOP)),
                ("dry", api.load_input(folder / "vocal_dry.wav", "dry vocal"), None)):
            decisions, ratios[source] = decide(speech, voice, args.band_f0_multiple, sung[meta["pair"]], voice_f0)
            for (band, emb), t in decisions.items():
                ok = abs(t - truth) < 1
                tally.setdefault((source, band, emb, meta["kind"]), []).append(ok)
                line.append(f"{source[:3]}/{band}{'+emb' if emb else ''} {t:+3.0f}{'' if ok else ' X'}")
        bias.setdefault(meta["kind"], []).append(float(np.log(ratios["separated"] / ratios["dry"])))
        line.append(f"formants x{ratios['separated']:.2f} separated, x{ratios['dry']:.2f} dry")
        print(" | ".join(line), flush=True)
    print()
    print("| vocal | formant band | embedding | own songs kept | other-register songs moved right |")
    print("|---|---|---|---|---|")
    for source in ("separated", "dry"):
        for band in ("full", "band", "range"):
            for emb in (False, True):
                own, other = tally.get((source, band, emb, "own")), tally.get((source, band, emb, "other"))
                if own is None:
                    continue
                name = ("to 8 kHz" if band == "full" else "to 8 kHz, with --range from their own singing"
                        if band == "range" else f"to {args.band_f0_multiple:g} x F0")
                print(f"| {source} | {name} | {'Resemblyzer' if emb else 'none'} | {sum(own)}/{len(own)} | "
                      f"{sum(other)}/{len(other)} |")
    print()
    print("Formant ratio read on the separated vocal over the one read on the dry vocal (log units; 0 = no bias):")
    for kind, b in sorted(bias.items()):
        q = np.nanpercentile(b, [0, 10, 50, 90, 100])
        print(f"  {kind} songs ({len(b)}): min {q[0]:+.2f}, 10 % {q[1]:+.2f}, median {q[2]:+.2f}, "
              f"90 % {q[3]:+.2f}, max {q[4]:+.2f}; above +0.10 on {sum(x > 0.10 for x in b)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
