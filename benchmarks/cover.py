#!/usr/bin/env python
"""`--song`: a whole song in, your cover out, measured on songs built from the real pairs.

    python scripts/make_test_songs.py                      # once: /tmp/alignsts-songs
    python benchmarks/cover.py [--songs /tmp/alignsts-songs] [--pairs-dir DIR] [--baseline] [--long-minutes 4]
                               [--separator classic|demucs|PATH] [--stems-only] [--range-from-own-singing]

Per song (see scripts/make_test_songs.py: the pair's singing, or another-register voice of it,
with reverb, +3 LU over a General-MIDI band in its key, 1.5 s intro, MP3), the pair's speech is
converted with ``alignsts.convert(speech, song=song.mp3)`` (default settings, classic separator):
- RCA: raw chroma accuracy of OUT's F0 against the song's dry vocal (same timeline);
- RPA: raw pitch accuracy against where the speaker really sang: their own singing on the song's
  timeline (for "other" songs the song's singer is an octave away: this is the octave check);
- octave right: the share of the frames voiced in both where OUT is within half an octave of that
  real singing (the target for other singers: >= 0.85);
- SI-SDR (dB) of the separated instrumental against the true band and of the vocal stem against
  the vocal as mixed (with its reverb), mono at 24 kHz; the song itself scores "mix";
- length errors of OUT and the mix against the song (ms); time per minute of song (wall s).
``--baseline`` adds librosa's REPET-SIM recipe (nearest-neighbour filter, its documented soft
masks; librosa is a dev extra) and the song given as ``--reference`` (what a user tried before).
``--long-minutes M`` times one M-minute song (a song and its speech tiled) end to end.
``--range-from-own-singing`` converts with ``--range`` measured by `alignsts range` from the speaker's
own singing (what a user who ran it once gets). ``--separator`` measures a learned separator (models on disk, as `--separator` of the CLI) instead of
the classic one; ``--stems-only`` separates and scores the stems only (no conversion): SI-SDR and
seconds of separation per minute of song.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SR = 24000


def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    n = min(len(est), len(ref))
    est, ref = np.asarray(est[:n], np.float64), np.asarray(ref[:n], np.float64)
    a = np.dot(est, ref) / np.dot(ref, ref)
    e = a * ref
    return float(10 * np.log10(np.sum(e ** 2) / np.sum((est - e) ** 2)))


def mono24(path: Path) -> np.ndarray:
    import soundfile as sf

    from alignsts.audio import io

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return io.resample(data.mean(axis=1), sr, SR)


def on_timeline(wav: np.ndarray, offset_s: float, n: int) -> np.ndarray:
    out = np.zeros(n, np.float32)
    a = int(round(offset_s * SR))
    m = min(len(wav), n - a)
    out[a:a + m] = wav[:m]
    return out


def octave_right(ref_f0: np.ndarray, est_f0: np.ndarray) -> float:
    """Share of the frames voiced in both where ``est`` is within half an octave of ``ref``."""
    n = min(len(ref_f0), len(est_f0))
    both = (ref_f0[:n] > 0) & (est_f0[:n] > 0)
    if not both.any():
        return float("nan")
    return float(np.mean(np.abs(1200 * np.log2(est_f0[:n][both] / ref_f0[:n][both])) < 600))


def librosa_repet_sim(song: np.ndarray) -> np.ndarray:
    """librosa's documented vocal separation recipe (REPET-SIM): -> instrumental [N]."""
    import librosa

    S_full, phase = librosa.magphase(librosa.stft(song))
    S_filter = librosa.decompose.nn_filter(S_full, aggregate=np.median, metric="cosine",
                                           width=int(librosa.time_to_frames(2, sr=SR)))
    S_filter = np.minimum(S_full, S_filter)
    mask_i = librosa.util.softmask(S_filter, 2 * (S_full - S_filter), power=2)
    return librosa.istft(mask_i * S_full * phase, length=len(song))


def stems_only(folder: Path, separator: str) -> dict:
    """Separation alone: SI-SDR of both stems (mono, 24 kHz) and seconds per minute of song."""
    from alignsts.audio import io
    from alignsts.engines import cover

    song24 = io.load_channels(folder / "song.mp3", SR)
    n = len(song24)
    t0 = time.perf_counter()
    st = cover.separate_song(song24, SR, separator)
    wall = time.perf_counter() - t0
    band, wet = mono24(folder / "band.wav")[:n], mono24(folder / "vocal_wet.wav")[:n]
    return {"song": folder.name, "sisdr_inst": si_sdr(st.instrumental.mean(axis=1), band),
            "sisdr_voc": si_sdr(st.vocals.mean(axis=1), wet), "sisdr_mix": si_sdr(song24.mean(axis=1), band),
            "s_per_min": wall / (n / SR / 60)}


@functools.lru_cache(maxsize=None)
def own_range(pair: Path) -> str:
    """The speaker's range as `alignsts range` measures it from their own singing (sing.wav;
    measured once per pair, though two songs use it)."""
    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.melody import key

    return key.measure_range(fe.f0_praat(io.load(pair / "sing.wav", SR))).text


def run_song(folder: Path, pairs_dir: Path, baseline: bool, separator: str = "classic",
             with_range: bool = False) -> dict:
    """One song converted with default settings (``with_range``: plus --range measured from the
    speaker's own singing) and scored."""
    from alignsts import api
    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.eval import metrics

    meta = json.loads((folder / "meta.json").read_text())
    pair = pairs_dir / meta["pair"]
    song = folder / "song.mp3"
    mix = mono24(song)
    n = len(mix)
    t0 = time.perf_counter()
    res = api.convert(pair / "speech.wav", song=song, separator=separator,
                      range=own_range(pair) if with_range else None)
    wall = time.perf_counter() - t0
    out_f0 = fe.f0_praat(res.wav)
    dry = mono24(folder / "vocal_dry.wav")[:n]
    wet = mono24(folder / "vocal_wet.wav")[:n]
    band = mono24(folder / "band.wav")[:n]
    real = on_timeline(io.load(pair / "sing.wav", SR), meta["intro_s"], n)
    dry_f0, real_f0 = fe.f0_praat(dry), fe.f0_praat(real)
    rec = {"song": folder.name, "kind": meta["kind"], "seconds": n / SR,
           "rca": metrics.rca(dry_f0, out_f0), "rpa_real": metrics.raw_pitch_accuracy(real_f0, out_f0),
           "octave_real": octave_right(real_f0, out_f0),
           "sisdr_inst": si_sdr(res.stems.instrumental.mean(axis=1), band),
           "sisdr_voc": si_sdr(res.stems.vocals.mean(axis=1), wet), "sisdr_mix": si_sdr(mix, band),
           "len_out_ms": 1000 * (len(res.wav) - n) / SR, "len_mix_ms": 1000 * (len(res.mix) - n) / SR,
           "mix_peak_dbfs": float(20 * np.log10(np.max(np.abs(res.mix)))),
           "s_per_min": wall / (n / SR / 60), "transpose": float(res.analysis.transpose)}
    if baseline:
        rec["sisdr_inst_librosa"] = si_sdr(librosa_repet_sim(mix), band)
        base = api.convert(pair / "speech.wav", reference=song)
        base_f0 = fe.f0_praat(base.wav)
        rec["rca_song_as_reference"] = metrics.rca(dry_f0, base_f0)
        rec["rpa_song_as_reference"] = metrics.raw_pitch_accuracy(real_f0, base_f0)
    return rec


def long_song(folder: Path, pairs_dir: Path, minutes: float, separator: str = "classic") -> dict:
    """One ``minutes``-long song (song and speech tiled) converted end to end; wall times."""
    import soundfile as sf

    from alignsts import api
    from alignsts.engines import cover

    meta = json.loads((folder / "meta.json").read_text())
    pair = pairs_dir / meta["pair"]
    data, sr = sf.read(str(folder / "song.mp3"), dtype="float32", always_2d=True)
    reps = int(np.ceil(minutes * 60 * sr / len(data)))
    speech, ssr = sf.read(str(pair / "speech.wav"), dtype="float32")
    with tempfile.TemporaryDirectory() as t:
        song_path, speech_path = Path(t) / "long.mp3", Path(t) / "speech.wav"
        sf.write(str(song_path), np.tile(data, (reps, 1))[: int(minutes * 60 * sr)], sr, format="MP3")
        sf.write(str(speech_path), np.tile(speech, reps), ssr)
        from alignsts.audio import io

        song24 = io.load_channels(song_path, SR)
        t0 = time.perf_counter()
        cover.separate_song(song24, SR, separator)
        t_sep = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = api.convert(speech_path, song=song_path, separator=separator)
        t_all = time.perf_counter() - t0
    return {"minutes": minutes, "separate_s": t_sep, "convert_s": t_all,
            "len_err_ms": 1000 * (len(res.wav) - len(song24)) / SR}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", default=str(Path(tempfile.gettempdir()) / "alignsts-songs"))
    ap.add_argument("--pairs-dir", default=str(ROOT.parent / "shared" / "data" / "sts-pairs"))
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--long-minutes", type=float, default=0.0)
    ap.add_argument("--only", default="", help="comma-separated song names")
    ap.add_argument("--separator", default="classic", help="classic, demucs, demucs:NAME or a model path")
    ap.add_argument("--stems-only", action="store_true", help="separate and score the stems only")
    ap.add_argument("--range-from-own-singing", action="store_true",
                    help="convert with --range as `alignsts range` measures it from the speaker's own singing")
    args = ap.parse_args(argv)
    songs = sorted(p for p in Path(args.songs).glob("*") if (p / "meta.json").exists())
    if args.only:
        songs = [p for p in songs if p.name in args.only.split(",")]
    if not songs:
        print(f"no songs in {args.songs}: run scripts/make_test_songs.py first")
        return 2
    pairs_dir = Path(args.pairs_dir)
    if args.stems_only:
        print(f"separator: {args.separator}\n\n| song | SI-SDR inst / vocal / mix (dB) | s per min of song |\n|---|---|---|")
        rows = [stems_only(folder, args.separator) for folder in songs]
        for r in rows:
            print(f"| {r['song']} | {r['sisdr_inst']:.2f} / {r['sisdr_voc']:.2f} / {r['sisdr_mix']:.2f} | "
                  f"{r['s_per_min']:.1f} |")
        mean = {k: float(np.mean([r[k] for r in rows])) for k in ("sisdr_inst", "sisdr_voc", "sisdr_mix", "s_per_min")}
        print(f"| **mean ({len(rows)})** | {mean['sisdr_inst']:.2f} / {mean['sisdr_voc']:.2f} / "
              f"{mean['sisdr_mix']:.2f} | {mean['s_per_min']:.1f} |")
        return 0
    rows = []
    head = ("| song | RCA vs song vocal | RPA vs own singing | octave right | transpose | SI-SDR inst / vocal / mix (dB) "
            "| length OUT / mix (ms) | mix peak (dBFS) | s per min of song |")
    if args.baseline:
        head += " librosa REPET-SIM inst (dB) | song as --reference: RCA / RPA |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for folder in songs:
        r = run_song(folder, pairs_dir, args.baseline, args.separator, args.range_from_own_singing)
        rows.append(r)
        line = (f"| {r['song']} | {r['rca']:.3f} | {r['rpa_real']:.3f} | {r['octave_real']:.3f} | {r['transpose']:+g} | "
                f"{r['sisdr_inst']:.2f} / {r['sisdr_voc']:.2f} / {r['sisdr_mix']:.2f} | "
                f"{r['len_out_ms']:+.1f} / {r['len_mix_ms']:+.1f} | {r['mix_peak_dbfs']:.2f} | {r['s_per_min']:.1f} |")
        if args.baseline:
            line += (f" {r['sisdr_inst_librosa']:.2f} | {r['rca_song_as_reference']:.3f} / "
                     f"{r['rpa_song_as_reference']:.3f} |")
        print(line, flush=True)
    for kind in ("own", "other"):
        sel = [r for r in rows if r["kind"] == kind]
        if not sel:
            continue
        mean = {k: float(np.mean([r[k] for r in sel])) for k in sel[0] if isinstance(sel[0][k], float)}
        line = (f"| **mean, {kind} ({len(sel)})** | {mean['rca']:.3f} | {mean['rpa_real']:.3f} | "
                f"{mean['octave_real']:.3f} | | "
                f"{mean['sisdr_inst']:.2f} / {mean['sisdr_voc']:.2f} / {mean['sisdr_mix']:.2f} | "
                f"max {max(abs(r['len_out_ms']) for r in sel):.1f} / {max(abs(r['len_mix_ms']) for r in sel):.1f} | "
                f"max {max(r['mix_peak_dbfs'] for r in sel):.2f} | {mean['s_per_min']:.1f} |")
        if args.baseline:
            line += (f" {mean['sisdr_inst_librosa']:.2f} | {mean['rca_song_as_reference']:.3f} / "
                     f"{mean['rpa_song_as_reference']:.3f} |")
        print(line)
    allr = rows
    print(f"\nall {len(allr)} songs: instrumental SI-SDR mean {np.mean([r['sisdr_inst'] for r in allr]):.2f} dB "
          f"(min {np.min([r['sisdr_inst'] for r in allr]):.2f}), vocal {np.mean([r['sisdr_voc'] for r in allr]):.2f} dB, "
          f"mix {np.mean([r['sisdr_mix'] for r in allr]):.2f} dB")
    if args.long_minutes > 0:
        lr = long_song(songs[0], pairs_dir, args.long_minutes, args.separator)
        print(f"\n{lr['minutes']:g}-minute song: separation {lr['separate_s']:.1f} s, whole conversion "
              f"{lr['convert_s']:.1f} s, OUT length error {lr['len_err_ms']:+.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
