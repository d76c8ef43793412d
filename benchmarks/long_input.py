#!/usr/bin/env python
"""Peak memory and speed of both training-free engines on long inputs (1, 10, 30 minutes).

    python benchmarks/long_input.py [--minutes 1,10,30] [--cases reference,score,note]
                                    [--pairs-dir DIR] [--pair NAME] [--profile]

Cases (each input built by repeating real recordings, never by generating audio):
  reference  a real pair (default en-nhss-10; the bundled demo when the pairs folder is
             missing) tiled until the sung reference lasts the given minutes; the speech is
             tiled the same number of times (the lyrics still correspond).
  score      the bundled demo speech and twinkle.mid, both repeated, so the score lasts the
             given minutes (a long MIDI with as many syllables as notes).
  note       the demo speech sung on ONE note lasting the given minutes (the 3600 s note case).
  files48k   the reference case's inputs written as 48 kHz stereo WAV files (by a helper process)
             and converted from the paths (alignsts.api.convert), so reading, downmixing and
             resampling the files is measured too (issue 17: read in blocks).
  files48kacc  the same with the sung file also given as a (stereo) accompaniment: a stereo mix.
  load48k    only reading those two files to 24 kHz mono (alignsts.audio.io.load, in blocks);
  loadwhole  the same files read whole, then resampled (the way before issue 17), for comparison.

Each measurement runs in a fresh child process (``python this_file --child CASE MINUTES``):
it imports alignsts, builds the inputs, runs one untimed warm-up conversion of the short
input (numba cache, first-call costs), then the timed long conversion. Its
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on Linux) is the peak RSS of the whole
child, inputs and output included; the parent imports only the standard library, so the
child's figure is not inflated by it. RTF = wall time of the long conversion / output
duration; CPU RTF = the process's CPU seconds (user + system) over it, which a busy machine
disturbs less. Targets (issue 9): peak under 2 GiB at 30 minutes; RTF at 30 minutes within 1.3x
of the RTF at 1 minute. --profile runs the largest case once more under cProfile.
Run it on an idle machine (``nice`` if not): RTF depends on the load.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAIRS = ROOT.parent / "shared" / "data" / "sts-pairs"
MARK = "@@RESULT@@ "
LIMIT_KIB = 2 * 1024 * 1024      # 2 GiB
RTF_GROWTH = 1.3


# ----------------------------------------------------------------------------- child side
def _maxrss_kib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _cpu_s() -> float:
    """CPU seconds of this process so far (user + system): less sensitive to a busy machine than wall time."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _reference_inputs(args, seconds: float):
    """(short speech, short sing, long speech, long sing, description) on the 24 kHz grid."""
    import numpy as np

    from alignsts.api import demo_files
    from alignsts.audio import frontend as fe
    from alignsts.audio import io

    pair = Path(args.pairs_dir) / args.pair
    if (pair / "speech.wav").is_file() and (pair / "sing.wav").is_file():
        paths, source = (pair / "speech.wav", pair / "sing.wav"), args.pair
    else:
        paths, source = demo_files()[:2], "bundled demo (pair not found)"
    speech, sing = (io.load(p, fe.SAMPLE_RATE) for p in paths)
    k = math.ceil(seconds * fe.SAMPLE_RATE / len(sing))
    return speech, sing, np.tile(speech, k), np.tile(sing, k), f"{source} x{k}"


def _score_inputs(seconds: float, one_note: bool):
    """(short speech, short melody, long speech, long melody, description)."""
    import numpy as np

    from alignsts.api import demo_files
    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.melody import notes as nt
    from alignsts.melody import sources

    speech_path, _, midi = demo_files()
    speech = io.load(speech_path, fe.SAMPLE_RATE)
    short = sources.from_midi(midi)
    if one_note:
        long = sources.from_notes([nt.Note(0.3, 0.3 + seconds, 69.0)], "one note")
        return speech, short, speech, long, f"demo speech on one {seconds:g} s note"
    period = max(x.offset for x in short.notes) + 0.5
    k = math.ceil(seconds / period)
    notes = [nt.Note(x.onset + i * period, x.offset + i * period, x.pitch, x.level_db)
             for i in range(k) for x in short.notes]
    return speech, short, np.tile(speech, k), sources.from_notes(notes, "tiled MIDI"), \
        f"demo speech and twinkle.mid x{k} ({len(notes)} notes)"


def make_files48k(args) -> None:
    """Write the reference case's long inputs as 48 kHz stereo WAVs into args.make48k (block by block)."""
    import numpy as np
    import soundfile as sf

    from alignsts.audio import io

    _s, _r, long_speech, long_ref, source = _reference_inputs(args, 60.0 * args.child_minutes)
    folder = Path(args.make48k)
    for name, wav in (("speech.wav", long_speech), ("sing.wav", long_ref)):
        with sf.SoundFile(str(folder / name), "w", samplerate=48000, channels=2, subtype="PCM_16") as fh:
            block = 24000 * 60
            for k in range(0, len(wav), block):
                up = io.resample(wav[k:k + block], 24000, 48000)
                fh.write(np.stack([up, 0.9 * up], axis=1))
    (folder / "source.txt").write_text(source)


def _files48k_run(args, case: str):
    """(run, description) of the files48k / load48k / loadwhole cases."""
    from alignsts import api
    from alignsts.audio import frontend as fe
    from alignsts.audio import io

    folder = Path(args.files_dir)
    speech, sing = folder / "speech.wav", folder / "sing.wav"
    source = f"{(folder / 'source.txt').read_text()} as 48 kHz stereo files"
    if case in ("files48k", "files48kacc"):
        short_speech, short_sing = api.demo_files()[:2]
        api.convert(short_speech, reference=short_sing)   # warm-up
        if case == "files48kacc":   # the sung file doubles as a stereo backing track: a stereo mix
            return (lambda: api.convert(str(speech), reference=str(sing), accompaniment=str(sing)).wav), \
                source + ", with a 48 kHz stereo accompaniment"
        return (lambda: api.convert(str(speech), reference=str(sing)).wav), source
    if case == "load48k":
        return (lambda: [io.load(p, fe.SAMPLE_RATE) for p in (speech, sing)][-1]), source + ", read in blocks"

    def whole():
        out = []
        for p in (speech, sing):
            wav, sr = io.read_audio(p)
            out.append(io.resample(io.check_audio(wav, sr, str(p)), sr, fe.SAMPLE_RATE))
        return out[-1]
    return whole, source + ", read whole"


def child(args) -> None:
    import alignsts  # noqa: F401  (the package, as a user would import it)
    from alignsts.audio import frontend as fe

    case, seconds = args.child, 60.0 * args.child_minutes
    if case in ("files48k", "files48kacc", "load48k", "loadwhole"):
        run, source = _files48k_run(args, case)
    elif case == "reference":
        from alignsts.engines import reference as eng

        speech, ref, long_speech, long_ref, source = _reference_inputs(args, seconds)
        eng.convert(speech, ref)   # warm-up

        def run():
            return eng.convert(long_speech, long_ref)[0]
    else:
        from alignsts.engines import score as eng

        speech, melody, long_speech, long_melody, source = _score_inputs(seconds, case == "note")
        eng.convert(speech, melody)   # warm-up

        def run():
            return eng.convert(long_speech, long_melody)[0]

    rss_inputs = _maxrss_kib()
    res = {"case": case, "minutes": args.child_minutes, "source": source, "rss_before_kib": rss_inputs}
    t0, c0 = time.perf_counter(), _cpu_s()
    if args.profile:
        import cProfile
        import io as _io
        import pstats

        prof = cProfile.Profile()
        y = prof.runcall(run)
        buf = _io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(25)
        res["profile"] = buf.getvalue()
    else:
        y = run()
    res["seconds"] = time.perf_counter() - t0
    res["cpu_s"] = _cpu_s() - c0
    res.update(out_s=len(y) / fe.SAMPLE_RATE, maxrss_kib=_maxrss_kib())
    res["rtf"] = res["seconds"] / res["out_s"]
    res["cpu_rtf"] = res["cpu_s"] / res["out_s"]
    print(MARK + json.dumps(res), flush=True)


# ---------------------------------------------------------------------------- parent side
def run_child(case: str, minutes: float, args, profile: bool = False) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", case, "--child-minutes", str(minutes),
           "--pairs-dir", str(args.pairs_dir), "--pair", args.pair] + (["--profile"] if profile else [])
    if case in ("files48k", "files48kacc", "load48k", "loadwhole"):
        import tempfile

        with tempfile.TemporaryDirectory(prefix="alignsts-48k-") as folder:
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--make48k", folder, "--child-minutes",
                            str(minutes), "--pairs-dir", str(args.pairs_dir), "--pair", args.pair], check=True)
            return _run(cmd + ["--files-dir", folder], case, minutes)
    return _run(cmd, case, minutes)


def _run(cmd: list[str], case: str, minutes: float) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
    return {"case": case, "minutes": minutes, "error": f"child exited with {proc.returncode}", "tail": tail}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", default="1,10,30", help="comma-separated input lengths in minutes")
    ap.add_argument("--cases", default="reference,score,note",
                    help="comma-separated: reference, score, note, files48k, load48k, loadwhole")
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--pair", default="en-nhss-10")
    ap.add_argument("--profile", action="store_true", help="profile the longest case of each kind")
    ap.add_argument("--child", choices=("reference", "score", "note", "files48k", "files48kacc", "load48k",
                                        "loadwhole"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--child-minutes", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--make48k", help=argparse.SUPPRESS)
    ap.add_argument("--files-dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.make48k:
        make_files48k(args)
        return 0
    if args.child:
        child(args)
        return 0

    minutes = [float(x) for x in args.minutes.split(",") if x.strip()]
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    results = []
    print("| case | minutes | input | output s | wall s | RTF | CPU s | CPU RTF | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        for mins in minutes:
            r = run_child(case, mins, args)
            results.append(r)
            if "error" in r:
                print(f"| {case} | {mins:g} | FAILED: {r['error']} | | | | | | |")
                for line in r["tail"]:
                    print("    " + line, file=sys.stderr)
            else:
                print(f"| {case} | {mins:g} | {r['source']} | {r['out_s']:.0f} | {r['seconds']:.1f} | "
                      f"{r['rtf']:.3f} | {r['cpu_s']:.1f} | {r['cpu_rtf']:.3f} | {r['maxrss_kib'] / 1024:.0f} MiB |",
                      flush=True)
    print()
    print("## Targets")
    for case in cases:
        ok = [r for r in results if r["case"] == case and "error" not in r]
        if not ok:
            continue
        longest, shortest = max(ok, key=lambda r: r["minutes"]), min(ok, key=lambda r: r["minutes"])
        peak = max(r["maxrss_kib"] for r in ok)
        print(f"{'PASS' if peak < LIMIT_KIB else 'FAIL'}  {case}: peak < 2 GiB: {peak / 1024:.0f} MiB")
        if longest is not shortest:
            for key, label in (("rtf", "RTF"), ("cpu_rtf", "CPU RTF")):
                growth = longest[key] / shortest[key]
                print(f"{'PASS' if growth <= RTF_GROWTH else 'FAIL'}  {case}: {label} at {longest['minutes']:g} min "
                      f"/ at {shortest['minutes']:g} min = {growth:.2f} (<= {RTF_GROWTH})")
    if args.profile:
        for case in cases:
            longest = max(minutes)
            r = run_child(case, longest, args, profile=True)
            print(f"\n## cProfile: {case}, {longest:g} min\n")
            print(r.get("profile", r.get("error", "")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
