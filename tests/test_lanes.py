"""Threads inside one conversion (alignsts.lanes): results in order, errors where they are read,
one thread = plain calls, and engines whose output does not depend on the thread count."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from alignsts import lanes
from alignsts.audio import chunks
from alignsts.audio import frontend as fe
from alignsts.engines import reference as ref_engine


def test_thread_count_setting():
    assert lanes.thread_count(1) == 1
    assert lanes.thread_count(3) == 3
    auto = lanes.thread_count(0)
    assert 1 <= auto <= min(lanes.usable_cores(), lanes.MAX_AUTO_THREADS)


def test_one_thread_runs_on_the_calling_thread_at_once():
    seen = []
    with lanes.Lanes(1) as work:
        assert not work.parallel
        job = work.start(lambda: seen.append(threading.current_thread()) or 7)
        assert seen == [threading.current_thread()]      # ran before start() returned
        assert job.result() == 7
        assert list(work.ordered(lambda x: x * x, range(5))) == [0, 1, 4, 9, 16]


def test_errors_come_from_result_with_one_thread_and_with_several():
    for n in (1, 2):
        with lanes.Lanes(n) as work:
            job = work.start(lambda: 1 / 0)
            with pytest.raises(ZeroDivisionError):
                job.result()


def test_ordered_keeps_the_order_and_bounds_what_is_ahead():
    running, peak = [0], [0]
    lock = threading.Lock()

    def slow(x):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02 * (5 - x % 5))     # later items finish first
        with lock:
            running[0] -= 1
        return x

    with lanes.Lanes(3) as work:
        assert work.parallel
        out = []
        for x in work.ordered(slow, range(12)):
            out.append(x)
            assert running[0] <= 3
    assert out == list(range(12))
    assert 2 <= peak[0] <= 3          # really in parallel, never more than the threads


def test_tasks_really_overlap():
    """Two waits of 0.3 s on two threads end together: they ran side by side (an event, not a clock)."""
    both = threading.Barrier(2, timeout=10)
    with lanes.Lanes(2) as work:
        a, b = work.start(both.wait), work.start(both.wait)
        a.result(), b.result()        # a BrokenBarrierError here: they did not run at once


def test_leaving_after_an_error_does_not_wait_for_queued_tasks():
    gate = threading.Event()
    ran = []
    with pytest.raises(RuntimeError):
        with lanes.Lanes(2) as work:
            work.start(gate.wait, 10)
            work.start(gate.wait, 10)
            work.start(ran.append, 1)     # queued behind two busy threads: cancelled
            raise RuntimeError("stop")
    gate.set()
    time.sleep(0.05)
    assert ran == []


# --------------------------------------------------------------- the output does not depend on threads
SMALL = chunks.PieceConfig(piece_s=1.5, analysis_s=1.0, analysis_margin_s=0.5)


def _tone_speech_and_song(seconds: float = 5.0):
    """A voiced 'speech' (gliding, with breaks) and a 'song' of held notes: [N], [M] at 24 kHz."""
    sr = fe.SAMPLE_RATE
    t = np.arange(int(seconds * sr)) / sr
    f_s = 130 + 20 * np.sin(2 * np.pi * 0.7 * t)
    speech = 0.3 * np.sin(2 * np.pi * np.cumsum(f_s) / sr) * (np.sin(2 * np.pi * 1.5 * t) > -0.3)
    t2 = np.arange(int(seconds * 1.2 * sr)) / sr
    f_m = 220 * 2 ** (np.floor(t2 * 2) % 5 / 12)
    song = 0.3 * np.sin(2 * np.pi * np.cumsum(f_m) / sr) * (np.sin(2 * np.pi * 1.0 * t2) > -0.6)
    rng = np.random.default_rng(1)
    return ((speech + 0.003 * rng.standard_normal(len(t))).astype(np.float32),
            (song + 0.003 * rng.standard_normal(len(t2))).astype(np.float32))


@pytest.mark.parametrize("pieces", [chunks.PieceConfig(), SMALL], ids=["whole", "windows-and-pieces"])
def test_reference_engine_output_is_the_same_on_one_thread_and_on_two(pieces):
    speech, song = _tone_speech_and_song()
    outs = []
    for threads in (1, 2):
        cfg = ref_engine.ReferenceConfig(pieces=chunks.PieceConfig(**{**vars(pieces), "threads": threads}),
                                         speaker_embedding="none")
        y, analysis = ref_engine.convert(speech, song, cfg)
        outs.append((y, analysis.target_f0, analysis.source))
    assert len(chunks.plan_pieces(len(outs[0][1]), SMALL.piece_frames())) > 2   # really in pieces
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def test_framewise_in_parallel_equals_in_turn():
    x = np.random.default_rng(0).standard_normal(6 * fe.SAMPLE_RATE).astype(np.float32)
    fn = lambda seg, n: np.sqrt(np.mean(fe.stft_magnitude(seg)[:n] ** 2, axis=1))   # noqa: E731
    ticks = []
    with lanes.Lanes(2) as work:
        par = chunks.framewise(x, fn, cfg=SMALL, lanes=work, tick=ticks.append)
    np.testing.assert_array_equal(par, chunks.framewise(x, fn, cfg=SMALL))
    assert ticks == sorted(ticks) and ticks[-1] == 1.0


@pytest.mark.slow
def test_real_pair_with_the_speaker_embedding_is_the_same_on_one_thread_and_on_two(sts_pair):
    """The embedding, started before it is known to be needed, runs beside the analysis: the
    decision it enters and the output are those of one thread."""
    from alignsts import api
    from alignsts.melody import key

    if not key.embedding_available():
        pytest.skip("resemblyzer is not installed")
    speech, sing = sts_pair("en-nhss-2")
    results = [api.convert(speech, reference=sing, config=ref_engine.ReferenceConfig(
        pieces=chunks.PieceConfig(threads=n), speaker_embedding="resemblyzer")) for n in (1, 2)]
    a, b = (r.analysis.key for r in results)
    assert a.cues.embedding == b.cues.embedding == "ran"
    assert a.cues.embedding_cosine == b.cues.embedding_cosine
    np.testing.assert_array_equal(results[0].wav, results[1].wav)


@pytest.mark.parametrize("block_s", [30.0, 2.0], ids=["one-block", "blocks"])
def test_separation_is_the_same_on_one_thread_and_on_two(block_s):
    from alignsts.audio import separate as sep

    sr = fe.SAMPLE_RATE
    t = np.arange(int(6.5 * sr)) / sr
    voice = 0.2 * np.sin(2 * np.pi * np.cumsum(220 * 2 ** (0.02 * np.sin(2 * np.pi * 5 * t))) / sr)
    band = 0.1 * np.sin(2 * np.pi * 110 * t) + 0.02 * np.random.default_rng(0).standard_normal(len(t))
    song = np.stack([voice + band, voice + 0.8 * band], axis=1).astype(np.float32)
    stems = [sep.separate(song, sr, sep.SeparatorConfig(threads=n, block_s=block_s, context_s=0.5))
             for n in (1, 2)]
    for a, b in ((stems[0].vocals, stems[1].vocals), (stems[0].f0, stems[1].f0)):
        np.testing.assert_array_equal(a, b)


def test_blas_runs_on_one_thread_inside_parallel_lanes_and_as_before_after():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return sorted(p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas")

    np.ones((4, 4)) @ np.ones((4, 4))          # BLAS loaded
    before = blas_threads()
    with lanes.Lanes(2):
        assert set(blas_threads()) <= {1}
    assert blas_threads() == before
    with lanes.Lanes(1):                       # one thread: BLAS left as it is
        assert blas_threads() == before


def _cli(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "alignsts", *args], capture_output=True, text=True, timeout=300)


def test_cli_threads_gives_the_same_file_and_refuses_bad_counts(tmp_path):
    from alignsts.api import demo_files

    speech, sing, _ = demo_files()
    outs = []
    for n in ("1", "2"):
        out = tmp_path / f"out{n}.wav"
        done = _cli("convert", str(speech), "--reference", str(sing), "-o", str(out), "--threads", n, "-q")
        assert done.returncode == 0, done.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    for bad in ("-1", "65", "two"):
        done = _cli("convert", str(speech), "--reference", str(sing), "-o", str(tmp_path / "bad.wav"), "--threads", bad)
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        assert done.returncode == 2 and len(lines) == 1 and "--threads" in lines[0], done.stderr
    assert not (tmp_path / "bad.wav").exists()


def test_api_threads_option_reaches_the_engines():
    from alignsts import api
    from alignsts.errors import InvalidValueError

    for engine in ("reference", "score"):
        cfg = api.engine_options(api.engine_config(engine), engine, threads=3)
        assert cfg.pieces.threads == 3
    with pytest.raises(InvalidValueError, match="threads"):
        api.engine_options(api.engine_config("reference"), "reference", threads=-2)


def test_batch_threads_per_conversion_give_the_same_files(tmp_path):
    from alignsts import batch
    from alignsts.api import demo_files
    from alignsts.errors import AlignSTSError

    speech, sing, _ = demo_files()
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f"speech,reference,output\n{speech},{sing},one.wav\n{speech},{sing},two.wav\n")
    files = {}
    for threads in (1, 2):
        for name in ("one.wav", "two.wav"):
            (tmp_path / name).unlink(missing_ok=True)
        report = batch.run(manifest, workers=1, threads=threads, progress=False)
        assert report.converted == 2 and not report.problems
        files[threads] = [(tmp_path / n).read_bytes() for n in ("one.wav", "two.wav")]
    assert files[1] == files[2]
    with pytest.raises(AlignSTSError, match="threads"):
        batch.run(manifest, workers=1, threads=0, progress=False)
