#!/usr/bin/env python
"""Build test songs from the real pairs' singing: a band in the vocal's key under the vocal.

    python scripts/make_test_songs.py [--pairs-dir ../shared/data/sts-pairs] [--out /tmp/alignsts-songs]

Per pair, two songs (written to a scratch folder, never to the repository):
- ``<pair>-own``: the pair's own singing as the song's vocal (the speaker sings their own song);
- ``<pair>-other``: the same singing re-synthesised with WORLD as a voice of the other register
  (as benchmarks/cross_singer.py: a male speaker gets a "female" voice, F0 x2, formants x1.18; a
  female speaker a "male" one, F0 /2, formants x0.85): another singer of the same words.

Each song: a General-MIDI band (piano chords, string pad, bass, drums; I-V-vi-IV in the major
key that best covers the vocal's pitch classes, 90 BPM) written with mido and rendered by Debian's
``fluidsynth`` with ``fluid-soundfont-gm``; the vocal after a 1.5 s intro, with sox reverb, its
integrated loudness 3 LU over the band's; the sum at -1 dBFS peak, 44.1 kHz stereo, MP3.
``--stereo-reverb``: the vocal's reverb as most productions have it, a stereo return whose left
and right tails differ (sox reverb on a two-channel vocal; the direct sound stays in the centre),
instead of the mono reverb the songs have by default (``vocal_wet.wav`` is then stereo).
``--vocal-pan P``: the vocal placed between the channels (-1 all left, 0 the centre, the default;
constant power), as early stereo records have it.
Truth beside it: ``vocal_dry.wav`` and ``vocal_wet.wav`` (mono, on the song's timeline, at the
level they have in the mix), ``band.wav`` (stereo), ``meta.json``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

SR = 44100
INTRO_S = 1.5
OUTRO_S = 1.0
BPM = 90.0
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
MAJOR = (0, 2, 4, 5, 7, 9, 11)
PROGRESSION = ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj"))   # I V vi IV, semitones above the tonic


def vocal_key(f0: np.ndarray) -> int:
    """The major key (tonic pitch class 0-11) whose scale holds most of the voiced frames."""
    midi = 69 + 12 * np.log2(f0[f0 > 0] / 440.0)
    hist = np.bincount(np.round(midi).astype(int) % 12, minlength=12).astype(float)
    scores = [sum(hist[(t + d) % 12] for d in MAJOR) + 0.5 * hist[t] + 0.3 * hist[(t + 7) % 12] for t in range(12)]
    return int(np.argmax(scores))


def band_midi(path: Path, tonic: int, seconds: float) -> None:
    """A GM arrangement of ``seconds``: piano, strings, bass, drums on I-V-vi-IV in ``tonic`` major."""
    import mido

    tpb = 480
    beat_s = 60.0 / BPM
    bars = int(np.ceil(seconds / (4 * beat_s)))
    mid = mido.MidiFile(ticks_per_beat=tpb)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=int(round(beat_s * 1e6))))
    mid.tracks.append(meta)
    events: dict[int, list] = {0: [], 1: [], 2: [], 9: []}   # channel -> (tick, on/off, note, velocity)
    for bar in range(bars):
        root, kind = PROGRESSION[bar % 4]
        third = 3 if kind == "min" else 4
        base = 60 + (tonic + root) % 12 - (12 if (tonic + root) % 12 > 7 else 0)   # around middle C
        chord = [base, base + third, base + 7]
        t0 = bar * 4 * tpb
        for beat in range(4):   # piano: a chord on every beat, short
            for n in chord:
                events[0] += [(t0 + beat * tpb, 1, n, 62), (t0 + beat * tpb + tpb * 3 // 4, 0, n, 0)]
        for n in (chord[0] - 12, chord[1] - 12, chord[2]):   # strings: the whole bar
            events[1] += [(t0, 1, n, 48), (t0 + 4 * tpb - 10, 0, n, 0)]
        bass = 36 + (tonic + root) % 12
        for beat in (0, 2):
            events[2] += [(t0 + beat * tpb, 1, bass, 80), (t0 + (beat + 2) * tpb - 20, 0, bass, 0)]
        for eighth in range(8):   # drums: hi-hat eighths, kick on 1 and 3, snare on 2 and 4
            t = t0 + eighth * tpb // 2
            events[9] += [(t, 1, 42, 55), (t + tpb // 4, 0, 42, 0)]
            if eighth in (0, 4):
                events[9] += [(t, 1, 36, 90), (t + tpb // 4, 0, 36, 0)]
            if eighth in (2, 6):
                events[9] += [(t, 1, 38, 75), (t + tpb // 4, 0, 38, 0)]
    programs = {0: 0, 1: 48, 2: 33}
    for ch, evs in events.items():
        track = mido.MidiTrack()
        if ch in programs:
            track.append(mido.Message("program_change", channel=ch, program=programs[ch], time=0))
        last = 0
        for tick, on, note, vel in sorted(evs, key=lambda e: (e[0], e[1])):
            kind = "note_on" if on else "note_off"
            track.append(mido.Message(kind, channel=ch, note=note, velocity=vel, time=tick - last))
            last = tick
        mid.tracks.append(track)
    mid.save(str(path))


def render(mid: Path, wav: Path) -> np.ndarray:
    """fluidsynth -> stereo float32 [N, 2] at SR."""
    import soundfile as sf

    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(SR), "-F", str(wav), SOUNDFONT, str(mid)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    assert sr == SR
    return data


def reverb(vocal: np.ndarray, tmp: Path, stereo: bool = False) -> np.ndarray:
    """sox reverb (reverberance 30 %, wet -6 dB, dry kept): [N] -> [N, 2]; ``stereo``: reverberated
    as two channels, so the tails of left and right differ (else one mono reverb on both)."""
    import soundfile as sf

    src, dst = tmp / "dry.wav", tmp / "wet.wav"
    sf.write(str(src), np.stack([vocal, vocal], axis=1) if stereo else vocal, SR, subtype="FLOAT")
    subprocess.run(["sox", str(src), str(dst), "reverb", "30", "50", "40", "100", "0", "-6"], check=True)
    wet, _ = sf.read(str(dst), dtype="float32", always_2d=True)
    if not stereo:
        wet = wet.mean(axis=1, keepdims=True)
    out = np.zeros((len(vocal), 2), np.float32)
    out[: min(len(wet), len(out))] = wet[: len(out)]
    return out


def make_song(vocal_24k: np.ndarray, out_dir: Path, meta: dict, stereo_reverb: bool = False,
              vocal_pan: float = 0.0) -> None:
    import soundfile as sf

    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.audio.level import db_to_gain, integrated_loudness

    out_dir.mkdir(parents=True, exist_ok=True)
    tonic = vocal_key(fe.f0_praat(vocal_24k))
    vocal = io.resample(vocal_24k, fe.SAMPLE_RATE, SR)
    n = int(round((INTRO_S + len(vocal) / SR + OUTRO_S) * SR))
    dry = np.zeros(n, np.float32)
    dry[int(INTRO_S * SR): int(INTRO_S * SR) + len(vocal)] = vocal
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        band_midi(tmp / "band.mid", tonic, n / SR + 1.0)
        band = render(tmp / "band.mid", tmp / "band.wav")
        wet = reverb(dry, tmp, stereo_reverb)
    if vocal_pan:   # constant power: sqrt(2) (cos, sin) of (1 + pan) pi / 4, (1, 1) in the centre
        angle = (1.0 + vocal_pan) * np.pi / 4
        wet = wet * (np.sqrt(2.0) * np.array([np.cos(angle), np.sin(angle)], np.float32))
    band = np.pad(band, ((0, max(0, n - len(band))), (0, 0)))[:n]
    gain = db_to_gain(integrated_loudness(band, SR) + 3.0 - integrated_loudness(wet, SR))
    dry, wet = dry * gain, wet * gain
    song = band + wet
    if not stereo_reverb and not vocal_pan:
        wet = wet[:, 0]     # (a mono reverb in the centre: the truth stays one channel)
    scale = db_to_gain(-1.0) / float(np.max(np.abs(song)))
    song, band, dry, wet = song * scale, band * scale, dry * scale, wet * scale
    sf.write(str(out_dir / "song.mp3"), song, SR, format="MP3")
    sf.write(str(out_dir / "vocal_dry.wav"), dry, SR, subtype="FLOAT")
    sf.write(str(out_dir / "vocal_wet.wav"), wet, SR, subtype="FLOAT")
    sf.write(str(out_dir / "band.wav"), band, SR, subtype="FLOAT")
    names = "C C# D D# E F F# G G# A A# B".split()
    (out_dir / "meta.json").write_text(json.dumps({**meta, "key": f"{names[tonic]} major", "intro_s": INTRO_S,
                                                   "seconds": n / SR}, indent=1) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs-dir", default=str(ROOT.parent / "shared" / "data" / "sts-pairs"))
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "alignsts-songs"))
    ap.add_argument("--pairs", default="", help="comma-separated pair names (default: all)")
    ap.add_argument("--stereo-reverb", action="store_true",
                    help="the vocal's reverb in stereo (left and right tails differ), as most productions have it")
    ap.add_argument("--vocal-pan", type=float, default=0.0,
                    help="the vocal between the channels: -1 all left, 0 the centre (default), 1 all right")
    args = ap.parse_args(argv)
    if not -1.0 <= args.vocal_pan <= 1.0:
        print(f"--vocal-pan must be within -1..1, got {args.vocal_pan}", file=sys.stderr)
        return 2
    for tool in ("fluidsynth", "sox"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install fluidsynth fluid-soundfont-gm sox", file=sys.stderr)
            return 2
    if not Path(SOUNDFONT).exists():
        print(f"{SOUNDFONT} is missing: apt-get install fluid-soundfont-gm", file=sys.stderr)
        return 2
    pairs_dir = Path(args.pairs_dir)
    if not pairs_dir.is_dir():
        print(f"{pairs_dir}: no such folder", file=sys.stderr)
        return 2
    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from cross_singer import MALE_BELOW_HZ, TO_FEMALE, TO_MALE, other_register

    wanted = [p for p in args.pairs.split(",") if p]
    for pair in sorted(p for p in pairs_dir.iterdir() if (p / "sing.wav").exists()):
        if wanted and pair.name not in wanted:
            continue
        sing = io.load(pair / "sing.wav", fe.SAMPLE_RATE)
        speech = io.load(pair / "speech.wav", fe.SAMPLE_RATE)
        sf0 = fe.f0_praat(speech)
        male = float(np.median(sf0[sf0 > 0])) < MALE_BELOW_HZ
        f0_factor, formant = TO_FEMALE if male else TO_MALE
        make_song(sing, Path(args.out) / f"{pair.name}-own",
                  {"pair": pair.name, "kind": "own", "shift_to_speaker": 0.0}, args.stereo_reverb, args.vocal_pan)
        make_song(other_register(sing, f0_factor, formant), Path(args.out) / f"{pair.name}-other",
                  {"pair": pair.name, "kind": "other", "shift_to_speaker": -12.0 * np.log2(f0_factor)},
                  args.stereo_reverb, args.vocal_pan)
        print(f"{pair.name}: own and other-register songs in {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
