"""Per-item features and ``prepare`` end to end, on a tiny synthetic PopBuTFy-style corpus."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from alignsts.audio import frontend as fe
from alignsts.data import (
    FEATURE_KEYS,
    PrepareConfig,
    PrepareError,
    SplitReader,
    item_features,
    item_id,
    load_item,
    make_speaker_fn,
    mel_content,
    prepare,
)
from alignsts.data.corpus import Pair
from alignsts.errors import AudioInputError

SR = fe.SAMPLE_RATE
NOTES_HZ = (196.0, 220.0, 261.6, 293.7)     # the singing melody's held pitches
SPEAKERS = ("spkA", "spkB", "spkC")


def _harmonic(f0: np.ndarray, n_harm: int = 8) -> np.ndarray:
    """Harmonic wave following a per-sample F0 track [N] (1/k amplitudes), peak 1."""
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, n_harm + 1))
    return x / np.max(np.abs(x))


def speech_wave(seed: int, dur: float = 1.0) -> np.ndarray:
    """Speech-like: a gliding ~140 Hz voice with four syllable-like amplitude bumps."""
    n = int(dur * SR)
    t = np.arange(n) / SR
    f0 = 140.0 + 15.0 * np.sin(2 * np.pi * 1.3 * t + seed)
    env = np.zeros(n)
    for c in (0.15, 0.38, 0.62, 0.85):
        env += np.exp(-0.5 * ((t - c) / 0.06) ** 2)
    return (0.5 * env * _harmonic(f0)).astype(np.float32)


def singing_wave(seed: int, dur: float = 1.0) -> np.ndarray:
    """Sung-like: held notes from NOTES_HZ with short gaps between them."""
    n = int(dur * SR)
    notes = np.roll(np.array(NOTES_HZ), seed)
    seg = n // len(notes)
    f0 = np.repeat(notes, seg)
    f0 = np.concatenate([f0, np.full(n - len(f0), notes[-1])])
    env = np.ones(n)
    for i in range(1, len(notes)):
        env[i * seg - 240:i * seg + 240] = 0.05
    return (0.4 * env * _harmonic(f0)).astype(np.float32)


def _write(path: Path, wav: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wav, SR, subtype="PCM_16")
    return path


def make_corpus(root: Path, speakers=SPEAKERS, items=("0001", "0002"), extras: bool = True) -> Path:
    for s, spk in enumerate(speakers):
        for i, idx in enumerate(items):
            _write(root / spk / f"{spk}#song{i}#歌词#{idx}.wav", speech_wave(s * 10 + i))
            _write(root / spk / f"{spk}#song{i}#专业#{idx}.wav", singing_wave(s + i))
    if extras:
        # a speech file without its singing
        _write(root / "spkB" / "spkB#song9#歌词#0009.wav", speech_wave(99))
        # a pair whose singing file is not audio
        _write(root / "spkA" / "spkA#song5#歌词#0005.wav", speech_wave(55))
        (root / "spkA" / "spkA#song5#专业#0005.wav").write_bytes(b"RIFF\x00\x00garbage, not a wav file" * 3)
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "PopBuTFy")


@pytest.fixture(scope="module")
def prepared(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared")
    cfg = PrepareConfig(corpus="popbutfy", source=corpus, out=out, content_model=None, speaker="none",
                        workers=2, split_by="speaker", valid=0.3, test=0.3, seed=3)
    return cfg, prepare(cfg, progress=False)


# ----------------------------------------------------------------- item_features


def test_item_features_keys_dtypes_shapes():
    speech, sing = speech_wave(0), singing_wave(0)
    f = item_features(speech, sing, mel_content, make_speaker_fn("none"), np.random.default_rng(0))
    assert tuple(f) == FEATURE_KEYS
    t1 = fe.n_frames(len(sing))
    assert f["sing_mel"].dtype == np.float32 and f["sing_mel"].shape == (t1, 80)
    assert f["sing_f0"].dtype == np.float32 and f["sing_f0"].shape == (t1,)
    assert f["sing_rhythm"].dtype == np.float32 and f["sing_rhythm"].shape == (t1,)
    assert f["sing_wav"].dtype == np.int16 and f["sing_wav"].shape == (t1 * fe.HOP,)
    t2 = fe.n_frames(len(speech))
    assert f["content"].dtype == np.float32 and f["content"].shape == (t2, 80)
    assert f["speech_rhythm"].dtype == np.float32 and f["speech_rhythm"].shape == (t2,)
    assert f["sing_content"].dtype == np.float32 and f["sing_content"].shape == (t1, 80)
    assert f["spk"].dtype == np.float32 and f["spk"].shape == (1, 256) and not f["spk"].any()
    voiced = f["sing_f0"][f["sing_f0"] > 0]
    assert len(voiced) > 0.5 * t1
    assert min(NOTES_HZ) * 0.95 < np.median(voiced) < max(NOTES_HZ) * 1.05
    # sing_wav is the singing itself, as PCM 16
    np.testing.assert_allclose(f["sing_wav"][: len(sing)] / 32767.0, sing, atol=1e-4)
    for k, a in f.items():
        assert np.all(np.isfinite(a)), k


def test_item_features_is_reproducible_with_a_seeded_rng():
    args = (speech_wave(1), singing_wave(1), mel_content, make_speaker_fn("none"))
    a = item_features(*args, np.random.default_rng(5))
    b = item_features(*args, np.random.default_rng(5))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("sing, what", [
    (np.zeros(SR, np.float32), "silent"),
    (np.zeros(0, np.float32), "no samples"),
    (np.random.default_rng(0).uniform(-0.3, 0.3, SR).astype(np.float32), "no voiced frame"),
])
def test_item_features_rejects_unusable_singing(sing, what):
    with pytest.raises(AudioInputError, match=what) as info:
        item_features(speech_wave(0), sing, mel_content, make_speaker_fn("none"), np.random.default_rng(0))
    assert "\n" not in str(info.value) and str(info.value).startswith("singing")


def test_item_id_is_filesystem_safe_and_unique():
    p = Pair(Path("a.wav"), Path("b.wav"), "spk", "song", "clips/a.wav")
    q = Pair(Path("a.wav"), Path("b.wav"), "spk", "song", "clips_a.wav")
    assert "/" not in item_id(p) and item_id(p) != item_id(q)
    assert item_id(Pair(Path("a"), Path("b"), "男1", "小幸运", "0001")) == "男1#小幸运#0001"
    assert not item_id(Pair(Path("a"), Path("b"), ".hidden", "s", "1")).startswith(".")


# ----------------------------------------------------------------- prepare


@pytest.mark.slow
def test_prepare_end_to_end(prepared, corpus):
    cfg, report = prepared
    out = Path(cfg.out)
    readers = {name: SplitReader(out / name) for name in ("train", "valid", "test")}
    assert {n: len(r) for n, r in readers.items()} == {"train": 2, "valid": 2, "test": 2}
    speakers = {n: {it["speaker"] for it in r.items} for n, r in readers.items()}
    assert all(len(s) == 1 for s in speakers.values())
    assert len(set.union(*speakers.values())) == 3          # speaker-disjoint
    assert report.total("done") == 6 and report.total("failed") == 1 and report.total("existing") == 0
    assert report.splits == {n: out / n for n in ("train", "valid", "test")}

    item = readers["train"][0]
    assert set(item) == set(FEATURE_KEYS)
    assert item["sing_mel"].shape[1] == 80 and item["content"].shape[1] == 80
    assert len(item["sing_wav"]) == len(item["sing_f0"]) * fe.HOP

    probs = "\n".join(report.problems)
    assert "spkB/song9/0009" in probs                        # the orphan speech
    assert "spkA#song5#专业#0005.wav" in probs and "failed spkA#song5#0005" in probs  # the broken file
    lines = (out / "problems.txt").read_text(encoding="utf-8").splitlines()
    assert lines == report.problems and len(lines) == 2

    stats = json.loads(report.stats_path.read_text(encoding="utf-8"))
    assert min(NOTES_HZ) * 0.95 < stats["f0_mean"] < max(NOTES_HZ) * 1.05
    assert 0 < stats["f0_std"] < 100
    assert np.log2(min(NOTES_HZ)) - 0.1 < stats["log2_f0_mean"] < np.log2(max(NOTES_HZ)) + 0.1
    assert len(stats["mel_min"]) == len(stats["mel_max"]) == 80
    assert all(lo <= hi for lo, hi in zip(stats["mel_min"], stats["mel_max"]))
    assert stats["content_kind"] == "mel" and stats["content_dim"] == 80 and stats["speaker_kind"] == "none"
    assert stats["items"] == {"train": 2, "valid": 2, "test": 2}
    assert stats["config"]["workers"] == 2 and stats["config"]["source"] == str(corpus)


def test_prepare_resumes_without_recomputing(prepared, tmp_path):
    cfg, _ = prepared
    out = tmp_path / "out"
    shutil.copytree(cfg.out, out)
    items = sorted((out / "items").glob("*.npz"))
    assert len(items) == 6
    mtimes = {p: p.stat().st_mtime_ns for p in items}
    cfg2 = PrepareConfig(**{**cfg.__dict__, "out": out, "workers": 1})

    again = prepare(cfg2, progress=False)
    assert again.total("done") == 0 and again.total("existing") == 6
    assert again.total("failed") == 1                       # the broken file is retried, and fails again
    assert {p: p.stat().st_mtime_ns for p in items} == mtimes

    victim = items[2]
    before = load_item(victim)
    victim.unlink()
    third = prepare(cfg2, progress=False)
    assert third.total("done") == 1 and third.total("existing") == 5
    assert victim.is_file()
    assert {p: p.stat().st_mtime_ns for p in items if p != victim} == {p: t for p, t in mtimes.items() if p != victim}
    after = load_item(victim)
    for k in before:                                          # same seed: the same features
        np.testing.assert_array_equal(before[k], after[k])


def test_prepare_explicit_groups_and_max_seconds_reuse_items(prepared, tmp_path):
    cfg, _ = prepared
    out = tmp_path / "out"
    shutil.copytree(cfg.out, out)
    cfg2 = PrepareConfig(**{**cfg.__dict__, "out": out, "workers": 1,
                            "valid_groups": ["spkC"], "test_groups": None})
    rep = prepare(cfg2, progress=False)
    assert rep.total("done") == 0
    assert {it["speaker"] for it in SplitReader(out / "valid").items} == {"spkC"}
    assert {it["speaker"] for it in SplitReader(out / "train").items} == {"spkA", "spkB"}
    assert rep.splits["test"] is None and not (out / "test").exists()   # empty split: recorded, stale one removed
    assert rep.counts["test"].packed == 0

    with pytest.raises(PrepareError, match="no training item.*1 failed, 4 too long"):
        prepare(PrepareConfig(**{**cfg2.__dict__, "max_seconds": 0.5}), progress=False)
    problems = (out / "problems.txt").read_text(encoding="utf-8")
    assert problems.count("too long (1.0 s > 0.5 s), skipped") == 6


def test_prepare_errors_are_one_line(prepared, corpus, tmp_path):
    cfg, _ = prepared
    with pytest.raises(PrepareError, match="unknown corpus"):
        prepare(PrepareConfig(corpus="nope", source=corpus, out=tmp_path / "o"), progress=False)
    with pytest.raises(PrepareError, match="not in the corpus"):
        prepare(PrepareConfig(source=corpus, out=tmp_path / "o", speaker="none", workers=1,
                              valid_groups=["nobody"]), progress=False)
    with pytest.raises(PrepareError, match="content model folder not found"):
        prepare(PrepareConfig(source=corpus, out=tmp_path / "o", content_model=str(tmp_path / "missing"),
                              speaker="none"), progress=False)
    # items made with mel content are not mixed with wav2vec2 ones
    (tmp_path / "w2v").mkdir()
    with pytest.raises(PrepareError, match="other settings"):
        prepare(PrepareConfig(**{**cfg.__dict__, "content_model": str(tmp_path / "w2v")}), progress=False)


def test_data_package_import_is_torch_free():
    code = ("import sys, alignsts.data, alignsts.data.prepare, alignsts.data.features; "
            "bad = [m for m in ('torch', 'transformers', 'resemblyzer') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------- wav2vec2 content

@pytest.fixture(scope="module")
def tiny_w2v(tmp_path_factory) -> tuple[Path, int]:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    vocab = 12
    cfg = transformers.Wav2Vec2Config(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
        conv_dim=(16, 16, 16), conv_stride=(5, 8, 8), conv_kernel=(10, 8, 8), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, do_stable_layer_norm=False)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("w2v") / "tiny"
    transformers.Wav2Vec2ForCTC(cfg).save_pretrained(str(folder))
    return folder, vocab


def test_item_features_with_wav2vec2_content(tiny_w2v):
    from alignsts.data import make_w2v_content

    folder, vocab = tiny_w2v
    fn = make_w2v_content(str(folder), "cpu")
    speech, sing = speech_wave(2), singing_wave(2)
    f = item_features(speech, sing, fn, make_speaker_fn("none"), np.random.default_rng(0))
    assert f["content"].dtype == np.float32 and f["content"].shape[1] == vocab
    assert f["sing_content"].shape[1] == vocab
    # wav2vec2 frames: 20 ms at 16 kHz
    assert abs(len(f["content"]) - len(speech) / SR * 50) <= 2
    assert f["sing_mel"].shape == (fe.n_frames(len(sing)), 80)


def test_prepare_with_wav2vec2_content(tiny_w2v, tmp_path):
    folder, vocab = tiny_w2v
    src = make_corpus(tmp_path / "corpus", speakers=("solo",), extras=False)
    cfg = PrepareConfig(corpus="popbutfy", source=src, out=tmp_path / "out", content_model=str(folder),
                        speaker="none", workers=1, valid=0, test=0)
    rep = prepare(cfg, progress=False)
    assert rep.total("done") == 2 and rep.splits["valid"] is None and rep.splits["test"] is None
    stats = json.loads(rep.stats_path.read_text(encoding="utf-8"))
    assert stats["content_kind"] == "wav2vec2" and stats["content_dim"] == vocab
    reader = SplitReader(tmp_path / "out" / "train")
    assert reader.keys["content"]["tail"] == [vocab] and reader.keys["sing_content"]["tail"] == [vocab]
