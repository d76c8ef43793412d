"""Scoring outputs against target singing, as ``alignsts evaluate`` does (one implementation,
also used by the benchmarks).

A *pair* is an output recording, the target singing it should match, and optionally the speech
it was made from. Both recordings are read at 24 kHz and compared frame by frame in place
(hop 128, Praat F0) over the shorter length, as the AlignSTS evaluation does; MCD is taken
after DTW; speaker similarity is the cosine of Resemblyzer embeddings of whole recordings.
"""
from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..audio import frontend as fe
from ..audio import io
from ..atomic import atomic_open, atomic_path, atomic_write_text
from ..errors import AlignSTSError, EvaluateError
from . import metrics

# the keys of every row (besides "output" and "target"), in table order
FIELDS = ("rca", "rpa", "f0_rmse_cents", "vuv_f1", "lsd", "rrd", "mcd",
          "speaker_sim_target", "speaker_sim_speech")
HEADINGS = {"rca": "RCA", "rpa": "RPA", "f0_rmse_cents": "F0 RMSE (c)", "vuv_f1": "V/UV F1",
            "lsd": "LSD", "rrd": "RRD", "mcd": "MCD", "speaker_sim_target": "sim target",
            "speaker_sim_speech": "sim speech"}
FORMATS = {"rca": ".3f", "rpa": ".3f", "f0_rmse_cents": ".0f", "vuv_f1": ".3f", "lsd": ".2f",
           "rrd": ".2f", "mcd": ".2f", "speaker_sim_target": ".3f", "speaker_sim_speech": ".3f"}
SPEAKER_MODES = ("auto", "on", "off")


@dataclass
class Pair:
    """One output to score against its target singing (and, optionally, the speech it came from)."""
    output: Path
    target: Path
    speech: Path | None = None


@dataclass
class EvalOptions:
    """What to compute: ``mcd`` (the slowest metric), ``speaker`` similarity ('auto' = when
    Resemblyzer is installed), and a folder for pitch-overlay PNGs (``plot_dir``)."""
    mcd: bool = True
    speaker: str = "auto"
    plot_dir: Path | None = None


@dataclass
class Report:
    """Scored rows (``output``, ``target`` and FIELDS; None = not computed) and failed pairs."""
    rows: list[dict] = field(default_factory=list)
    failures: list[tuple[Pair, str]] = field(default_factory=list)

    def mean(self) -> dict:
        """Mean of each metric over the rows where it is a number (None when there are none)."""
        out = {}
        for key in FIELDS:
            vals = [r[key] for r in self.rows if _is_number(r.get(key))]
            out[key] = float(np.mean(vals)) if vals else None
        return out

    def to_dict(self) -> dict:
        """{"rows": [...], "mean": {...}}; NaN becomes null."""
        return {"rows": [{k: _json_value(v) for k, v in r.items()} for r in self.rows],
                "mean": {k: _json_value(v) for k, v in self.mean().items()}}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not math.isnan(v)


def _json_value(v):
    return v if not isinstance(v, float) or not math.isnan(v) else None


def speaker_available() -> bool:
    return importlib.util.find_spec("resemblyzer") is not None


def read_pairs(path: str | os.PathLike) -> list[Pair]:
    """A CSV with a header ``output,target[,speech]`` -> pairs; relative paths are relative to the CSV."""
    import io as _io

    from ..textfiles import read_text

    p = Path(path)
    text = read_text(p, "pairs file", EvaluateError)
    try:
        with _io.StringIO(text, newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in ("output", "target") if c not in header]
            if missing:
                raise EvaluateError(f"{p}: pairs file needs the columns output,target[,speech]; "
                                    f"missing {', '.join(missing)} (header: {','.join(header) or 'none'})")
            rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    except OSError as e:
        raise EvaluateError(f"{p}: cannot read the pairs file ({e.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise EvaluateError(f"{p}: not a readable CSV ({e})") from None
    base = p.parent

    def resolve(value: str) -> Path | None:
        if not value:
            return None
        q = Path(value).expanduser()
        return q if q.is_absolute() else base / q

    pairs = []
    for line, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue
        if not row.get("output") or not row.get("target"):
            raise EvaluateError(f"{p}: line {line}: output and target are both needed")
        pairs.append(Pair(resolve(row["output"]), resolve(row["target"]), resolve(row.get("speech", ""))))
    if not pairs:
        raise EvaluateError(f"{p}: no pairs in the file")
    return pairs


class _Embeddings:
    """Resemblyzer embeddings by file, computed once per file within one evaluation."""

    def __init__(self):
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, path: Path, wav: np.ndarray | None = None) -> np.ndarray:
        key = os.path.realpath(path)
        if key not in self.cache:
            if wav is None:
                wav = io.load(path, fe.SAMPLE_RATE)
            self.cache[key] = metrics.speaker_embedding(wav)
        return self.cache[key]


def evaluate_pair(pair: Pair, options: EvalOptions, embeddings: _Embeddings | None = None,
                  plot: Path | None = None) -> dict:
    """Scores of one pair: {"output", "target", *FIELDS}; ``plot``: also write its pitch overlay PNG there.
    Raises AlignSTSError for unreadable audio."""
    out = io.load(pair.output, fe.SAMPLE_RATE, name=f"output {pair.output}")
    tgt = io.load(pair.target, fe.SAMPLE_RATE, name=f"target {pair.target}")
    n = min(len(out), len(tgt))
    tgt_f0 = fe.f0_praat(tgt[:n])
    out_f0 = fe.f0_praat(out[:n])
    s = metrics.score(tgt, out, with_mcd=options.mcd, ref_f0=tgt_f0, est_f0=out_f0)
    row = {"output": str(pair.output), "target": str(pair.target),
           "rca": s.rca, "rpa": s.rpa, "f0_rmse_cents": s.f0_rmse_cents, "vuv_f1": s.vuv_f1,
           "lsd": s.lsd, "rrd": s.rrd, "mcd": s.mcd, "speaker_sim_target": None, "speaker_sim_speech": None}
    if _use_speaker(options):
        emb = embeddings or _Embeddings()
        e_out = emb(pair.output, out)
        row["speaker_sim_target"] = metrics.cosine(e_out, emb(pair.target, tgt))
        if pair.speech is not None:
            row["speaker_sim_speech"] = metrics.cosine(e_out, emb(pair.speech))
    if plot is not None:
        plot_pitch(tgt_f0, out_f0, plot, title=f"{Path(pair.output).name} vs {Path(pair.target).name}: RCA {s.rca:.3f}, "
                         f"F0 RMSE {s.f0_rmse_cents:.0f} cents")
    return row


def _use_speaker(options: EvalOptions) -> bool:
    if options.speaker not in SPEAKER_MODES:
        raise EvaluateError(f"speaker similarity: expected one of {', '.join(SPEAKER_MODES)}, got {options.speaker!r}")
    if options.speaker == "off":
        return False
    if options.speaker == "on" and not speaker_available():
        raise EvaluateError("speaker similarity needs resemblyzer: pip install 'alignsts[neural]'")
    return speaker_available()


def evaluate(pairs: list[Pair], options: EvalOptions | None = None,
             on_row: Callable[[Pair, dict | None, str | None], None] | None = None) -> Report:
    """Score every pair; a pair that cannot be read is recorded in ``failures`` and the rest go on.
    ``on_row(pair, row, error)`` is called after each pair."""
    options = options or EvalOptions()
    _use_speaker(options)                        # a bad option fails before any work
    if options.plot_dir is not None:
        _make_dir(Path(options.plot_dir))
    embeddings = _Embeddings()
    report = Report()
    plots = _plot_paths(pairs, options.plot_dir)
    for pair, plot in zip(pairs, plots):
        try:
            row, err = evaluate_pair(pair, options, embeddings, plot), None
            report.rows.append(row)
        except AlignSTSError as e:
            row, err = None, str(e)
            report.failures.append((pair, err))
        if on_row is not None:
            on_row(pair, row, err)
    return report


def check_report_path(path: str | os.PathLike, pairs: list[Pair], suffix: str,
                      inputs: list | None = None) -> Path:
    """Fail before any work when a report file cannot be written or would replace an input: the
    one output check (alignsts.paths.check_output) against every pair's files and ``inputs``
    (the pairs CSV)."""
    from ..paths import check_output

    p = Path(path)
    if p.suffix.lower() != suffix:
        raise EvaluateError(f"{p}: expected a {suffix} file name")
    files = [q for pair in pairs for q in (pair.output, pair.target, pair.speech) if q is not None]
    check_output(p, f"{suffix[1:].upper()} report", {"recording being evaluated": files,
                                                     "input": list(inputs or [])}, error=EvaluateError)
    return p


def _plot_paths(pairs: list[Pair], plot_dir) -> list[Path | None]:
    """One PNG per output in ``plot_dir`` (same-named outputs get a suffix), each through the one
    output check before any work: never one of the recordings evaluated, never a device."""
    if plot_dir is None:
        return [None] * len(pairs)
    from ..paths import check_output

    files = [q for pair in pairs for q in (pair.output, pair.target, pair.speech) if q is not None]
    out, used = [], set()
    for pair in pairs:
        stem = Path(pair.output).stem
        while stem in used:
            stem += "_"
        used.add(stem)
        out.append(check_output(Path(plot_dir) / f"{stem}_pitch.png", "pitch plot",
                                {"recording being evaluated": files}, error=EvaluateError))
    return out


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EvaluateError(f"{path}: cannot create the plot folder ({e.strerror})") from None


def _cell(key: str, value) -> str:
    return format(value, FORMATS[key]) if _is_number(value) else "-"


def format_table(report: Report) -> str:
    """A Markdown table: one line per row, then the mean."""
    head = "| output | " + " | ".join(HEADINGS[k] for k in FIELDS) + " |"
    lines = [head, "|" + "---|" * (len(FIELDS) + 1)]
    for r in report.rows:
        lines.append(f"| {Path(r['output']).name} | " + " | ".join(_cell(k, r.get(k)) for k in FIELDS) + " |")
    if len(report.rows) > 1:
        mean = report.mean()
        lines.append(f"| mean (n={len(report.rows)}) | " + " | ".join(_cell(k, mean[k]) for k in FIELDS) + " |")
    return "\n".join(lines)


def write_json(report: Report, path: str | os.PathLike) -> Path:
    """The report as JSON ({"rows": [...], "mean": {...}}), written atomically."""
    atomic_write_text(path, json.dumps(report.to_dict(), indent=2) + "\n")
    return Path(path)


def write_csv(report: Report, path: str | os.PathLike) -> Path:
    """One line per row (output, target, FIELDS; empty = not computed), written atomically."""
    with atomic_open(path, "w") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("output", "target") + FIELDS)
        for r in report.rows:
            w.writerow([r["output"], r["target"]] + ["" if not _is_number(r.get(k)) else repr(float(r[k]))
                                                     for k in FIELDS])
    return Path(path)


def plot_pitch(target_f0: np.ndarray, output_f0: np.ndarray, path: Path, title: str = "") -> Path:
    """PNG of the output's F0 over the target's ([T] Hz each, 0 = unvoiced; log frequency axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def masked(f0):
        f = np.asarray(f0, dtype=float).copy()
        f[f <= 0] = np.nan
        return f

    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(fe.frame_times(len(target_f0)), masked(target_f0), color="tab:blue", lw=1.4, label="target F0")
    ax.plot(fe.frame_times(len(output_f0)), masked(output_f0), color="tab:red", lw=0.9, label="output F0")
    ax.set_yscale("log")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("F0 (Hz)")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
