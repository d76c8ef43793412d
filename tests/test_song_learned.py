"""`--song` with a learned separator (`--separator PATH|demucs`, api separator=): a tiny HTDemucs of the
real architecture from a folder; its stems are what the song's cover is made of; refusals in one line."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("torch")
pytest.importorskip("demucs")

from alignsts import api  # noqa: E402
from alignsts.audio import io  # noqa: E402
from alignsts.engines.reference import ReferenceConfig  # noqa: E402
from alignsts.models import separator as learned  # noqa: E402
from test_cli import assert_one_line_error, run  # noqa: E402
from test_song import song_files  # noqa: E402,F401  (the fixture)
from tiny_demucs import save_th, tiny_model  # noqa: E402

FAST = ReferenceConfig(speaker_embedding="none")


@pytest.fixture(autouse=True)
def no_model_caches(tmp_path_factory, monkeypatch):
    """Empty torch hub and Hugging Face caches: whatever this machine has cached does not count."""
    d = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("TORCH_HOME", str(d / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(d / "hf"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demucs_repo")
    save_th(tiny_model(), d)
    return d


@pytest.mark.slow
def test_api_song_with_a_model_folder(song_files, model_dir):  # noqa: F811
    speech, song, seconds = song_files
    res = api.convert(speech, song=song, separator=str(model_dir), config=FAST)
    mix_in = io.load_channels(song, res.sr)
    model = learned.load_model(learned.find_model(str(model_dir)))
    vocals, inst = learned.separate(mix_in, res.sr, model)          # the model's stems, as the API used them
    n = len(res.wav)
    assert n == len(mix_in) and abs(n / res.sr - seconds) <= 0.05
    np.testing.assert_allclose(res.stems.vocals, vocals, atol=1e-6)
    np.testing.assert_allclose(res.stems.instrumental, inst, atol=1e-6)
    assert res.mix.shape == (n, 2) and float(np.max(np.abs(res.mix))) <= 10 ** (-1 / 20) + 1e-6


@pytest.mark.slow
def test_cli_song_with_a_model_folder_writes_stems(song_files, model_dir, tmp_path):  # noqa: F811
    speech, song, seconds = song_files
    stems = tmp_path / "stems"
    stems.mkdir()
    proc = run(["convert", speech, "--song", song, "--separator", model_dir, "-o", tmp_path / "me.wav",
                "--stems", stems], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for f in (tmp_path / "me.wav", tmp_path / "me_mix.wav", stems / "vocals.wav", stems / "instrumental.wav"):
        info = sf.info(str(f))
        assert abs(info.frames / info.samplerate - seconds) <= 0.05, f


def test_cli_missing_model_file_is_one_line_before_work(song_files, tmp_path):  # noqa: F811
    speech, song, _ = song_files
    proc = run(["convert", speech, "--song", song, "--separator", "demucs", "-o", tmp_path / "o.wav"], tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, "955717e8-8726e21a.th")
    assert "nothing is downloaded" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_demucs_not_installed_is_one_line(song_files, model_dir, tmp_path):  # noqa: F811
    speech, song, _ = song_files
    code = ("import sys; sys.modules['demucs'] = None; from alignsts.cli import entry; "
            "raise SystemExit(entry(sys.argv[1:]))")
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code, "convert", str(speech), "--song", str(song), "--separator",
                           str(model_dir), "-o", str(tmp_path / "o.wav")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2
    assert_one_line_error(proc, "pip install demucs")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_api_model_folder_checked_before_work(song_files, tmp_path):  # noqa: F811
    speech, song, _ = song_files
    (tmp_path / "junk.th").write_bytes(b"not a model")
    from alignsts.errors import AlignSTSError

    with pytest.raises(AlignSTSError, match="not a demucs model file"):
        api.convert(speech, song=song, separator=str(tmp_path / "junk.th"), config=FAST)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AlignSTSError, match="holds no demucs model"):
        api.convert(speech, song=song, separator=str(tmp_path / "empty"), config=FAST)
