"""More than one core inside one conversion.

WORLD (pyworld), numpy's FFT and BLAS and, for most of its work, Praat release the GIL while
they compute, so a conversion's independent stages (the speech's WORLD analysis beside the
reference's F0 and alignment, the speaker embedding beside both) and the pieces of a long
analysis or synthesis run on threads in parallel.

Results never depend on the number of threads: every task computes exactly what it computes on
one thread and results are used in the same order; only when a task runs changes. With one
thread, ``start`` runs the task at once on the calling thread.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_AUTO_THREADS = 4   # threads=0 takes the cores this process may use, at most this many


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:    # not on Linux
        return max(1, os.cpu_count() or 1)


def thread_count(setting: int) -> int:
    """The threads a ``threads`` setting gives: 0 -> usable_cores() up to MAX_AUTO_THREADS,
    n >= 1 -> n."""
    setting = int(setting)
    return min(usable_cores(), MAX_AUTO_THREADS) if setting <= 0 else setting


class Lanes:
    """Threads for one conversion: ``with Lanes(n) as lanes: job = lanes.start(fn, x) ...
    job.result()``, and ``lanes.ordered(fn, items)``.

    Leaving the block waits for the tasks still running (after an exception, it cancels those
    not started and does not wait: a stop is not held up by a task whose result nobody reads).
    """

    def __init__(self, threads: int = 1):
        self.threads = thread_count(threads)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="alignsts") if self.threads > 1 else None
        self._blas = None

    def __enter__(self) -> "Lanes":
        if self._pool is not None:
            self._blas = one_blas_thread()   # the lanes are the parallelism (see one_blas_thread)
            self._blas.__enter__()
        return self

    def __exit__(self, kind, value, tb) -> None:
        self.close(wait=kind is None)

    def close(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None
        if self._blas is not None:
            self._blas.__exit__(None, None, None)
            self._blas = None

    @property
    def parallel(self) -> bool:
        """Whether tasks run beside the calling thread (more than one thread)."""
        return self._pool is not None

    def start(self, fn: Callable[..., R], *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` on another thread (one thread: now, on this one); its
        result, or the exception it raised, comes from ``.result()``."""
        if self._pool is not None:
            return self._pool.submit(fn, *args, **kwargs)
        done: Future = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as e:   # delivered by .result(), as a thread would
            done.set_exception(e)
        return done

    def ordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn(item)`` for each item, yielded in the items' order, with at most ``threads``
        computed ahead of the one yielded (memory: that many results at once)."""
        if self._pool is None:
            for item in items:
                yield fn(item)
            return
        ahead: deque[Future] = deque()
        for item in items:
            ahead.append(self._pool.submit(fn, item))
            if len(ahead) >= self.threads:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def one_blas_thread():
    """A context with BLAS on one thread (threadpoolctl; the limits are restored on leaving; a
    context that does nothing without threadpoolctl). The engines' products are small: a second
    BLAS thread only spins against the lanes (an 8 s reference conversion in process: 0.69 s ->
    0.61 s) and against the other waiting thread (the speaker encoder's 480 small LSTM products
    ran 10x slower with two OpenBLAS threads on a busy machine). The command line sets
    OPENBLAS_NUM_THREADS=1 itself; this is for the API."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")
