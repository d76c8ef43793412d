#!/usr/bin/env python
"""Files that never end and bombs (issue 17): exit code, time to refusal and peak memory of each.

    python benchmarks/bombs.py

Each case runs ``alignsts convert ...`` in a fresh child process (``python this_file --child ARGS``)
that calls ``alignsts.cli.main`` and prints its own ``ru_maxrss`` (peak RSS, imports included);
the parent times the child (wall seconds, process start and imports included) and stops it after
60 s. The inputs are built in a temporary folder: a note list and a .ust symlinked to /dev/zero,
a fifo, a 4 MB lyrics file (600,000 words), a 0.9 MB one (150,000 words, under the size cap), a
2 MB .mxl that unpacks to 2 GiB, a .ustx YAML alias bomb, a manifest with a /dev/zero cell; and
for the surfaces added since (``range``, ``--song``, ``--accompaniment``, M4A input): /dev/zero and
a fifo there, and a 65-minute 48 kHz stereo M4A whose header says 10 s (its mvhd/mdhd durations
rewritten: a forged or endless stream; FFmpeg trusts the header) as the song, the speech and the
singing of ``range``. Targets: exit 2 (one line), refused within 10 s, peak < 600 MB.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

MARK = "@@RSS@@ "
LIMIT_MB, LIMIT_S = 600, 10.0


def child(argv: list[str]) -> None:
    import contextlib
    import io
    import resource

    from alignsts import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as e:
            code = e.code
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(MARK + json.dumps({"code": code, "stderr": err.getvalue().strip().splitlines()[-1:], "rss_mb": rss}))


def build(d: Path) -> None:
    import shutil

    from alignsts import api

    speech, _sing, _midi = api.demo_files()
    shutil.copyfile(speech, d / "take.wav")
    (d / "notes.txt").write_text("C4 0.5\nD4 0.5\nE4 1\n")
    os.symlink("/dev/zero", d / "zero.txt")
    os.symlink("/dev/zero", d / "zero.ust")
    os.mkfifo(d / "fifo.txt")
    (d / "big.txt").write_text("la " * 1_400_000)                    # 1.4 million words, 4.2 MB
    (d / "words.txt").write_text("la " * 150_000)                     # 150,000 words, 0.45 MB
    with zipfile.ZipFile(d / "bomb.mxl", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="s.xml"/></rootfiles></container>')
        with z.open("s.xml", "w", force_zip64=True) as fh:
            block = b"\x00" * (1 << 24)
            for _ in range(128):                                      # 2 GiB of zeros
                fh.write(block)
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for k in range(1, 12):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]")
    lines.append("voice_parts: [{notes: [{position: 0, duration: 480, tone: 60, lyric: *a11}]}]")
    (d / "bomb.ustx").write_text("\n".join(lines) + "\n")
    (d / "jobs.csv").write_text("speech,notes,output\ntake.wav,/dev/zero,a.wav\n")
    forged_m4a(d / "forged.m4a", minutes=65.0, claims_s=10.0)


def forged_m4a(path: Path, minutes: float, claims_s: float, sr: int = 48000) -> None:
    """A stereo AAC .m4a of ``minutes`` whose header (mvhd, mdhd, tkhd) claims ``claims_s`` seconds."""
    import struct

    import av
    import numpy as np

    block = 1024
    t = np.arange(block) / sr
    with av.open(str(path), "w") as out:
        st = out.add_stream("aac", rate=sr)
        st.layout = "stereo"
        for a in range(0, int(minutes * 60 * sr), block):
            x = 0.3 * np.sin(2 * np.pi * 220 * (t + a / sr))
            frame = av.AudioFrame.from_ndarray(np.stack([x, x]).astype(np.float32), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = sr, a
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    data = bytearray(path.read_bytes())
    for box in (b"mvhd", b"mdhd", b"tkhd"):
        i = data.find(box)
        while i >= 0:
            v1 = data[i + 4] == 1
            if box == b"tkhd":      # duration after flags, times and track id (and a reserved word)
                off = i + 8 + (20 if v1 else 12) + 4
                data[off:off + (8 if v1 else 4)] = (1).to_bytes(8 if v1 else 4, "big")
            else:                   # timescale, then duration
                ts_off = i + 8 + (16 if v1 else 8)
                scale = struct.unpack(">I", data[ts_off:ts_off + 4])[0]
                n = 8 if v1 else 4
                data[ts_off + 4:ts_off + 4 + n] = int(claims_s * scale).to_bytes(n, "big")
            i = data.find(box, i + 4)
    path.write_bytes(bytes(data))


NOTES = ["convert", "take.wav", "--notes", "notes.txt", "-o", "out.wav"]
CASES = {
    "--lyrics @/dev/zero": [*NOTES, "--lyrics", "@/dev/zero"],
    "--lyrics @/dev/urandom": [*NOTES, "--lyrics", "@/dev/urandom"],
    "--lyrics @fifo": [*NOTES, "--lyrics", "@fifo.txt"],
    "note list -> /dev/zero": ["convert", "take.wav", "--notes", "zero.txt", "-o", "out.wav"],
    ".ust -> /dev/zero": ["convert", "take.wav", "--score", "zero.ust", "-o", "out.wav"],
    "--manifest /dev/zero": ["convert", "--manifest", "/dev/zero"],
    "manifest cell /dev/zero": ["convert", "--manifest", "jobs.csv", "--workers", "1"],
    "4.2 MB lyrics (1.4M words)": [*NOTES, "--lyrics", "@big.txt"],
    "0.45 MB lyrics (150k words)": [*NOTES, "--lyrics", "@words.txt"],
    ".mxl 2 GiB unpacked": ["convert", "take.wav", "--score", "bomb.mxl", "-o", "out.wav"],
    ".ustx alias bomb": ["convert", "take.wav", "--score", "bomb.ustx", "-o", "out.wav"],
    "range /dev/zero": ["range", "/dev/zero"],
    "--song fifo": ["convert", "take.wav", "--song", "fifo.txt", "-o", "out.wav"],
    "--accompaniment /dev/zero": [*NOTES, "--accompaniment", "/dev/zero"],
    "range forged M4A (65 min, says 10 s)": ["range", "forged.m4a"],
    "--song forged M4A": ["convert", "take.wav", "--song", "forged.m4a", "-o", "out.wav"],
    "speech forged M4A": ["convert", "forged.m4a", "--notes", "notes.txt", "-o", "out.wav"],
}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return 0
    print("| case | exit | wall s | peak RSS MB | message |")
    print("|---|---|---|---|---|")
    worst_s, worst_mb, ok = 0.0, 0.0, True
    with tempfile.TemporaryDirectory(prefix="alignsts-bombs-") as tmp:
        d = Path(tmp)
        build(d)
        for name, argv in CASES.items():
            t0 = time.perf_counter()
            try:
                proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *argv], cwd=d,
                                      capture_output=True, text=True, timeout=60)
                out = next((json.loads(x[len(MARK):]) for x in proc.stdout.splitlines() if x.startswith(MARK)), None)
            except subprocess.TimeoutExpired:
                out = None
            wall = time.perf_counter() - t0
            if out is None:
                print(f"| {name} | (killed or crashed) | {wall:.1f} | | |")
                ok = False
                continue
            message = (out["stderr"] or [""])[0].replace(tmp, "…").replace("|", "/")[:110]
            print(f"| {name} | {out['code']} | {wall:.1f} | {out['rss_mb']:.0f} | {message} |", flush=True)
            worst_s, worst_mb = max(worst_s, wall), max(worst_mb, out["rss_mb"])
            ok &= out["code"] in (1, 2) and wall < LIMIT_S and out["rss_mb"] < LIMIT_MB
    print()
    print(f"{'PASS' if ok else 'FAIL'}  every case refused (exit 2; a manifest row: exit 1 with the row's problem) "
          f"within {LIMIT_S:g} s (worst {worst_s:.1f} s) and under {LIMIT_MB} MB (worst {worst_mb:.0f} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
