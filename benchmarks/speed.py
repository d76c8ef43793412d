#!/usr/bin/env python
"""Whole-process cost of a conversion against a bare WORLD resynthesis of the same file, peak
memory, import cost of the light commands, and in-process real-time factors.

    python benchmarks/speed.py [--pair en-nhss-2] [--runs 3] [--long-minutes 30] [--skip-long]
                               [--skip-in-process] [--src OTHER_CHECKOUT/src] [--song SONG | --no-song]

Whole-process rows (each a fresh ``python -m alignsts ...`` process, median of --runs):
  world      bare WORLD analysis + resynthesis of the pair's sing.wav in its own process, in this
             venv: soundfile read, soxr resample to 24 kHz, pyworld dio/stonemask/cheaptrick/d4c,
             synthesize, soundfile write. Every other row is divided by it.
  reference  ``alignsts convert speech.wav --reference sing.wav -o out.wav``
  lyrics     ``alignsts convert speech.wav --notes tune.txt --lyrics "..." -o out.wav`` (score
             engine; tune.txt: the notes transcribed from sing.wav, written once before timing)
  song       ``alignsts convert speech.wav --song song.mp3 -o out.wav`` (separation + reference
             engine + mix; --song, default: the pair's own test song of scripts/make_test_songs.py
             in /tmp/alignsts-songs, made there first when missing); divided by a bare WORLD
             resynthesis of the song file itself (the "bare WORLD resynthesis (song)" row)
  melody     ``alignsts convert speech.wav --melody-from sing.wav -o out.wav`` (score engine on the
             melody of a recording: its key decision weighs a voice, so the embedding may be skipped)
  version    ``alignsts --version`` (absolute target < 0.3 s)
CPU s (user + system of the process and its children) moves less with other load than wall time.
Peak memory is the largest resident set of the process and the children it waited for
(os.wait4). In-process RTF: one warm-up conversion, then the timed one, in a fresh child
process, for the reference engine at the pair's length and tiled to --long-minutes, and for the
score engine on the transcribed notes. RTF = wall seconds / output seconds. A busy machine
raises all times; the ratios move less. Targets (issue 21, idle 2-core machine): reference
<= 1.5x, lyrics <= 1.8x, --version < 0.3 s, RTF <= 0.05.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAIRS = ROOT.parent / "shared" / "data" / "sts-pairs"
MARK = "@@RESULT@@ "
SRC = [ROOT / "src"]      # the alignsts source tree measured (--src: another checkout, e.g. before a change)
LYRICS = {"en-nhss-2": "you're giving me a million reasons to let you go, you're giving me a million "
                       "reasons to quit the show",
          "en-nhss-8": "there's a fire starting in my heart reaching a fever pitch and bringing me out the dark"}

WORLD_SCRIPT = r"""
import sys
import numpy as np, soundfile as sf, soxr, pyworld as pw
wav, sr = sf.read(sys.argv[1], dtype="float64", always_2d=True)
x = soxr.resample(wav.mean(axis=1), sr, 24000, quality="HQ").astype(np.float64)
period = 1000.0 * 128 / 24000
f0, t = pw.dio(x, 24000, f0_floor=50.0, f0_ceil=1100.0, frame_period=period)
f0 = pw.stonemask(x, f0, t, 24000)
sp = pw.cheaptrick(x, f0, t, 24000)
ap = pw.d4c(x, f0, t, 24000)
y = pw.synthesize(f0, sp, ap, 24000, frame_period=period)
sf.write(sys.argv[2], y.astype(np.float32), 24000)
"""


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(SRC[0]) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def timed(cmd: list[str], expect: int = 0) -> tuple[float, float, int, float]:
    """Run ``cmd``: (wall s, peak RSS MiB of it and its waited children, return code, CPU s
    (user + system) of it and its waited children)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env())
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != expect:
        sys.stderr.write(f"{' '.join(map(str, cmd))} -> {proc.returncode}: {err.decode()[-400:]}\n")
    return wall, usage.ru_maxrss / 1024, proc.returncode, usage.ru_utime + usage.ru_stime


def median_run(cmd: list[str], runs: int, expect: int = 0) -> dict:
    got = [timed(cmd, expect) for _ in range(runs)]
    return {"wall": statistics.median(g[0] for g in got), "rss": max(g[1] for g in got),
            "ok": all(g[2] == expect for g in got), "cpu": statistics.median(g[3] for g in got)}


SONGS = Path(tempfile.gettempdir()) / "alignsts-songs"


def test_song(args) -> Path | None:
    """The song file for the --song row: --song, else the pair's own test song, made (untimed, by
    scripts/make_test_songs.py, which needs fluidsynth and sox) when it is not there yet."""
    if args.no_song:
        return None
    if args.song:
        return args.song
    song = SONGS / f"{args.pair}-own" / "song.mp3"
    if not song.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_test_songs.py"), "--pairs-dir",
                        str(args.pairs_dir), "--out", str(SONGS), "--pairs", args.pair], check=False, env=env())
    return song if song.exists() else None


def write_notes(sing: Path, path: Path) -> None:
    """The notes of ``sing`` (transcribed by alignsts) as a note list, written once, untimed, by a
    child process (this process stays small: a forked child starts with its parent's RSS)."""
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--src", str(SRC[0]), "--write-notes", str(sing),
                    str(path)],
                   check=True, env=env())


def _write_notes(sing: Path, path: Path) -> None:
    from alignsts.api import load_melody

    melody = load_melody(melody_from=str(sing))
    lines, t = [], 0.0
    for n in melody.notes:
        if n.onset > t + 1e-3:
            lines.append(f"rest {n.onset - t:.3f}")
        lines.append(f"{n.pitch:.0f} {n.offset - n.onset:.3f}")
        t = n.offset
    path.write_text("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- in-process child
def child(args) -> None:
    import numpy as np

    from alignsts.audio import frontend as fe
    from alignsts.audio import io

    pair = Path(args.pairs_dir) / args.pair
    speech, sing = io.load(pair / "speech.wav", fe.SAMPLE_RATE), io.load(pair / "sing.wav", fe.SAMPLE_RATE)
    if args.child == "score":
        from alignsts import api

        from alignsts.audio import level

        def run(s):
            return api.convert((s, fe.SAMPLE_RATE), notes=str(args.notes_file),
                               lyrics=LYRICS.get(args.pair), loudness=level.TARGET_LUFS).wav
        y0 = run(speech)
        t0 = time.perf_counter()
        y = run(speech)
    else:
        from alignsts import api
        from alignsts.audio import level

        def run(s, r):
            return api.convert((s, fe.SAMPLE_RATE), reference=(r, fe.SAMPLE_RATE), loudness=level.TARGET_LUFS).wav
        y0 = run(speech, sing)   # warm-up (first calls, numba caches)
        k = max(1, int(np.ceil(args.child_minutes * 60 * fe.SAMPLE_RATE / len(sing)))) if args.child_minutes else 1
        s, r = (np.tile(speech, k), np.tile(sing, k)) if k > 1 else (speech, sing)
        t0 = time.perf_counter()
        y = run(s, r)
    wall = time.perf_counter() - t0
    import resource

    del y0
    print(MARK + json.dumps({"wall": wall, "out_s": len(y) / fe.SAMPLE_RATE,
                             "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)


def in_process(case: str, minutes: float, args, notes_file: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--src", str(SRC[0]), "--child", case,
           "--child-minutes", str(minutes),
           "--pairs-dir", str(args.pairs_dir), "--pair", args.pair, "--notes-file", str(notes_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env())
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    sys.stderr.write(proc.stderr[-800:])
    return {"wall": float("nan"), "out_s": float("nan"), "rss": float("nan")}


# ---------------------------------------------------------------------------- parent
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--pair", default="en-nhss-2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--long-minutes", type=float, default=30.0)
    ap.add_argument("--skip-long", action="store_true", help="no in-process run at --long-minutes")
    ap.add_argument("--skip-in-process", action="store_true")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the alignsts source folder to measure")
    ap.add_argument("--song", type=Path, help="the song for the --song row (default: the pair's own test song)")
    ap.add_argument("--no-song", action="store_true", help="no --song row")
    ap.add_argument("--child", choices=("reference", "score"), help=argparse.SUPPRESS)
    ap.add_argument("--child-minutes", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--notes-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--write-notes", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    SRC[0] = args.src.resolve()
    if args.write_notes:
        _write_notes(*args.write_notes)
        return 0
    if args.child:
        child(args)
        return 0

    pair = args.pairs_dir / args.pair
    speech, sing = pair / "speech.wav", pair / "sing.wav"
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        notes = tmp / "tune.txt"
        write_notes(sing, notes)
        (tmp / "world.py").write_text(WORLD_SCRIPT)
        lyrics = LYRICS.get(args.pair, "la " * 20)
        rows = {
            "bare WORLD resynthesis": [py, str(tmp / "world.py"), str(sing), str(tmp / "w.wav")],
            "convert --reference": [py, "-m", "alignsts", "convert", str(speech), "--reference", str(sing),
                                    "-o", str(tmp / "r.wav")],
            "convert --notes --lyrics": [py, "-m", "alignsts", "convert", str(speech), "--notes", str(notes),
                                         "--lyrics", lyrics, "-o", str(tmp / "s.wav")],
            "convert --melody-from sing.wav": [py, "-m", "alignsts", "convert", str(speech), "--melody-from",
                                               str(sing), "-o", str(tmp / "m.wav")],
        }
        song = test_song(args)
        if song is not None:
            rows["bare WORLD resynthesis (song)"] = [py, str(tmp / "world.py"), str(song), str(tmp / "ws.wav")]
            rows["convert --song"] = [py, "-m", "alignsts", "convert", str(speech), "--song", str(song),
                                      "-o", str(tmp / "song.wav")]
        rows |= {
            "--version": [py, "-m", "alignsts", "--version"],
            "--help": [py, "-m", "alignsts", "--help"],
            "bad input (missing file)": [py, "-m", "alignsts", "convert", str(tmp / "missing.wav"), "--reference",
                                         str(sing), "-o", str(tmp / "x.wav")],
        }
        expect = {name: 2 if name.startswith("bad") else 0 for name in rows}
        for name, cmd in rows.items():     # one untimed run each: page cache, numba cache
            timed(cmd, expect[name])
        load = os.getloadavg()[0]
        res = {name: median_run(cmd, args.runs, expect[name]) for name, cmd in rows.items()}
        load_after = os.getloadavg()[0]
        print(f"pair {args.pair}, {args.runs} runs each (median), 1-min load average {load:.2f} before the "
              f"timed runs and {load_after:.2f} after, on {os.cpu_count()} cores"
              + (f"; song {song}" if song is not None else "") + "\n")
        print("| whole process | wall s | / bare WORLD | CPU s | CPU / bare WORLD | peak RSS MiB |")
        print("|---|---|---|---|---|---|")
        for name, r in res.items():
            # the song rows against WORLD on the song file, the others against WORLD on sing.wav
            ref = res["bare WORLD resynthesis (song)" if "song" in name else "bare WORLD resynthesis"]
            bad = "" if r["ok"] else " (FAILED)"
            print(f"| {name}{bad} | {r['wall']:.2f} | {r['wall'] / ref['wall']:.2f}x | {r['cpu']:.2f} | "
                  f"{r['cpu'] / ref['cpu']:.2f}x | {r['rss']:.0f} |")
        if not args.skip_in_process:
            print("\n| in process (after a warm-up) | output s | wall s | RTF | peak RSS MiB |")
            print("|---|---|---|---|---|")
            cases = [("reference", 0.0), ("score", 0.0)]
            if not args.skip_long:
                cases.append(("reference", args.long_minutes))
            for case, mins in cases:
                r = in_process(case, mins, args, notes)
                label = f"{case} engine" + (f", {mins:g} min" if mins else f", {args.pair}")
                print(f"| {label} | {r['out_s']:.1f} | {r['wall']:.2f} | {r['wall'] / r['out_s']:.3f} | "
                      f"{r['rss']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
