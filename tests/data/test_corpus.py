"""Corpus readers (PopBuTFy, NHSS-like, CSV manifest) and the disjoint split, on tiny fake corpora."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from alignsts.data import CorpusListing, Pair, read_manifest, read_nhss, read_popbutfy, split
from alignsts.data.corpus import CorpusError


def wav(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(160, dtype=np.float32), 16000)
    return path


# ----------------------------------------------------------------- PopBuTFy


def test_popbutfy_pairs_nested_and_reports_missing_sides(tmp_path):
    root = tmp_path / "PopBuTFy"
    wav(root / "a" / "男1#小幸运#歌词#0001.wav")
    wav(root / "b" / "deep" / "男1#小幸运#专业#0001.wav")  # other folder, still paired
    wav(root / "男1#小幸运#歌词#0002.wav")
    wav(root / "男1#小幸运#专业#0002.wav")
    wav(root / "女2#晴天#歌词#0007.wav")  # speech only
    wav(root / "女2#晴天#专业#0009.wav")  # singing only
    wav(root / "readme.wav")  # bad name
    (root / "notes.txt").write_text("ignored")

    out = read_popbutfy(root)
    assert isinstance(out, CorpusListing)
    assert [(p.speaker, p.song, p.item) for p in out.pairs] == [("男1", "小幸运", "0001"), ("男1", "小幸运", "0002")]
    first = out.pairs[0]
    assert first.speech.name == "男1#小幸运#歌词#0001.wav" and first.singing.name == "男1#小幸运#专业#0001.wav"
    assert first.text is None
    assert len(out.problems) == 3
    probs = "\n".join(out.problems)
    assert "missing singing for 女2/晴天/0007" in probs
    assert "missing speech for 女2/晴天/0009" in probs
    assert "readme.wav" in probs


def test_popbutfy_missing_root_raises(tmp_path):
    with pytest.raises(CorpusError):
        read_popbutfy(tmp_path / "nope")


def test_pair_is_frozen():
    p = Pair(Path("a.wav"), Path("b.wav"), "s", "g", "1", None)
    with pytest.raises(Exception):
        p.speaker = "x"  # type: ignore[misc]


# ----------------------------------------------------------------- NHSS


def test_nhss_whole_and_segment_layouts(tmp_path):
    root = tmp_path / "NHSS"
    wav(root / "M01" / "S01" / "speech.wav")
    wav(root / "M01" / "S01" / "song.wav")
    wav(root / "F02" / "S03" / "Speech" / "01.wav")
    wav(root / "F02" / "S03" / "Speech" / "02.wav")
    wav(root / "F02" / "S03" / "Song" / "01.wav")
    wav(root / "F02" / "S04" / "song.wav")  # no speech

    out = read_nhss(root)
    keys = [(p.speaker, p.song, p.item) for p in out.pairs]
    assert keys == [("F02", "S03", "01"), ("M01", "S01", "")]
    assert out.pairs[1].speech.name == "speech.wav" and out.pairs[1].singing.name == "song.wav"
    assert len(out.problems) == 2
    probs = "\n".join(out.problems)
    assert "missing singing for F02/S03/02" in probs
    assert "missing speech for F02/S04/" in probs


# ----------------------------------------------------------------- manifest


def test_manifest_relative_paths_text_and_bad_rows(tmp_path):
    wav(tmp_path / "audio" / "说话1.wav")
    wav(tmp_path / "audio" / "唱歌1.wav")
    wav(tmp_path / "audio" / "s2.wav")
    abs_sing = wav(tmp_path / "elsewhere" / "g2.wav")
    csv_path = tmp_path / "lists" / "train.csv"
    csv_path.parent.mkdir()
    lines = [
        "speech_path,singing_path,speaker,text",
        "../audio/说话1.wav,../audio/唱歌1.wav,张三,你好 世界",  # line 2 ok
        f"../audio/s2.wav,{abs_sing},li,",  # line 3 ok, empty text -> None
        "../audio/s2.wav,../audio/missing.wav,li,x",  # line 4 missing file
        "only,two",  # line 5 wrong field count
        "",  # line 6 blank: ignored
        '../audio/s2.wav,../audio/唱歌1.wav,,"a, b"',  # line 7 empty speaker
    ]
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    out = read_manifest(csv_path)
    assert len(out.pairs) == 2
    a, b = out.pairs
    assert a.speech == csv_path.parent / "../audio/说话1.wav" and a.speech.is_file()
    assert a.speaker == "张三" and a.text == "你好 世界" and a.song == "唱歌1"
    assert b.singing == abs_sing and b.text is None
    assert len(out.problems) == 3
    assert out.problems[0].startswith("line 4:") and "missing.wav" in out.problems[0]
    assert out.problems[1].startswith("line 5:") and "expected 4 fields" in out.problems[1]
    assert out.problems[2].startswith("line 7:") and "speaker" in out.problems[2]


def test_manifest_without_text_column(tmp_path):
    wav(tmp_path / "a.wav")
    wav(tmp_path / "b.wav")
    m = tmp_path / "m.csv"
    m.write_text("speech_path,singing_path,speaker\na.wav,b.wav,spk\n", encoding="utf-8")
    out = read_manifest(m)
    assert out.problems == []
    assert out.pairs == [Pair(tmp_path / "a.wav", tmp_path / "b.wav", "spk", "b", "a.wav", None)]


def test_manifest_bad_header_or_missing_raises(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("speech,singing,who\n", encoding="utf-8")
    with pytest.raises(CorpusError):
        read_manifest(m)
    with pytest.raises(CorpusError):
        read_manifest(tmp_path / "absent.csv")


# ----------------------------------------------------------------- split


def fake_pairs() -> list[Pair]:
    return [
        Pair(Path(f"{s}_{g}_{i}.sp.wav"), Path(f"{s}_{g}_{i}.sg.wav"), f"spk{s}", f"song{g}", str(i), None)
        for s in range(10)
        for g in range(4)
        for i in range(2)
    ]


@pytest.mark.parametrize("by", ["speaker", "song"])
def test_split_disjoint_complete_deterministic(by):
    pairs = fake_pairs()
    tr, va, te = split(pairs, valid=0.2, test=0.2, by=by, seed=3)
    assert sorted(map(id, tr + va + te)) == sorted(map(id, pairs))
    groups = [{getattr(p, by) for p in part} for part in (tr, va, te)]
    assert all(groups)
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    # deterministic, and independent of input order
    assert split(pairs, valid=0.2, test=0.2, by=by, seed=3) == (tr, va, te)
    rev = split(list(reversed(pairs)), valid=0.2, test=0.2, by=by, seed=3)
    assert [{getattr(p, by) for p in part} for part in rev] == groups


def test_split_seed_changes_groups_and_counts():
    pairs = fake_pairs()
    a = split(pairs, valid=0.2, test=0.1, seed=0)
    assert len({p.speaker for p in a[1]}) == 2 and len({p.speaker for p in a[2]}) == 1
    others = [split(pairs, valid=0.2, test=0.1, seed=s)[1] for s in range(1, 6)]
    assert any({p.speaker for p in o} != {p.speaker for p in a[1]} for o in others)


def test_split_zero_fraction_and_too_few_groups():
    pairs = fake_pairs()
    tr, va, te = split(pairs, valid=0.0, test=0.0)
    assert tr == pairs and va == [] and te == []
    few = [p for p in pairs if p.speaker in ("spk0", "spk1")]
    with pytest.raises(ValueError):
        split(few, valid=0.1, test=0.1)
    with pytest.raises(ValueError):
        split(pairs, by="singer")  # type: ignore[arg-type]
