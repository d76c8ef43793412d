"""audio.speaker: Resemblyzer's embedding in numpy equals Resemblyzer's own (torch) output, and
after the one-time weight conversion it runs without importing torch."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alignsts.audio import io, speaker

pytest.importorskip("resemblyzer")
pytest.importorskip("torch")

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    old = os.environ.get("ALIGNSTS_CACHE_DIR")
    os.environ["ALIGNSTS_CACHE_DIR"] = str(folder)
    speaker.encoder.cache_clear()
    yield folder
    speaker.encoder.cache_clear()
    if old is None:
        os.environ.pop("ALIGNSTS_CACHE_DIR", None)
    else:
        os.environ["ALIGNSTS_CACHE_DIR"] = old


def _clips(demo_paths, tone) -> dict[str, np.ndarray]:
    speech, sing = (io.load(p, 24000) for p in demo_paths)
    rng = np.random.default_rng(3)
    vowel = tone(f0=180.0, dur=2.5, n_harm=20) * (1 + 0.3 * np.sin(2 * np.pi * 4 * np.arange(60000) / 24000))
    return {"speech": speech, "singing": sing, "speech, first 2 s": speech[:48000],
            "noisy tone": (0.5 * vowel + 0.01 * rng.standard_normal(len(vowel))).astype(np.float32)}


def test_embedding_equals_resemblyzer(cache, demo_paths, tone):
    from resemblyzer import preprocess_wav

    from alignsts.audio.content import voice_encoder

    reference = voice_encoder()
    for name, wav in _clips(demo_paths, tone).items():
        pre = preprocess_wav(wav.astype(np.float32), source_sr=24000)
        mine = speaker.preprocess(wav, 24000)
        np.testing.assert_array_equal(mine, pre)
        if len(pre) == 0:
            continue
        want = reference.embed_utterance(pre)
        got = speaker.embed(wav, 24000)
        assert got.shape == (256,) and got.dtype == np.float32
        assert 1.0 - float(got @ want) < 1e-4, name
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_weights_cached_once_and_loaded_without_torch(cache, demo_paths):
    speaker.encoder.cache_clear()
    speaker.encoder()
    files = list((cache / "models").glob("resemblyzer-*.npz"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    code = ("import sys, numpy as np\n"
            "from alignsts.audio import io, speaker\n"
            f"e = speaker.embed(io.load({str(demo_paths[0])!r}, 24000), 24000)\n"
            "assert e.shape == (256,) and abs(float(np.linalg.norm(e)) - 1) < 1e-5\n"
            "bad = [m for m in ('torch', 'librosa', 'resemblyzer') if m in sys.modules]\n"
            "assert not bad, bad\n")
    env = dict(os.environ, ALIGNSTS_CACHE_DIR=str(cache), PYTHONPATH=str(SRC))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert files[0].stat().st_mtime_ns == stamp    # read, not rewritten


def test_a_broken_cache_file_is_replaced(cache):
    speaker.encoder.cache_clear()
    enc = speaker.encoder()
    (path,) = (cache / "models").glob("resemblyzer-*.npz")
    path.write_bytes(b"not an npz")
    speaker.encoder.cache_clear()
    again = speaker.encoder()
    np.testing.assert_array_equal(again.linear_w, enc.linear_w)
    with np.load(path) as z:
        assert "mel_basis" in z.files


def test_silence_has_no_embedding(cache):
    from alignsts.errors import AudioInputError

    with pytest.raises(AudioInputError):
        speaker.embed(np.zeros(48000, dtype=np.float32), 24000)


def test_key_cue_uses_the_numpy_encoder(cache, demo_paths):
    from alignsts.melody import key

    speech, sing = (io.load(p, 24000) for p in demo_paths)
    a, b = speaker.embed(speech, 24000), speaker.embed(sing, 24000)
    assert key.embedding_cosine(speech, sing) == pytest.approx(float(a @ b), abs=1e-6)


def test_batched_embeddings_equal_single_ones(cache, demo_paths):
    speech, sing = (io.load(p, 24000) for p in demo_paths)
    silent = np.zeros(24000, dtype=np.float32)
    a, none, b = speaker.embed_many([speech, silent, sing], 24000)
    assert none is None
    np.testing.assert_allclose(a, speaker.embed(speech, 24000), atol=1e-6)
    np.testing.assert_allclose(b, speaker.embed(sing, 24000), atol=1e-6)


def test_missing_resemblyzer_says_what_to_install(monkeypatch):
    from alignsts.errors import NeuralSetupError

    real = speaker.importlib.util.find_spec
    monkeypatch.setattr(speaker.importlib.util, "find_spec",
                        lambda name, *a: None if name == "resemblyzer" else real(name, *a))
    speaker.encoder.cache_clear()
    try:
        assert not speaker.available()
        with pytest.raises(NeuralSetupError, match="pip install"):
            speaker.embed(np.zeros(24000, dtype=np.float32), 24000)
    finally:
        speaker.encoder.cache_clear()


def test_vad_without_the_wrapper_module_equals_webrtcvad():
    """speaker._vad calls _webrtcvad directly (the wrapper imports pkg_resources): same flags."""
    import warnings

    import numpy as np

    from alignsts.audio import speaker

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import webrtcvad
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 2) / 16000
    wav = np.where(t < 1.0, 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)), 0.001 * rng.standard_normal(len(t)))
    pcm = np.round(wav * 32767).astype("<i2").tobytes()
    win = 480
    for mode in (0, 3):
        ours = speaker._vad(mode)
        theirs = webrtcvad.Vad(mode)
        got = [ours(pcm[2 * i: 2 * (i + win)]) for i in range(0, len(wav) - win + 1, win)]
        want = [theirs.is_speech(pcm[2 * i: 2 * (i + win)], 16000) for i in range(0, len(wav) - win + 1, win)]
        assert got == want and any(got) and not all(got)
