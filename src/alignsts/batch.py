"""Batch conversion of a manifest: many rows, worker processes or a Dask cluster, resumable.

A manifest is a CSV with a header. Columns: ``speech``; exactly one melody column per row
(``reference``, ``midi``, ``score``, ``notes``, ``f0``, ``melody_from`` or ``song``: a whole
song, separated once per worker however many rows share it, see :func:`_song_stems`); ``output``; and,
optionally, ``transpose`` (``auto``, ``fit`` or semitones), ``engine``, ``range`` (``A2-E4`` or a voice type) and ``lyrics`` (text, or
``@file.txt``). Relative paths are relative to the CSV's folder.

How a run goes (:func:`run`; reading and checking rows, and the resume test, are alignsts.manifest):
1. Every row is read and checked before any conversion: unknown columns, no or several
   melodies, an output that is an input of any row (or the output of an earlier row), an
   unsupported output format. Such rows go to the problems file; the others run.
2. Rows whose output already exists and is valid (:func:`output_is_valid`: readable audio of
   plausible length) are skipped, so running the same manifest again resumes it. Outputs are
   written atomically (temp file + rename), so a file under the output's name is always whole.
3. The rest are converted by ``alignsts.api.convert`` in worker processes (spawned, one
   BLAS/OpenMP/numba thread each, a writable numba cache; the engine settings are built once
   per worker) or, with ``dask_scheduler``, as tasks on an existing Dask distributed cluster
   whose workers see the same paths. A progress bar (tqdm) shows the rate and the time left.
4. A row that fails is written to the problems CSV (``line,speech,output,reason``) with its
   one-line reason, and the run carries on. Ctrl-C stops the workers, removes their temp files
   and returns; the next run picks up where this one stopped.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import logging
import os
import signal
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .errors import AlignSTSError, OutputError
from .lanes import usable_cores
from .manifest import (PROBLEM_FIELDS, Problem, Row, _identities, _row_inputs, _song_mix, check_outputs,
                       check_paths, expected_seconds, output_is_valid, read_manifest, remove_temp_files)

log = logging.getLogger("alignsts")

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class Settings:
    """What every row shares, built into engine configs once per worker.

    ``engine``: the engine of rows that name none (None: api's rule, reference for a sung
    reference, score otherwise); ``config``: a YAML settings file, used for the rows of the
    engine it is written for; ``sr``: output sample rate; ``score``: ScoreConfig.expression
    overrides; ``neural``: NeuralConfig overrides; ``convert``: further api.convert keyword
    arguments (tempo, track, channel, bpm, notes_only; ``separator`` for the rows with a song).
    All as (name, value) pairs. ``threads``: threads of one conversion (the engines'
    ``pieces.threads``); ``run`` sets it from the workers: the cores each worker has to itself.
    """
    engine: str | None = None
    config: str | None = None
    sr: int | None = None
    score: tuple = ()
    neural: tuple = ()
    convert: tuple = ()
    threads: int = 1


@dataclass
class Report:
    """What a run did: rows converted, skipped (valid output already there) and failed."""
    total: int = 0
    converted: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    interrupted: int = 0               # the signal that stopped the run (SIGINT, SIGTERM); 0 = ran to the end
    problems_path: Path | None = None
    seconds: float = 0.0
    audio_seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.problems)

    def summary(self) -> str:
        text = (f"{self.converted} converted, {self.skipped} already done, {self.failed} failed"
                f" of {self.total} rows in {self.seconds:.1f} s")
        if self.converted and self.seconds > 0:
            text += f" ({self.converted / self.seconds:.2f} files/s)"
        if self.interrupted:
            left = self.total - self.converted - self.skipped - self.failed
            text += f"; interrupted with {left} rows left: run the same command again to continue"
        if self.problems and self.problems_path:
            text += f"; problems listed in {self.problems_path}"
        return text


# --------------------------------------------------------------------------- one row (runs in workers)

_STATE: dict = {}    # per worker process: Settings -> engine configs built from them (see _configs)


def _configs(settings: Settings) -> dict:
    """Engine configs of ``settings`` ({engine: config or None}), built once per process."""
    if settings not in _STATE:
        _STATE.clear()
        _STATE[settings] = _build_configs(settings)
    return _STATE[settings]


def _build_configs(settings: Settings) -> dict:
    """{engine: config} for the three engines: the ``--config`` YAML for the engines it is written
    for (api.engine_config; with a default engine, only that one's), the defaults otherwise, then
    the command-line overrides; every config checked (validate.check_config)."""
    from . import api
    from .validate import check_config

    configs: dict = {}
    errors = []
    for engine in api.ENGINES:
        try:
            configs[engine] = api.engine_config(engine, settings.config) if settings.config else None
        except AlignSTSError as e:   # a YAML written for another engine
            configs[engine] = None
            errors.append(str(e))
    if settings.config and not any(configs.values()):
        raise AlignSTSError(errors[0])
    if settings.config and settings.engine is not None and configs.get(settings.engine) is None:
        raise AlignSTSError(f"{settings.config}: not settings of the {settings.engine} engine")
    if settings.score:
        cfg = configs["score"] or api.engine_config("score")
        for key, value in settings.score:
            setattr(cfg.expression, key, value)
        configs["score"] = cfg
    for engine in ("reference", "score"):   # the workers are the parallelism: threads per conversion from run()
        cfg = configs[engine] or api.engine_config(engine)
        cfg.pieces.threads = settings.threads
        configs[engine] = cfg
    cfg = configs["neural"] or api.engine_config("neural")
    for key, value in settings.neural:
        setattr(cfg, key, bool(value) if key == "trust_checkpoint" else value)   # trust: never from a YAML
    configs["neural"] = cfg
    for name, cfg in configs.items():
        if cfg is not None:
            check_config(cfg, f"{name} engine settings")
    return configs


def convert_row(row: Row, settings: Settings) -> tuple[int, str | None, float, float]:
    """Convert one row: (line, error or None, wall seconds, output seconds). Never raises for a bad
    row: its one-line reason is returned, so a worker (or a Dask task) always reports cleanly."""
    t0 = time.perf_counter()
    try:
        seconds = _convert(row, settings)
        return row.line, None, time.perf_counter() - t0, seconds
    except AlignSTSError as e:
        return row.line, str(e), time.perf_counter() - t0, 0.0
    except MemoryError:
        return row.line, "out of memory", time.perf_counter() - t0, 0.0
    except Exception as e:   # a bug: still one line, the run goes on
        msg = str(e).splitlines()[0] if str(e) else ""
        return row.line, f"internal error: {type(e).__name__}: {msg}", time.perf_counter() - t0, 0.0


def _convert(row: Row, settings: Settings) -> float:
    from . import api

    configs = _configs(settings)
    kwargs = dict(settings.convert)
    separator = kwargs.pop("separator", "classic")
    kwargs[row.melody_kind] = row.melody
    if row.melody_kind == "song":   # rows that share a song file share its separation
        kwargs["song"] = _song_stems(row.melody, separator, settings.threads)
    if row.lyrics:
        kwargs["lyrics"] = row.lyrics
    if row.sing_range:
        kwargs.update(range=row.sing_range, voice=None)
    engine = api.choose_engine(row.engine or settings.engine,
                               row.melody if row.melody_kind in ("reference", "song") else None)
    Path(row.output).parent.mkdir(parents=True, exist_ok=True)   # (run() made it; a Dask worker may be elsewhere)
    result = api.convert(row.speech, engine=engine, transpose=row.transpose, config=configs[engine], **kwargs)
    if row.melody_kind == "song":
        result.inputs = tuple(result.inputs) + (Path(row.melody),)   # the song stays an input no output replaces
    api.save(result, row.output, sr=settings.sr)
    if row.melody_kind == "song":
        from .audio import io

        io.write_audio(_song_mix(row.output), result.mix, result.sr, out_sr=settings.sr)
    return len(result.wav) / result.sr


def _song_stems(path: str, separator: str, threads: int = 1):
    """The separated stems of a song file, reused while the same file (same size and modification
    time) comes back: a worker given several rows of one song separates it once."""
    st = os.stat(path)
    return _separated(os.path.realpath(path), st.st_size, st.st_mtime_ns, separator, threads)


@functools.lru_cache(maxsize=1)   # one song's stems per worker (a 4-minute song: about 90 MB)
def _separated(path: str, size: int, mtime_ns: int, separator: str, threads: int):
    from . import api

    return api.separate_song(path, separator, threads=threads)


def _init_worker(settings: Settings) -> None:
    """Pool worker start: Ctrl-C is the parent's business (it stops the workers); engine settings
    are built now, once, so a bad config fails the first row, not later."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _configs(settings)
    except AlignSTSError:
        pass   # reported by every row's conversion


# --------------------------------------------------------------------------- the run

def worker_environment(cache_dir: str | None = None) -> dict[str, str]:
    """Environment of a worker process: one thread per math library (workers are the parallelism)
    and a numba cache folder it can write (an installed package's own folder may be read-only)."""
    env = {name: "1" for name in THREAD_ENV}
    if not os.environ.get("NUMBA_CACHE_DIR"):
        env["NUMBA_CACHE_DIR"] = cache_dir or numba_cache_dir()
    return env


def numba_cache_dir() -> str:
    """A writable folder for numba's compiled-function cache: $XDG_CACHE_HOME/alignsts/numba
    (default ~/.cache/...), else one in the temp folder."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (os.path.join(home, "alignsts", "numba"),
                   os.path.join(tempfile.gettempdir(), f"alignsts-numba-{os.getuid() if hasattr(os, 'getuid') else 0}")):
        try:
            os.makedirs(folder, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    return tempfile.mkdtemp(prefix="alignsts-numba-")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the processes started inside the block; restored after."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _ProblemLog:
    """The problems CSV, appended and flushed row by row (so it is current even if the run dies);
    removed at the end when nothing failed."""

    def __init__(self, path: Path):
        self.path = path
        self.fh = None
        self.count = 0

    def add(self, problem: Problem) -> None:
        if self.fh is None:
            self.fh = open(self.path, "w", newline="", encoding="utf-8")
            self.writer = csv.writer(self.fh)
            self.writer.writerow(PROBLEM_FIELDS)
        self.writer.writerow([problem.line, problem.speech, problem.output, problem.reason])
        self.fh.flush()
        self.count += 1

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
        elif self.path.exists():
            self.path.unlink()   # a previous run's list: every row in it has now been retried


def default_problems_path(manifest: str | os.PathLike) -> Path:
    m = Path(manifest)
    return m.with_name(m.stem + ".problems.csv")


def run(manifest: str | os.PathLike, settings: Settings | None = None, *, workers: int | None = None,
        dask_scheduler: str | None = None, problems_path: str | os.PathLike | None = None,
        progress: bool = True, threads: int | None = None) -> Report:
    """Convert every row of ``manifest`` not already done (see the module doc). ``workers``:
    processes (default: the CPU count; 1 still runs in one worker process); ``threads``: threads
    of each conversion (default: the cores each worker has to itself, at least 1; 1 on Dask);
    ``dask_scheduler``: the address of a Dask scheduler (``tcp://host:8786``) to send the rows to instead.
    Returns the Report; Ctrl-C (or SIGTERM through the CLI) gives one with ``interrupted`` set to
    the signal."""
    settings = settings or Settings()
    t0 = time.perf_counter()
    rows, problems = read_manifest(manifest)
    shared = [str(manifest)] + [v for v in (settings.config, *(v for k, v in settings.neural
                                                              if k in ("checkpoint", "vocoder", "content_model")))
                                if isinstance(v, str) and v]
    rows, path_problems = check_paths(rows, shared)
    problems += path_problems
    problems_path = Path(problems_path) if problems_path else default_problems_path(manifest)
    _check_problems_path(problems_path, rows, shared)
    if workers is not None and workers < 1:
        raise AlignSTSError(f"--workers must be at least 1, got {workers}")
    if threads is not None and not (isinstance(threads, int) and 1 <= threads <= 64):
        raise AlignSTSError(f"threads must be a whole number from 1 to 64, got {threads!r}")
    _check_settings(settings)
    rows, output_problems = check_outputs(rows, settings.sr)
    problems += output_problems

    report = Report(total=len(rows) + len(problems), problems_path=problems_path)
    plog = _ProblemLog(problems_path)
    for p in sorted(problems, key=lambda p: p.line):
        plog.add(p)
        report.problems.append(p)
    todo = []
    for row in rows:
        if output_is_valid(row.output, expected_seconds(row)):
            report.skipped += 1
        else:
            remove_temp_files(row.output)
            todo.append(row)
    if report.skipped:
        log.info("%d of %d rows already have a valid output: skipped", report.skipped, len(rows))
    client = _dask_client(dask_scheduler) if dask_scheduler and todo else None   # fails before the bar shows
    bar = _progress_bar(len(todo), progress)

    def done(row: Row, error: str | None, audio_seconds: float) -> None:
        if error is None:
            report.converted += 1
            report.audio_seconds += audio_seconds
        else:
            p = Problem(row.line, row.speech, row.output, error)
            report.problems.append(p)
            plog.add(p)
            log.warning("line %d failed: %s", row.line, error)
        bar.update(1)
        if report.problems:
            bar.set_postfix(failed=len(report.problems), refresh=False)

    try:
        if client is not None:
            report.interrupted = _run_dask(client, todo, dataclasses.replace(settings, threads=1), done)
        elif todo:
            workers = workers or os.cpu_count() or 1
            if threads is None:   # fewer workers than cores: each conversion takes the rest
                threads = max(1, usable_cores() // workers)
            report.interrupted = _run_pool(todo, dataclasses.replace(settings, threads=threads), workers, done)
    finally:
        if client is not None:
            client.close()
        bar.close()
        plog.close()
        report.seconds = time.perf_counter() - t0
    return report


def _check_problems_path(path: Path, rows: list[Row], shared: list[str] = ()) -> None:
    """The problems CSV goes through the one output check (alignsts.paths.check_output): never the
    manifest, a shared input, a row's input or output, nor a device; its folder takes a file."""
    from .paths import check_output

    check_output(path, "problems file", {"manifest or shared input": [s for s in shared if s]})
    keys = _identities(str(path))
    for r in rows:
        for q in (*_row_inputs(r).values(), r.output):
            if keys & _identities(q):
                raise OutputError(f"{path}: the problems file would replace {q} (line {r.line})")


def _check_settings(settings: Settings) -> None:
    """Build the engine settings once in this process, so a bad --config stops the run at once."""
    _build_configs(settings)


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="converting", disable=not enabled or total == 0,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1,
                mininterval=0.5 if sys.stderr.isatty() else 10.0)


def _signal_of(exc: KeyboardInterrupt) -> int:
    """The signal behind a KeyboardInterrupt (the CLI's handlers raise one carrying SIGTERM too)."""
    return int(getattr(exc, "signum", signal.SIGINT))


def _run_pool(todo: list[Row], settings: Settings, workers: int, done) -> int:
    """Rows through a spawned process pool; returns the signal that interrupted it, or 0.

    At most 2 rows per worker are queued at a time, so an interruption or a crashed worker
    touches few rows. A worker that dies (a native crash, the OOM killer) breaks the pool: its
    rows are retried one at a time in a new pool, and a row that kills a worker again is a problem."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    queue = list(reversed(todo))        # pop() from the end = manifest order
    suspects: list[Row] = []            # rows that were running when a worker died
    workers = max(1, min(workers, len(todo)))
    with _environment(worker_environment()):
        while queue or suspects:
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                       initargs=(settings,))
            running: dict = {}
            try:
                broken = False
                while (queue or suspects or running) and not broken:
                    isolate = bool(suspects)        # a suspect runs alone, so a crash names it
                    cap = 1 if isolate else 2 * workers
                    while len(running) < cap and (suspects or (queue and not isolate)):
                        row = suspects.pop() if suspects else queue.pop()
                        running[pool.submit(convert_row, row, settings)] = row
                    finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for fut in finished:
                        row = running.pop(fut)
                        try:
                            _line, error, _wall, seconds = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            if isolate:
                                done(row, "the worker process died converting this row (a crash or out of memory)", 0.0)
                            else:
                                suspects.append(row)
                            continue
                        done(row, error, seconds)
                if broken:
                    suspects.extend(running.values())
                    running.clear()
            except KeyboardInterrupt as e:
                _stop_pool(pool, running.values())
                return _signal_of(e)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    return 0


def _stop_pool(pool, rows) -> None:
    """Ctrl-C: terminate the workers now (a conversion is not waited for), then remove the temp
    files of the rows they were writing. Nothing partial is left under an output's name, because
    outputs are only renamed into place when whole."""
    processes = list(getattr(pool, "_processes", {}).values())   # the executor has no public terminate
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        try:
            proc.terminate()
        except Exception:
            pass
    deadline = time.monotonic() + 5.0
    for proc in processes:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
    for row in rows:
        remove_temp_files(row.output)


def _dask_client(address: str):
    """A client of the Dask scheduler at ``address``, or a one-line error."""
    try:
        from distributed import Client
    except ImportError:
        raise AlignSTSError("--dask-scheduler needs dask.distributed: pip install 'alignsts[batch]'") from None
    if not isinstance(address, str) or not address.strip() or "\x00" in address:
        raise AlignSTSError(f"--dask-scheduler: expected an address like tcp://host:8786, got {address!r}")
    try:
        return Client(address, set_as_default=False, timeout="10s")
    except Exception as e:   # also what a non-Dask listener provokes (MemoryError on a garbage frame size)
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        if isinstance(e, MemoryError) or "unpack" in reason.lower() or "deserial" in reason.lower():
            reason = f"it answered, but not as a Dask scheduler: {type(e).__name__}"
        raise AlignSTSError(f"cannot reach the Dask scheduler at {address} ({reason[:200]})") from None


def _run_dask(client, todo: list[Row], settings: Settings, done) -> int:
    """Rows as tasks on a Dask cluster; returns the signal that interrupted it, or 0. The workers must
    import this alignsts and see the manifest's paths (a shared file system); each builds the
    engine settings once (they are sent once, to every worker)."""
    from distributed import as_completed

    futures = []
    try:
        by_key = {}
        shared = client.scatter(settings, broadcast=True)
        for row in todo:
            fut = client.submit(convert_row, row, shared, key=f"alignsts-row-{row.line}-{os.getpid()}-{id(row)}",
                                pure=False)
            by_key[fut.key] = row
            futures.append(fut)
        for fut in as_completed(futures, loop=client.loop):
            row = by_key[fut.key]
            try:
                _line, error, _wall, seconds = fut.result()
            except Exception as e:   # a worker died or the task was lost
                error, seconds = f"Dask task failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", 0.0
            done(row, error, seconds)
        return 0
    except KeyboardInterrupt as e:
        client.cancel(futures)   # running tasks finish their atomic write
        return _signal_of(e)
