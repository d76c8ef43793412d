"""Ctrl-C and SIGTERM, as a user sends them: the program stops, exits 130 / 143, leaves no temp
file, and batch mode says what it finished. Every run is a subprocess; the timeouts only guard
against hangs (no timing is asserted)."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from alignsts import api

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _start(args, cwd: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _wait_for_line(stream, needle: str, timeout: float = 240.0) -> list[str]:
    """Read lines from ``stream`` until one contains ``needle``; the lines read so far."""
    seen: list[str] = []
    found = threading.Event()

    def reader():
        for line in stream:
            seen.append(line)
            if needle in line:
                found.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    assert found.wait(timeout), "".join(seen)
    return seen


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_a_native_call_kills_the_worker_and_removes_its_temp_file(tmp_path, sig):
    """The worker blocks the signals while "in native code": the supervisor kills it after the
    grace period and deletes the temp file it announced."""
    script = textwrap.dedent("""
        import signal, sys, time
        from alignsts import runner
        from alignsts.atomic import atomic_path

        def work():
            with atomic_path(sys.argv[1]) as tmp:
                tmp.write_bytes(b"partial")
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
                print("ready", flush=True)
                time.sleep(120)          # stands for a long pyworld / numba call
            return 0

        sys.exit(runner.supervise(work))
    """)
    proc = _start(["-c", script, "out.wav"], tmp_path)
    _wait_for_line(proc.stdout, "ready")
    assert [p.name for p in tmp_path.iterdir()] and not (tmp_path / "out.wav").exists()   # the temp file
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT[sig], err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_signal_before_the_supervisor_listens_still_stops_both_processes(tmp_path):
    """A stop signal that reaches the supervisor between the fork and its handlers (a loaded
    machine) is held and forwarded, not its default action: no orphaned worker keeps running."""
    script = textwrap.dedent("""
        import signal, sys, time
        from alignsts import runner
        from alignsts.atomic import atomic_path

        listen = runner._watch
        def late(*args, **kwargs):       # the supervisor is slow to install its handlers
            time.sleep(1.5)
            return listen(*args, **kwargs)
        runner._watch = late

        def work():
            with atomic_path(sys.argv[1]) as tmp:
                tmp.write_bytes(b"partial")
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
                print("ready", flush=True)
                time.sleep(120)
            return 0

        sys.exit(runner.supervise(work))
    """)
    proc = _start(["-c", script, "out.wav"], tmp_path)
    _wait_for_line(proc.stdout, "ready")
    proc.send_signal(signal.SIGTERM)          # within the supervisor's 1.5 s without handlers
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT[signal.SIGTERM], err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def long_inputs(tmp_path_factory):
    """The demo speech and singing repeated 8 times (about 25 s each): long enough to interrupt."""
    d = tmp_path_factory.mktemp("long")
    speech, sing, _ = api.demo_files()
    for src, name in ((speech, "take.wav"), (sing, "ref.wav")):
        wav, sr = sf.read(str(src), dtype="float32")
        sf.write(str(d / name), np.tile(wav, 8), sr)
    shutil.copyfile(speech, d / "short.wav")
    return d


def _inputs_snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_conversion(long_inputs, tmp_path, sig):
    before = _inputs_snapshot(long_inputs)
    out = tmp_path / "song.wav"
    proc = _start(["-m", "alignsts", "convert", long_inputs / "take.wav", "-r", long_inputs / "ref.wav",
                   "-o", out, "--plot", tmp_path / "song.png", "-v"], tmp_path)
    _wait_for_line(proc.stderr, "alignsts: ")      # the worker is converting
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT[sig], err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    assert _inputs_snapshot(long_inputs) == before


@pytest.mark.slow
def test_batch_interrupted_reports_what_was_done(long_inputs, tmp_path):
    proc = _start(["-m", "alignsts", "convert", long_inputs / "short.wav", long_inputs / "take.wav",
                   "-r", long_inputs / "ref.wav", "-o", tmp_path, "-v"], tmp_path)
    _wait_for_line(proc.stderr, "wrote ")           # the first file is done, the second under way
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "after 1 of 2 files" in err and "short_sung.wav" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short_sung.wav"]
    assert sf.info(str(tmp_path / "short_sung.wav")).frames > 0
