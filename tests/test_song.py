"""A whole song as the melody (`--song`, api song=, manifest column song): outputs, lengths, refusals."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from alignsts import api
from alignsts.audio import io
from alignsts.engines.reference import ReferenceConfig
from alignsts.errors import AlignSTSError

from test_cli import assert_one_line_error, run

SONG_SR = 44100


def band(n: int, sr: int, seed: int = 0) -> np.ndarray:
    """A stereo loop of stable chords (A major I-V-vi-IV, one a second) with noise hits: [n, 2]."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    roots = [220.0, 329.63, 369.99, 293.66]
    for k, a in enumerate(range(0, n, sr // 2)):
        t = np.arange(n - a) / sr
        root = roots[(k // 2) % 4]
        for ratio in (1.0, 1.26, 1.5):
            for h in range(1, 7):
                out[a:] += 0.06 * 0.6 ** (h - 1) * np.exp(-3 * t) * np.sin(2 * np.pi * h * root * ratio * t)
        m = min(2000, n - a)
        out[a:a + m] += 0.2 * rng.standard_normal(m) * np.exp(-np.arange(m) / 300)
    return np.stack([out, 0.9 * out], axis=1)


@pytest.fixture(scope="module")
def song_files(tmp_path_factory):
    """(speech, song.mp3, song length in s): the demo's singing after a 1 s intro over a band, +3 dB."""
    d = tmp_path_factory.mktemp("song_in")
    speech, sing, _ = api.demo_files()
    voc = io.load(sing, SONG_SR)
    n = int(1.0 * SONG_SR) + len(voc) + int(0.5 * SONG_SR)
    vocal = np.zeros(n)
    vocal[SONG_SR: SONG_SR + len(voc)] = voc
    b = band(n, SONG_SR)
    vocal *= np.sqrt(2.0 * np.mean(b ** 2) / np.mean(vocal[vocal != 0] ** 2) * np.mean(vocal != 0))
    song = b + vocal[:, None]
    song *= 0.9 / np.max(np.abs(song))
    path = d / "song.mp3"
    sf.write(str(path), song.astype(np.float32), SONG_SR, format="MP3")
    info = sf.info(str(path))
    return speech, path, info.frames / info.samplerate


FAST = ReferenceConfig(speaker_embedding="none")


@pytest.fixture(autouse=True)
def no_model_caches(tmp_path_factory, monkeypatch):
    """Empty torch hub and Hugging Face caches: a demucs model this machine may have cached does not count."""
    d = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("TORCH_HOME", str(d / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(d / "hf"))


def test_api_song_output_is_as_long_as_the_song(song_files):
    speech, song, seconds = song_files
    before = song.read_bytes()
    res = api.convert(speech, song=song, config=FAST)
    n = len(res.wav)
    assert abs(n / res.sr - seconds) <= 0.05
    assert res.mix.shape == (n, 2) and res.stems.vocals.shape == (n, 2)
    assert float(np.max(np.abs(res.mix))) <= 10 ** (-1 / 20) + 1e-6          # never clipping
    mix_in = io.load_channels(song, res.sr)
    np.testing.assert_allclose(res.stems.vocals + res.stems.instrumental, mix_in[:n], atol=1e-4)
    assert song in res.inputs and song.read_bytes() == before
    # the vocal sings where the song's vocal sings: at least 12 dB quieter in the intro (a band of sharp
    # attacks only: a beat's chord may pass for a soft note), present after it
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)))   # noqa: E731
    assert rms(res.wav[: int(0.8 * res.sr)]) < 0.25 * rms(res.wav[int(1.2 * res.sr): int(3 * res.sr)])
    # the cover: your vocal at the level of the song's vocal (as heard on both channels)
    from alignsts.audio.level import integrated_loudness

    sung = res.mix - res.stems.instrumental * (res.mix[:, 0] @ res.stems.instrumental[:, 0]
                                                / (res.stems.instrumental[:, 0] @ res.stems.instrumental[:, 0]))
    assert abs(integrated_loudness(sung, res.sr) - integrated_loudness(res.stems.vocals, res.sr)) < 2.0


def test_api_song_refusals(song_files, tmp_path):
    speech, song, _ = song_files
    with pytest.raises(AlignSTSError, match="reference"):
        api.convert(speech, song=song, reference=song)
    with pytest.raises(AlignSTSError, match="separator"):
        api.convert(speech, song=song, separator="demucs")
    with pytest.raises(AlignSTSError, match="no such file"):
        api.convert(speech, song=tmp_path / "missing.mp3")
    with pytest.raises(AlignSTSError, match="transpose"):
        api.convert(speech, song=song, transpose="sideways")


@pytest.mark.slow
def test_cli_song_writes_output_mix_and_stems(song_files, tmp_path):
    speech, song, seconds = song_files
    stems = tmp_path / "stems"
    stems.mkdir()
    proc = run(["convert", speech, "--song", song, "-o", tmp_path / "me.flac", "--stems", stems], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for f in (tmp_path / "me.flac", tmp_path / "me_mix.flac", stems / "vocals.wav", stems / "instrumental.wav"):
        info = sf.info(str(f))
        assert abs(info.frames / info.samplerate - seconds) <= 0.05, f
    assert sf.info(str(tmp_path / "me_mix.flac")).channels == 2
    assert not (tmp_path / "me_mix.wav").exists()


@pytest.mark.parametrize("extra,needle", [
    (["-o", "{song}"], "overwrite the --song"),
    (["-o", "{tmp}/o.wav", "--stems", "{tmp}/nowhere"], "does not exist"),
    (["-o", "{tmp}/o.wav", "--separator", "demucs"], "demucs"),
    (["-o", "{tmp}/o.wav", "--separator", "{tmp}/no_model"], "no_model"),
    (["-o", "{tmp}/o.wav", "--accompaniment", "{song}"], "accompaniment"),
    (["-o", "{tmp}/o.xyz"], ".xyz"),
], ids=["output-is-song", "stems-folder-missing", "demucs-missing", "model-path-missing", "with-accompaniment",
        "bad-format"])
def test_cli_song_refused_before_work(song_files, tmp_path, extra, needle):
    speech, song, _ = song_files
    before = song.read_bytes()
    args = ["convert", speech, "--song", song] + [a.format(song=song, tmp=tmp_path) for a in extra]
    proc = run(args, tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, needle)
    assert song.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_stems_without_song_refused(tmp_path):
    speech, sing, _ = api.demo_files()
    proc = run(["convert", speech, "--reference", sing, "-o", tmp_path / "o.wav", "--stems", tmp_path], tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, "--song")
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.slow
def test_manifest_song_column(song_files, tmp_path):
    from alignsts import batch

    speech, song, seconds = song_files
    (tmp_path / "jobs.csv").write_text(f"speech,song,output\n{speech},{song},out/me.wav\n")
    report = batch.run(str(tmp_path / "jobs.csv"), batch.Settings(), workers=1)
    assert not report.problems, report.problems
    for f in ("me.wav", "me_mix.wav"):
        info = sf.info(str(tmp_path / "out" / f))
        assert abs(info.frames / info.samplerate - seconds) <= 0.05


def test_api_song_accepts_stems_separated_once(song_files, tmp_path):
    """separate_song once, then convert(song=stems) for each speaker: the same output as a fresh
    separation; stems of the wrong shape or rate are refused."""
    speech, song, _ = song_files
    stems = api.separate_song(song)
    fresh = api.convert(speech, song=song, config=FAST)
    reused = api.convert(speech, song=stems, config=FAST)
    np.testing.assert_array_equal(reused.wav, fresh.wav)
    np.testing.assert_array_equal(reused.mix, fresh.mix)
    from dataclasses import replace

    with pytest.raises(AlignSTSError, match="stems"):
        api.convert(speech, song=replace(stems, sr=44100), config=FAST)
    with pytest.raises(AlignSTSError, match="stems"):
        api.convert(speech, song=replace(stems, instrumental=stems.instrumental[:100]), config=FAST)


def test_song_melody_is_the_separators_f0(song_files):
    """The reference engine sings the separator's F0 of the vocal (Stems.f0), not Praat's reading
    of the separated stem: changed stems' F0 is what it follows; without one (a learned separator)
    the stem is tracked; a malformed F0 is refused before any work."""
    from dataclasses import replace

    from alignsts.audio import frontend as fe

    speech, song, _ = song_files
    stems = api.separate_song(song)
    n = fe.n_frames(stems.vocals.shape[0])
    given = stems.vocal_f0(n, fe.HOP)
    assert stems.hop == 128 and np.mean(given > 0) > 0.2
    out = api.convert(speech, song=stems, config=FAST)
    np.testing.assert_array_equal(out.analysis.reference_f0 > 0, given > 0)
    voiced = given > 0
    np.testing.assert_allclose(out.analysis.reference_f0[voiced], given[voiced])
    fifth = api.convert(speech, song=replace(stems, f0=stems.f0 * 1.5), config=FAST)
    np.testing.assert_allclose(fifth.analysis.reference_f0[voiced], 1.5 * given[voiced])
    tracked = api.convert(speech, song=replace(stems, f0=np.zeros(0)), config=FAST)
    assert not np.array_equal(tracked.analysis.reference_f0, out.analysis.reference_f0)
    assert np.mean(tracked.analysis.reference_f0 > 0) > 0.2
    for bad in (replace(stems, f0=np.full(4, np.nan)), replace(stems, f0=-stems.f0 - 1), replace(stems, hop=0),
                replace(stems, hop=True), replace(stems, f0=stems.f0[:, None]), replace(stems, f0=stems.f0.astype(complex))):
        with pytest.raises(AlignSTSError, match="f0"):
            api.convert(speech, song=bad, config=FAST)


def test_manifest_rows_of_one_song_separate_it_once(song_files, tmp_path, monkeypatch):
    """A worker given several rows of one song file separates it once; a changed file again."""
    from alignsts import batch

    speech, song, seconds = song_files
    calls = []
    real = api.separate_song
    monkeypatch.setattr(api, "separate_song", lambda *a, **k: calls.append(a) or real(*a, **k))
    batch._separated.cache_clear()
    settings = batch.Settings()
    copy = tmp_path / "copy.mp3"
    copy.write_bytes(song.read_bytes())
    rows = [batch.Row(line=i + 2, speech=str(speech), melody_kind="song", melody=str(copy),
                      output=str(tmp_path / f"out{i}.wav")) for i in range(3)]
    for row in rows:
        line, error, _, out_s = batch.convert_row(row, settings)
        assert error is None and abs(out_s - seconds) <= 0.05
        assert (tmp_path / f"out{line - 2}_mix.wav").exists()
    assert len(calls) == 1
    import os
    os.utime(copy, ns=(0, 10 ** 9))        # the file changed: separated again
    assert batch.convert_row(rows[0], settings)[1] is None and len(calls) == 2
    batch._separated.cache_clear()


@pytest.mark.parametrize("extra,needle", [
    (["--separator", "demucs"], "not on disk"),
    (["--stems", "{tmp}"], "--stems"),
], ids=["separator-checked-before-rows", "stems-with-manifest"])
def test_manifest_song_options_refused_before_work(song_files, tmp_path, extra, needle):
    speech, song, _ = song_files
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f"speech,song,output\n{speech},{song},out/me.wav\n")
    proc = run(["convert", "--manifest", manifest] + [a.format(tmp=tmp_path) for a in extra], tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, needle)
    assert not (tmp_path / "out").exists()
