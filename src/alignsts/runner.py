"""Stopping cleanly on Ctrl-C and SIGTERM, even inside long native calls.

Python runs its signal handlers only between bytecodes, so a conversion deep in pyworld, Praat
or a numba loop would not notice Ctrl-C for as long as that call lasts. The CLI therefore runs a
conversion in a forked worker process and stays in pure Python itself (``supervise``):

- the worker turns SIGINT and SIGTERM into ``Interrupted`` (a KeyboardInterrupt), so whenever
  it gets to run Python it unwinds normally: atomic writes drop their temp files, batch mode
  says what it finished, the exit status is 128 + signal (130 / 143);
- the worker announces every temp file (``alignsts.tempfiles``) and every finished output on a
  pipe; the supervisor forwards the signal, gives the worker ``GRACE_S`` to stop by itself, then
  kills it, deletes the temp files it left and reports what was done.

Outside the CLI (the Python API) nothing here is active.
"""
from __future__ import annotations

import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Callable

GRACE_S = 0.5          # the worker's time to stop by itself before it is killed
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGINT or SIGTERM; ``exit_code`` is 128 + the signal."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def exit_code(exc: BaseException) -> int:
    return exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT


_stop_signal: list[int] = []   # the signal that asked this process to stop (process-wide, like signals)


def stop_requested() -> int | None:
    """The stop signal received since install_stop_handlers, or None. A library that turns the
    KeyboardInterrupt into another exception (some do, e.g. inside imports) is still a stop."""
    return _stop_signal[0] if _stop_signal else None


def install_stop_handlers() -> dict:
    """SIGINT and SIGTERM raise Interrupted once (a second signal does not interrupt the clean-up).

    Returns the previous handlers, for restore_handlers."""
    _stop_signal.clear()

    def stop(signum, _frame):
        if _stop_signal:
            return
        _stop_signal.append(signum)
        raise Interrupted(signum)

    return {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}


def restore_handlers(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


# ----------------------------------------------------------------------------- worker side
class _Reporter:
    """Writes 'created/gone/done/planned <path>' lines to the supervisor's pipe."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, kind: str, value) -> None:
        try:
            os.write(self.fd, f"{kind}\t{value}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            pass

    def __call__(self, event: str, path: Path) -> None:
        self.send(event, os.path.abspath(path))


_reporter: _Reporter | None = None


def report_done(path) -> None:
    """A finished output (batch mode): the supervisor lists it if the run is interrupted."""
    if _reporter is not None:
        _reporter.send("done", path)


def report_planned(count: int) -> None:
    if _reporter is not None:
        _reporter.send("planned", count)


# ----------------------------------------------------------------------------- supervisor side
def supervise(work: Callable[[], int]) -> int:
    """Run ``work()`` in a forked worker; return its exit status (130/143 when stopped)."""
    global _reporter
    from . import tempfiles

    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    # a stop signal arriving before either process has its handlers stays pending (blocked)
    # instead of killing the supervisor with its default action and orphaning the worker
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    if pid == 0:   # worker
        os.close(read_fd)
        code = 1
        try:
            _reporter = _Reporter(write_fd)
            tempfiles.listen(_reporter)
            install_stop_handlers()
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            code = work()
        except Interrupted as e:
            code = e.exit_code
        except KeyboardInterrupt:
            code = 130
        except BaseException:
            code = 128 + stop_requested() if stop_requested() else 1
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    os.close(write_fd)
    return _watch(pid, read_fd, mask)


def _watch(pid: int, read_fd: int, mask=None) -> int:
    received: list[int] = []
    deadline = [None]

    def forward(signum, _frame):
        if not received:
            received.append(signum)
            deadline[0] = time.monotonic() + GRACE_S
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, forward) for sig in STOP_SIGNALS}
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)   # what arrived meanwhile is forwarded now
    temps: set[str] = set()
    done: list[str] = []
    planned = [0]
    buf = b""
    status = None
    try:
        while status is None:
            ready, _, _ = select.select([read_fd], [], [], 0.05)
            if ready:
                chunk = os.read(read_fd, 65536)
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    kind, _, value = line.decode("utf-8", "surrogateescape").partition("\t")
                    if kind == "created":
                        temps.add(value)
                    elif kind == "gone":
                        temps.discard(value)
                    elif kind == "done":
                        done.append(value)
                    elif kind == "planned":
                        planned[0] = int(value)
            waited, raw = os.waitpid(pid, os.WNOHANG)
            if waited:
                status = raw
            elif deadline[0] is not None and time.monotonic() > deadline[0]:
                os.kill(pid, signal.SIGKILL)   # stuck in native code: stop it now
                _, status = os.waitpid(pid, 0)
                killed = True
                break
        else:
            killed = False
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(read_fd)
    for path in temps:   # what the worker could not remove itself
        try:
            os.unlink(path)
        except OSError:
            pass
    if received:
        if killed or os.WIFSIGNALED(status):
            what = ""
            if planned[0] > 1:
                what = (f" after {len(done)} of {planned[0]} files" +
                        (f" ({', '.join(Path(d).name for d in done)})" if done else ""))
            print(f"alignsts: interrupted{what}; nothing partial was left behind", file=sys.stderr)
        return 128 + received[0]
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        print(f"alignsts: internal error: the conversion process died ({name}); no partial output was left "
              f"behind (rerun with --verbose for details)", file=sys.stderr)
        return 1
    return os.waitstatus_to_exitcode(status)
