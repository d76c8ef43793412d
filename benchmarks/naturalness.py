#!/usr/bin/env python
"""Does each engine's output behave like a sung phrase? (issue 19) On the real speech/singing pairs.

    python benchmarks/naturalness.py [--pairs-dir DIR] [--systems S ...] [--no-dnsmos] [--out-dir DIR]

Systems, for every pair folder (../shared/data/sts-pairs, see its README):
- ``real``: the person's real singing (sing.wav), the yardstick;
- ``published``: the authors' AlignSTS output (alignsts.wav, English pairs only);
- ``reference``: our reference engine after sing.wav (``api.convert(speech, reference=sing.wav)``);
- ``midi``: score engine, ``midi=`` a MIDI of sing.wav's notes (transcribed with
  melody.sources.from_recording and written as score_pairs.py does), ``transpose=0``;
- ``midi+lyrics``: the same with the README lyrics (``lyrics=``);
- ``score``: score engine, ``score=`` a MusicXML file of the same notes carrying the README
  lyrics, one syllable per note in order as ``--lyrics`` lays them (extra notes extend the last
  syllable, extra syllables share notes), written by this script (divisions 480 at 120 BPM).

Every output is taken at 24 kHz and scaled by a pure gain to -26 LUFS (equal loudness, no
peak limit). Columns (alignsts.eval.naturalness): DNSMOS P.835 OVRL change vs real singing
(speechmos' bundled ONNX models at 16 kHz; a speech-trained proxy), % exact digital silence
between the first and last sound (zero runs >= 1 ms), hard note-offs per second (level within
30 dB of the loud level falling > 30 dB within 10 ms; 5 ms RMS every 2.5 ms), the loudest
unvoiced stretch (Praat F0 = 0, >= 20 ms) against the median vowel (voiced frame) level, and the
share of note time (the transcribed notes) that is unvoiced. Exit code 0, or 2 without pairs.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from reference_pairs import DEFAULT_PAIRS, pairs_or_none

SYSTEMS = ["real", "published", "reference", "midi", "midi+lyrics", "score"]
EQUAL_LUFS = -26.0
TARGET_OVRL = {"midi": -0.30, "midi+lyrics": -0.30, "score": -0.40, "reference": -0.15}
TARGET_SILENCE = 0.002
TARGET_OFFS_RATIO = 2.0
TARGET_UNVOICED_DB = -3.0
XML_DIVISIONS = 480
XML_BPM = 120.0


def write_musicxml(notes, path: Path) -> None:
    """Notes (seconds, pitch, lyric, syllabic) -> a one-part MusicXML file at XML_BPM, rests in
    the gaps, durations in ticks of 1/XML_DIVISIONS quarter (one measure, no bar lines needed)."""
    per_s = XML_DIVISIONS * XML_BPM / 60.0
    steps = ["C", "C", "D", "D", "E", "F", "F", "G", "G", "A", "A", "B"]
    body, now = [], 0
    for x in notes:
        a, b = int(round(x.onset * per_s)), int(round(x.offset * per_s))
        a = max(a, now)
        if b <= a:
            continue
        if a > now:
            body.append(f"<note><rest/><duration>{a - now}</duration></note>")
        p = int(round(x.pitch))
        alter = "<alter>1</alter>" if steps[p % 12] == steps[(p - 1) % 12] else ""
        lyric = ""
        if x.lyric:
            lyric = (f"<lyric number=\"1\"><syllabic>{x.syllabic or 'single'}</syllabic>"
                     f"<text>{escape(x.lyric)}</text></lyric>")
        body.append(f"<note><pitch><step>{steps[p % 12]}</step>{alter}<octave>{p // 12 - 1}</octave></pitch>"
                    f"<duration>{b - a}</duration>{lyric}</note>")
        now = b
    xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<score-partwise version=\"3.1\"><part-list>"
           "<score-part id=\"P1\"><part-name>Voice</part-name></score-part></part-list><part id=\"P1\">"
           f"<measure number=\"1\"><attributes><divisions>{XML_DIVISIONS}</divisions></attributes>"
           f"<direction><sound tempo=\"{XML_BPM:g}\"/></direction>" + "".join(body) + "</measure></part></score-partwise>\n")
    path.write_text(xml, encoding="utf-8")


def outputs(pair_dir: Path, systems: list[str], lyrics: dict[str, str], tmp: Path):
    """(system, 24 kHz waveform or None, note) for the pair, and the transcribed notes."""
    from alignsts import api
    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.melody import notes as nt
    from alignsts.melody import sources
    from alignsts.melody.lyrics import put_lyrics
    from score_targets import write_midi

    pair = pair_dir.name
    sing = io.load(pair_dir / "sing.wav", fe.SAMPLE_RATE)
    melody = sources.from_recording(sing, where=f"{pair}/sing.wav", contour=False)
    midi = tmp / f"{pair}.mid"
    write_midi(melody.notes, midi)
    notes = nt.read_midi(midi)
    speech = pair_dir / "speech.wav"
    out = []
    for system in systems:
        try:
            if system == "real":
                wav = sing
            elif system == "published":
                f = pair_dir / "alignsts.wav"
                wav = io.load(f, fe.SAMPLE_RATE) if f.is_file() else None
            elif system == "reference":
                wav = api.convert(speech, reference=pair_dir / "sing.wav").wav
            elif system == "midi":
                wav = api.convert(speech, midi=midi, transpose=0).wav
            elif system == "midi+lyrics":
                wav = api.convert(speech, midi=midi, transpose=0, lyrics=lyrics[pair]).wav if pair in lyrics else None
            elif system == "score":
                if pair not in lyrics:
                    wav = None
                else:
                    worded, _ = put_lyrics(notes, lyrics[pair])
                    xml = tmp / f"{pair}.musicxml"
                    write_musicxml(worded, xml)
                    wav = api.convert(speech, score=xml, transpose=0).wav
            else:
                raise ValueError(system)
            out.append((system, wav, ""))
        except Exception as e:   # a benchmark reports, it does not stop
            out.append((system, None, f"{type(e).__name__}: {e}"))
    return out, notes


def equal_loudness(wav: np.ndarray, sr: int) -> np.ndarray:
    from alignsts.audio import level

    loud = level.integrated_loudness(wav, sr)
    return wav * level.db_to_gain(EQUAL_LUFS - loud) if np.isfinite(loud) else wav


def fmt(x, spec: str) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--systems", nargs="+", choices=SYSTEMS, default=SYSTEMS)
    ap.add_argument("--no-dnsmos", action="store_true")
    ap.add_argument("--out-dir", type=Path, default=None, help="also write <pair>_<system>.wav here")
    args = ap.parse_args(argv)
    pairs = pairs_or_none(args.pairs_dir)
    if pairs is None:
        return 2
    import score_targets as st

    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.eval import naturalness as nat

    logging.getLogger("alignsts").setLevel(logging.ERROR)
    systems = ["real"] + [s for s in args.systems if s != "real"]   # real singing is the yardstick
    lyrics = st.readme_lyrics(args.pairs_dir)
    sr = fe.SAMPLE_RATE
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    print("| pair | system | OVRL | OVRL change | silence % | hard offs /s | unvoiced peak dB | unvoiced note % |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for pair_dir in pairs:
            outs, notes = outputs(pair_dir, systems, lyrics, Path(tmp))
            real_ovrl = None
            for system, wav, err in outs:
                if wav is None:
                    if err:
                        print(f"| {pair_dir.name} | {system} | FAILED: {err} ||||||")
                    continue
                wav = equal_loudness(np.asarray(wav, dtype=np.float64), sr)
                m = nat.measure(wav, notes, with_dnsmos=not args.no_dnsmos)
                if system == "real":
                    real_ovrl = m.ovrl
                change = m.ovrl - real_ovrl if m.ovrl is not None and real_ovrl is not None else None
                rows.append({"pair": pair_dir.name, "system": system, "m": m, "change": change})
                print(f"| {pair_dir.name} | {system} | {fmt(m.ovrl, '.2f')} | {fmt(change, '+.2f')} | "
                      f"{100 * m.silence:.2f} | {m.hard_offs_per_s:.2f} | {fmt(m.unvoiced_peak_db, '+.1f')} | "
                      f"{fmt(100 * m.unvoiced_notes, '.1f')} |", flush=True)
                if args.out_dir is not None:
                    io.write_audio(args.out_dir / f"{pair_dir.name}_{system}.wav", wav.astype(np.float32), sr)
    print()
    print(f"## Means over pairs (equal loudness {EQUAL_LUFS:g} LUFS)")
    print()
    print("| system | pairs | OVRL change vs real singing | silence % (max) | hard offs /s | "
          "unvoiced peak dB (max) | unvoiced note % |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for system in systems:
        rs = [r for r in rows if r["system"] == system]
        if not rs:
            continue

        def mean(vals):
            vals = [v for v in vals if v is not None and np.isfinite(v)]
            return float(np.mean(vals)) if vals else None

        s = {"n": len(rs), "change": mean([r["change"] for r in rs]),
             "silence": mean([r["m"].silence for r in rs]), "silence_max": max(r["m"].silence for r in rs),
             "offs": mean([r["m"].hard_offs_per_s for r in rs]),
             "uv": mean([r["m"].unvoiced_peak_db for r in rs]),
             "uv_max": max((r["m"].unvoiced_peak_db for r in rs if np.isfinite(r["m"].unvoiced_peak_db)),
                           default=None),
             "uvn": mean([r["m"].unvoiced_notes for r in rs])}
        summary[system] = s
        print(f"| {system} | {s['n']} | {fmt(s['change'], '+.2f')} | {100 * s['silence']:.2f} "
              f"({100 * s['silence_max']:.2f}) | {s['offs']:.2f} | {fmt(s['uv'], '+.1f')} ({fmt(s['uv_max'], '+.1f')}) | "
              f"{fmt(None if s['uvn'] is None else 100 * s['uvn'], '.1f')} |")
    print()
    print("## Targets")
    real = summary.get("real")
    for system, s in summary.items():
        if system == "real":
            continue
        checks = []
        if system in TARGET_OVRL and s["change"] is not None:
            checks.append((s["change"] >= TARGET_OVRL[system], f"OVRL change {s['change']:+.2f} >= {TARGET_OVRL[system]:+.2f}"))
        if system in ("midi", "midi+lyrics", "score"):
            checks.append((s["silence_max"] <= TARGET_SILENCE,
                           f"silence max {100 * s['silence_max']:.2f} % <= {100 * TARGET_SILENCE:.1f} %"))
            if real is not None:
                lim = TARGET_OFFS_RATIO * real["offs"]
                checks.append((s["offs"] <= lim, f"hard offs {s['offs']:.2f}/s <= {lim:.2f}/s (2x real)"))
            checks.append((s["uv_max"] is not None and s["uv_max"] <= TARGET_UNVOICED_DB,
                           f"loudest unvoiced {fmt(s['uv_max'], '+.1f')} dB <= {TARGET_UNVOICED_DB:+.0f} dB (worst pair)"))
        for ok, text in checks:
            print(f"{'PASS' if ok else 'FAIL'}  {system}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
