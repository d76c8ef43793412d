"""``alignsts prepare``: turn a speech/singing corpus into packed training splits.

Steps: list the corpus (:mod:`alignsts.data.corpus`), split it speaker- or song-disjointly,
compute :func:`alignsts.data.features.item_features` for every pair that has no
``<out>/items/<id>.npz`` yet (in worker processes, each loading its models once), pack the items
into ``<out>/train``, ``<out>/valid``, ``<out>/test`` (:func:`alignsts.data.store.write_split`)
and write ``<out>/stats.json`` and ``<out>/problems.txt``.

Items are saved atomically as they finish, so an interrupted run resumes where it stopped; a
failing item is reported (path and reason) and the run carries on. ``<out>/items/features.json``
records the content/speaker settings the items were made with; a later run with other settings
refuses to mix them.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_write_text
from ..audio import frontend as fe
from ..errors import AlignSTSError, AudioInputError, DataError, PrepareError, option
from . import corpus as corpus_mod
from . import store
from .corpus import Pair

__all__ = ["PrepareConfig", "PrepareError", "PrepareReport", "SplitCounts", "item_id", "prepare"]

CORPORA = ("popbutfy", "nhss", "manifest")
SPEAKER_KINDS = ("resemblyzer", "none")
SPLITS = ("train", "valid", "test")
ITEMS = "items"
FEATURES_META = "features.json"
STATS = "stats.json"
PROBLEMS = "problems.txt"


@dataclass
class PrepareConfig:
    """Settings of one ``prepare`` run.

    corpus:        'popbutfy' | 'nhss' | 'manifest' (then ``source`` is the CSV file).
    source:        corpus folder or manifest path.
    out:           output folder (items/, train/, valid/, test/, stats.json, problems.txt).
    content_model: local wav2vec2 (Wav2Vec2ForCTC) folder, or None for the log mel of the
                   monotone speech as content.
    speaker:       'resemblyzer' | 'none' (zeros).
    workers:       processes computing features; <= 1 runs in this process.
    split_by:      'speaker' | 'song': no group is in more than one split.
    valid, test:   fractions of the groups for valid/test, as in :func:`alignsts.data.corpus.split`.
    valid_groups, test_groups: explicit speaker (or song) names for valid/test; when either is
                   given the fractions are ignored, a missing list means an empty split and
                   every other group is train.
    seed:          split shuffle and per-item clean-up dither.
    max_seconds:   skip (and report) pairs whose speech or singing is longer; None = no limit.
    device:        torch device of the content model ('cpu', 'cuda', 'auto').
    """

    corpus: str = "popbutfy"
    source: str | os.PathLike = ""
    out: str | os.PathLike = ""
    content_model: str | None = None
    speaker: str = "resemblyzer"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    split_by: str = "speaker"
    valid: float = 0.1
    test: float = 0.1
    valid_groups: Sequence[str] | None = None
    test_groups: Sequence[str] | None = None
    seed: int = 0
    max_seconds: float | None = None
    device: str = "cpu"

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("source", "out"):
            d[k] = str(d[k])
        for k in ("valid_groups", "test_groups"):
            d[k] = list(d[k]) if d[k] is not None else None
        return d


@dataclass
class SplitCounts:
    """Per split: items computed now, found already computed, failed, skipped as too long, packed."""

    done: int = 0
    existing: int = 0
    failed: int = 0
    too_long: int = 0
    packed: int = 0

    @property
    def total(self) -> int:
        return self.done + self.existing + self.failed + self.too_long


@dataclass
class PrepareReport:
    """What a run did. ``splits[name]`` is the packed folder, or None when the split was empty."""

    out: Path
    counts: dict[str, SplitCounts]
    problems: list[str]
    stats_path: Path
    problems_path: Path
    splits: dict[str, Path | None]
    seconds: float = 0.0

    def total(self, what: str) -> int:
        """Sum of one SplitCounts field ('done', 'existing', 'failed', 'too_long', 'packed')."""
        return sum(getattr(c, what) for c in self.counts.values())

    def summary(self) -> str:
        parts = [f"{name}: {c.packed} items ({c.done} new, {c.existing} reused, {c.failed} failed"
                 + (f", {c.too_long} too long" if c.too_long else "") + ")"
                 for name, c in self.counts.items()]
        return "; ".join(parts) + f"; {len(self.problems)} problems listed in {self.problems_path}"


# --------------------------------------------------------------------------- item ids

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
MAX_ID_BYTES = 180


def item_id(pair: Pair) -> str:
    """``speaker#song#item`` made filesystem-safe (unique: a changed name gets a hash suffix)."""
    raw = f"{pair.speaker}#{pair.song}#{pair.item}"
    safe = _UNSAFE.sub("_", raw).strip()
    if safe.startswith("."):
        safe = "_" + safe[1:]
    if safe != raw or len(safe.encode("utf-8")) > MAX_ID_BYTES:
        digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:10]
        safe = safe.encode("utf-8")[:MAX_ID_BYTES].decode("utf-8", "ignore") + "~" + digest
    return safe


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------- JSON


def _write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


# --------------------------------------------------------------------------- workers

_WORKER: dict = {}


def _load_models(content_model: str | None, speaker: str, device: str):
    from .features import make_speaker_fn, make_w2v_content, mel_content

    content_fn = make_w2v_content(content_model, device) if content_model else mel_content
    return content_fn, make_speaker_fn(speaker)


def _init_worker(content_model: str | None, speaker: str, device: str, threads: int) -> None:
    """Process-pool initializer: load the content model and speaker encoder once per process."""
    _WORKER.clear()
    if content_model or speaker == "resemblyzer":
        try:
            import torch

            torch.set_num_threads(max(1, threads))
        except ImportError:
            pass   # reported by _load_models
    try:
        _WORKER["models"] = _load_models(content_model, speaker, device)
    except AlignSTSError as exc:
        _WORKER["setup_error"] = _one_line(str(exc))
    except Exception as exc:  # noqa: BLE001 - reported in the parent as a setup error
        _WORKER["setup_error"] = _one_line(f"{type(exc).__name__}: {exc}")


def _item_rng(seed: int, iid: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(iid.encode("utf-8"))])


def _compute(job: tuple) -> tuple[str, str, str]:
    """Worker task. job = (id, speech path, singing path, npz path, seed).

    Returns (id, status, message): status 'done', 'failed' or 'setup' (models failed to load)."""
    iid, speech_path, singing_path, npz_path, seed = job
    if "setup_error" in _WORKER:
        return iid, "setup", _WORKER["setup_error"]
    from ..audio import io
    from .features import item_features

    content_fn, speaker_fn = _WORKER["models"]
    try:
        speech = io.load(speech_path)
        sing = io.load(singing_path)
        arrays = item_features(speech, sing, content_fn, speaker_fn, _item_rng(seed, iid))
        store.save_item(npz_path, arrays)
    except AudioInputError as exc:
        return iid, "failed", _one_line(str(exc))
    except MemoryError:
        return iid, "failed", "out of memory (try --max-seconds or fewer workers)"
    except Exception as exc:  # noqa: BLE001 - any decoding/analysis error is reported, the run goes on
        return iid, "failed", _one_line(f"{type(exc).__name__}: {exc}")[:300]
    return iid, "done", ""


class _Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.n, self.failed, self.enabled = total, 0, 0, enabled and total > 0
        self.bar = None
        if self.enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc="prepare", unit="item", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                self._line()

    def _line(self) -> None:
        sys.stderr.write(f"\rprepare: {self.n}/{self.total} items ({self.failed} failed)")
        sys.stderr.flush()

    def step(self, failed: bool) -> None:
        self.n += 1
        self.failed += int(failed)
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            if failed:
                self.bar.set_postfix(failed=self.failed)
        else:
            self._line()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _run_jobs(jobs: list[tuple], cfg: PrepareConfig, progress: bool):
    """Yield (id, status, message) for every job; inline or in a process pool."""
    workers = int(cfg.workers or 1)
    bar = _Progress(len(jobs), progress)
    try:
        if not jobs:
            return
        if workers <= 1 or len(jobs) == 1:
            _init_worker(cfg.content_model, cfg.speaker, cfg.device, threads=os.cpu_count() or 1)
            if "setup_error" in _WORKER:
                raise PrepareError(_WORKER["setup_error"])
            try:
                for job in jobs:
                    res = _compute(job)
                    bar.step(res[1] != "done")
                    yield res
            finally:
                _WORKER.clear()
            return
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        threads = max(1, (os.cpu_count() or 1) // workers)
        # spawn: safe with torch (no forked OpenMP state) and the same on every platform
        pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=mp.get_context("spawn"),
                                   initializer=_init_worker,
                                   initargs=(cfg.content_model, cfg.speaker, cfg.device, threads))
        try:
            futures = [pool.submit(_compute, job) for job in jobs]
            for fut in as_completed(futures):
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    raise PrepareError("a worker process died (out of memory?); finished items are saved, "
                                       "run again with fewer --workers or a --max-seconds limit to resume") from None
                if res[1] == "setup":
                    raise PrepareError(res[2])
                bar.step(res[1] != "done")
                yield res
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()


# --------------------------------------------------------------------------- split / stats


def _read_corpus(cfg: PrepareConfig) -> corpus_mod.CorpusListing:
    readers = {"popbutfy": corpus_mod.read_popbutfy, "nhss": corpus_mod.read_nhss,
               "manifest": corpus_mod.read_manifest}
    return readers[cfg.corpus](cfg.source)


def _split(pairs: list[Pair], cfg: PrepareConfig) -> dict[str, list[Pair]]:
    by = cfg.split_by
    if cfg.valid_groups is None and cfg.test_groups is None:
        try:
            train, valid, test = corpus_mod.split(pairs, cfg.valid, cfg.test, by=by, seed=cfg.seed)  # type: ignore[arg-type]
        except ValueError as exc:
            raise PrepareError(f"cannot split: {exc}") from None
        return {"train": train, "valid": valid, "test": test}
    valid_g, test_g = set(cfg.valid_groups or ()), set(cfg.test_groups or ())
    both = valid_g & test_g
    if both:
        raise PrepareError(f"{by}s in both valid and test: {', '.join(sorted(both))}")
    known = {getattr(p, by) for p in pairs}
    unknown = (valid_g | test_g) - known
    if unknown:
        raise PrepareError(f"{by}s not in the corpus: {', '.join(sorted(unknown))}")
    out: dict[str, list[Pair]] = {s: [] for s in SPLITS}
    for p in pairs:
        g = getattr(p, by)
        out["valid" if g in valid_g else "test" if g in test_g else "train"].append(p)
    if pairs and not out["train"]:
        raise PrepareError(f"every {by} is in valid or test: nothing left for train")
    return out


def _durations(pair: Pair) -> float | None:
    """Longest of the two files' durations in seconds (header only), None if unreadable."""
    import soundfile as sf

    try:
        return max(sf.info(str(pair.speech)).duration, sf.info(str(pair.singing)).duration)
    except Exception:  # noqa: BLE001 - the worker reports the real decoding error
        return None


def _train_stats(folder: Path) -> dict:
    reader = store.SplitReader(folder)
    f0 = reader.array("sing_f0")
    n = s = ss = ls = lss = 0.0
    for a in range(0, len(f0), 1 << 20):
        block = np.asarray(f0[a:a + (1 << 20)], dtype=np.float64)
        v = block[block > 0]
        lv = np.log2(v)
        n += v.size
        s, ss, ls, lss = s + v.sum(), ss + (v * v).sum(), ls + lv.sum(), lss + (lv * lv).sum()
    if n == 0:
        raise PrepareError("no voiced singing frame in the training split")
    mean, lmean = s / n, ls / n
    std, lstd = np.sqrt(max(ss / n - mean * mean, 0.0)), np.sqrt(max(lss / n - lmean * lmean, 0.0))
    mel = reader.array("sing_mel")
    lo = np.full(mel.shape[1], np.inf)
    hi = np.full(mel.shape[1], -np.inf)
    for a in range(0, len(mel), 1 << 16):
        block = np.asarray(mel[a:a + (1 << 16)])
        lo = np.minimum(lo, block.min(axis=0))
        hi = np.maximum(hi, block.max(axis=0))
    return {"f0_mean": float(mean), "f0_std": float(std), "log2_f0_mean": float(lmean),
            "log2_f0_std": float(lstd), "voiced_frames": int(n), "frames": int(len(f0)),
            "mel_min": [float(x) for x in lo], "mel_max": [float(x) for x in hi],
            "content_dim": int(reader.keys["content"]["tail"][0]),
            "speaker_dim": int(reader.keys["spk"]["tail"][0])}


def _check_features_meta(items_dir: Path, cfg: PrepareConfig) -> dict:
    meta = {"version": store.FORMAT_VERSION,
            "content_kind": "wav2vec2" if cfg.content_model else "mel",
            "content_model": Path(cfg.content_model).name if cfg.content_model else None,
            "speaker": cfg.speaker,
            "sample_rate": fe.SAMPLE_RATE, "hop": fe.HOP}
    path = items_dir / FEATURES_META
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PrepareError(f"{path}: unreadable ({_one_line(str(exc))}); delete {items_dir} to start over") from None
        if old != meta:
            diff = ", ".join(f"{k} {old.get(k)!r} -> {meta[k]!r}" for k in meta if old.get(k) != meta[k])
            raise PrepareError(f"{items_dir} holds items made with other settings ({diff}); "
                               f"use another output folder or delete {items_dir}")
    else:
        items_dir.mkdir(parents=True, exist_ok=True)
        _write_json(path, meta)
    return meta


def _validate(cfg: PrepareConfig) -> None:
    if cfg.corpus not in CORPORA:
        raise PrepareError(f"unknown corpus {cfg.corpus!r} (use {', '.join(CORPORA)})")
    if cfg.speaker not in SPEAKER_KINDS:
        raise PrepareError(f"unknown speaker embedding {cfg.speaker!r} (use {', '.join(SPEAKER_KINDS)})")
    if cfg.split_by not in ("speaker", "song"):
        raise PrepareError(f"split_by must be 'speaker' or 'song', got {cfg.split_by!r}")
    if not (0 <= cfg.valid < 1 and 0 <= cfg.test < 1):
        raise PrepareError(f"{option('valid', 'test')} must be fractions in [0, 1), got {cfg.valid:g}, {cfg.test:g}")
    if cfg.max_seconds is not None and not cfg.max_seconds > 0:
        raise PrepareError(f"max_seconds must be positive, got {cfg.max_seconds}")
    if not str(cfg.source):
        raise PrepareError("no corpus source given")
    if not str(cfg.out):
        raise PrepareError("no output folder given")
    _check_out_vs_source(Path(cfg.out), Path(cfg.source))
    if cfg.content_model and not Path(cfg.content_model).is_dir():
        from ..audio.content import W2V_HINT

        raise PrepareError(f"content model folder not found: {cfg.content_model}; {W2V_HINT}")


def _check_out_vs_source(out: Path, source: Path) -> None:
    """The prepared data never replaces the corpus: the output folder is not the corpus folder nor
    one that holds it, and none of the files it writes is the corpus manifest or a device."""
    import os

    from ..paths import check_output

    real_out, real_src = os.path.realpath(out), os.path.realpath(source)
    holds = source.is_dir() and real_src.startswith(real_out.rstrip(os.sep) + os.sep)
    if real_out == real_src or holds:
        raise PrepareError(f"{out}: the output folder is (or holds) the corpus {source}; its train/valid/test "
                           f"folders would replace the corpus's; choose another folder")
    if out.is_dir():
        for name in (STATS, PROBLEMS):
            check_output(out / name, "prepared data", {"corpus": str(source)}, error=PrepareError)


# --------------------------------------------------------------------------- prepare


def prepare(cfg: PrepareConfig, progress: bool = True) -> PrepareReport:
    """Prepare ``cfg.source`` into ``cfg.out`` (see the module doc). Resumable; returns a report.

    Raises :class:`PrepareError` / other AlignSTSError subclasses (one line) when the run as a
    whole cannot go on: bad settings, an unreadable corpus root, models that do not load, items
    from other settings in the output folder, or no training item at all.
    """
    t0 = time.perf_counter()
    _validate(cfg)
    out = Path(cfg.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PrepareError(f"cannot create output folder {out}: {exc.strerror}") from None
    items_dir = out / ITEMS
    meta = _check_features_meta(items_dir, cfg)

    listing = _read_corpus(cfg)
    problems = [_one_line(p) for p in listing.problems]
    seen: dict[str, Pair] = {}
    pairs: list[Pair] = []
    for p in listing.pairs:
        iid = item_id(p)
        if iid in seen:
            problems.append(f"duplicate item id {iid}: {p.speech} / {p.singing} (keeping {seen[iid].speech})")
            continue
        seen[iid] = p
        pairs.append(p)
    if not pairs:
        atomic_write_text(out / PROBLEMS, "".join(f"{p}\n" for p in problems))
        raise PrepareError(f"no speech/singing pair found in {cfg.source} "
                           f"({len(problems)} problems listed in {out / PROBLEMS})")
    splits = _split(pairs, cfg)

    counts = {s: SplitCounts() for s in SPLITS}
    split_of: dict[str, str] = {}
    usable: dict[str, list[Pair]] = {s: [] for s in SPLITS}
    jobs: list[tuple] = []
    for name in SPLITS:
        for p in splits[name]:
            iid = item_id(p)
            split_of[iid] = name
            if cfg.max_seconds is not None:
                dur = _durations(p)
                if dur is not None and dur > cfg.max_seconds:
                    counts[name].too_long += 1
                    problems.append(f"too long ({dur:.1f} s > {cfg.max_seconds:g} s), skipped: {iid} "
                                    f"(speech {p.speech}, singing {p.singing})")
                    continue
            usable[name].append(p)
            npz = items_dir / f"{iid}.npz"
            if npz.is_file():
                counts[name].existing += 1
            else:
                jobs.append((iid, str(p.speech), str(p.singing), str(npz), cfg.seed))

    failed: set[str] = set()
    for iid, status, message in _run_jobs(jobs, cfg, progress):
        name = split_of[iid]
        if status == "done":
            counts[name].done += 1
        else:
            counts[name].failed += 1
            failed.add(iid)
            p = seen[iid]
            problems.append(f"failed {iid} (speech {p.speech}, singing {p.singing}): {message}")

    packed: dict[str, Path | None] = {}
    for name in SPLITS:
        items = [{"id": item_id(p), "speaker": p.speaker, "song": p.song, "text": p.text}
                 for p in usable[name] if item_id(p) not in failed]
        counts[name].packed = len(items)
        folder = out / name
        if not items:
            packed[name] = None
            if (folder / store.INDEX).is_file():   # stale split of an earlier run
                shutil.rmtree(folder)
            continue
        try:
            packed[name] = store.write_split(folder, items,
                                             lambda it: store.load_item(items_dir / f"{it['id']}.npz"))
        except DataError:
            raise
        except (OSError, ValueError) as exc:
            raise PrepareError(f"cannot pack {folder}: {_one_line(str(exc))}") from None

    problems_path = out / PROBLEMS
    atomic_write_text(problems_path, "".join(f"{p}\n" for p in problems))
    if packed["train"] is None:
        raise PrepareError(f"no training item could be prepared ({counts['train'].failed} failed, "
                           f"{counts['train'].too_long} too long); see {problems_path}")

    stats = _train_stats(out / "train")
    stats.update({
        "content_kind": meta["content_kind"],
        "speaker_kind": cfg.speaker,
        "sample_rate": fe.SAMPLE_RATE,
        "hop": fe.HOP,
        "counts": {name: asdict(c) for name, c in counts.items()},
        "items": {name: c.packed for name, c in counts.items()},
        "problems": len(problems),
        "config": cfg.to_json(),
    })
    stats_path = out / STATS
    _write_json(stats_path, stats)
    return PrepareReport(out=out, counts=counts, problems=problems, stats_path=stats_path,
                         problems_path=problems_path, splits=packed, seconds=time.perf_counter() - t0)

