"""The learned separator's wiring (models.separator): a tiny randomly initialised HTDemucs of the real
architecture, saved in demucs's own formats (a local repo's <sig>-<sha256>.th, a bag .yaml, the
Hugging Face cache's <sig>.safetensors), found on disk, never downloaded; its stems as the model made them."""
from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("demucs")

import torch  # noqa: E402
from demucs.apply import apply_model  # noqa: E402
from demucs.htdemucs import HTDemucs  # noqa: E402

from alignsts.engines import cover  # noqa: E402
from alignsts.errors import AlignSTSError, InvalidValueError, NeuralSetupError  # noqa: E402
from alignsts.models import separator as learned  # noqa: E402
from tiny_demucs import SOURCES, save_safetensors, save_th, tiny_model  # noqa: E402

SR = 24000
ONE_THREAD = learned.DemucsConfig(shifts=0, threads=1)


def song(seconds: float = 2.5, channels: int = 2, seed: int = 1, noise: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    mono = 0.3 * np.sin(2 * np.pi * 220 * t) + noise * rng.standard_normal(len(t))
    return np.stack([mono * (1 - 0.2 * c) for c in range(channels)], axis=1).astype(np.float32)


def expected_stems(model, x: np.ndarray, shifts: int = 0):
    """What demucs itself gives on the whole song (its CLI's normalisation): (vocals, the other stems summed)."""
    ref = x.mean(axis=1)
    mean, std = float(ref.mean()), float(ref.std())
    with torch.no_grad():
        out = apply_model(model, torch.from_numpy(((x - mean) / std).T.copy())[None], shifts=shifts,
                          split=True, overlap=0.25)[0] * std + mean
    v = out[SOURCES.index("vocals")]
    return v.numpy().T, (out.sum(0) - v).numpy().T


def test_a_local_repo_file_is_found_loaded_and_its_stems_are_the_models(tmp_path):
    model = tiny_model()
    path = save_th(model, tmp_path)
    x = song()
    for value in (str(tmp_path), str(path)):            # the folder, or the file itself
        files = learned.find_model(value)
        assert files.models == [path]
        vocals, inst = learned.separate(x, SR, learned.load_model(files), ONE_THREAD)
        assert vocals.shape == inst.shape == x.shape
        ev, ei = expected_stems(model, x)
        np.testing.assert_allclose(vocals, ev, atol=1e-5)
        np.testing.assert_allclose(inst, ei, atol=1e-5)
        assert float(np.abs(vocals).max()) > 0 and float(np.abs(inst).max()) > 0


def test_a_bag_yaml_resolves_its_signatures_beside_it(tmp_path):
    a, b = tiny_model(seed=0), tiny_model(seed=1)
    save_th(a, tmp_path, "aaaa1111")
    save_th(b, tmp_path, "bbbb2222")
    (tmp_path / "mybag.yaml").write_text("models: ['aaaa1111', 'bbbb2222']\n")
    files = learned.find_model(str(tmp_path))            # one bag in the folder: it
    assert [p.name.split("-")[0] for p in files.models] == ["aaaa1111", "bbbb2222"]
    x = song(1.5, channels=1)
    vocals, inst = learned.separate(x, SR, learned.load_model(files), ONE_THREAD)
    assert vocals.shape == inst.shape == x.shape         # mono song: the model's stereo stems, downmixed
    ea = expected_stems(a, np.repeat(x, 2, axis=1))
    eb = expected_stems(b, np.repeat(x, 2, axis=1))
    np.testing.assert_allclose(vocals[:, 0], ((ea[0] + eb[0]) / 2).mean(axis=1), atol=1e-5)
    for f in tmp_path.glob("bbbb2222-*.th"):
        f.unlink()
    with pytest.raises(NeuralSetupError, match=r"bbbb2222\.th .*is not in") as e:
        learned.find_model(str(tmp_path / "mybag.yaml"))
    assert "\n" not in str(e.value)


def test_hugging_face_cache_as_demucs_4_1_leaves_it(tmp_path, monkeypatch):
    model = tiny_model()
    snap = tmp_path / "hub" / "models--adefossez--HTDemucs" / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    (tmp_path / "hub" / "models--adefossez--HTDemucs" / "refs").mkdir()
    (tmp_path / "hub" / "models--adefossez--HTDemucs" / "refs" / "main").write_text("0" * 40)
    (snap / "htdemucs.yaml").write_text("models: ['955717e8']\n")
    save_safetensors(model, snap / "955717e8.safetensors")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    files = learned.find_model("demucs")
    assert files.models == [snap / "955717e8.safetensors"]
    x = song(1.5)
    vocals, inst = learned.separate(x, SR, learned.load_model(files), ONE_THREAD)
    ev, ei = expected_stems(model, x)
    np.testing.assert_allclose(vocals, ev, atol=1e-5)
    np.testing.assert_allclose(inst, ei, atol=1e-5)


def test_torch_hub_checkpoints_by_signature(tmp_path, monkeypatch):
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    path = save_th(tiny_model(), hub, "cafe0001")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(learned, "_remote_index", lambda pkg: {"cafe0001": "https://example.invalid/x/" + path.name})
    assert learned.find_model("demucs:cafe0001").models == [path]
    # the default model's file is not there: one line naming it, where it goes and what to download
    with pytest.raises(NeuralSetupError) as e:
        learned.find_model("demucs")
    msg = str(e.value)
    assert "\n" not in msg and str(hub) in msg and "nothing is downloaded" in msg


def test_missing_default_model_names_its_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(NeuralSetupError, match=r"955717e8-8726e21a\.th is not on disk.*hub/checkpoints"):
        cover.check_separator("demucs")
    with pytest.raises(InvalidValueError, match="no model named nosuch"):
        cover.check_separator("demucs:nosuch")


def test_damaged_and_foreign_files_are_one_line(tmp_path):
    path = save_th(tiny_model(), tmp_path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(NeuralSetupError, match="damaged"):
        learned.load_model(learned.find_model(str(path)))
    other = tmp_path / "x" / "model.th"
    other.parent.mkdir()
    other.write_bytes(b"not a model at all")
    with pytest.raises(NeuralSetupError, match="not a demucs model file"):
        learned.load_model(learned.find_model(str(other)))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidValueError, match="holds no demucs model"):
        learned.find_model(str(empty))
    save_th(tiny_model(), empty, "one00001")
    save_th(tiny_model(seed=3), empty, "two00002")
    with pytest.raises(InvalidValueError, match="several models"):
        learned.find_model(str(empty))


def test_a_model_without_vocals_is_refused(tmp_path):
    torch.manual_seed(0)
    m = HTDemucs(["drums", "bass"], channels=4, depth=2, nfft=512, t_layers=1, t_heads=1, segment=1,
                 samplerate=SR, dconv_comp=2)
    path = save_th(m, tmp_path)
    with pytest.raises(NeuralSetupError, match="no vocals stem"):
        learned.load_model(learned.find_model(str(path)))


def test_demucs_absent_is_one_line(tmp_path, monkeypatch):
    path = save_th(tiny_model(), tmp_path)
    monkeypatch.setitem(sys.modules, "demucs", None)      # as if not installed
    for value in ("demucs", str(path)):
        with pytest.raises(NeuralSetupError, match="pip install demucs") as e:
            cover.check_separator(value)
        assert "\n" not in str(e.value)


class LinearFake(torch.nn.Module):
    """Stands in for a model in apply_model's place: stems = fixed shares of the mix (exact blocks check)."""
    sources = SOURCES
    audio_channels = 2

    def __init__(self, samplerate):
        super().__init__()
        self.samplerate = samplerate


def test_blocks_cross_fade_back_to_the_whole_song(monkeypatch):
    """Blocks with context, cross-faded: a model whose stems are fixed shares of its input gives the
    same shares of the whole song, across every join, at the model's rate or another."""
    import demucs.apply

    shares = torch.tensor([0.1, 0.2, 0.3, 0.4])

    def fake_apply(model, mix, **kw):
        return shares[None, :, None, None] * mix[:, None]
    monkeypatch.setattr(demucs.apply, "apply_model", fake_apply)
    x = song(7.3, noise=0.0)                            # band-limited: resampling keeps it
    x -= x.mean()                                       # zero mean: demucs's de-normalisation adds it back per stem
    cfg = learned.DemucsConfig(block_s=2.0, context_s=0.5, shifts=0)
    seen = []
    vocals, inst = learned.separate(x, SR, LinearFake(SR), cfg, progress=lambda s, f: seen.append(f))
    assert len(seen) == 4 and seen[-1] == 1.0      # 0-2, 2-4, 4-6, 6-7.3 s
    np.testing.assert_allclose(vocals, 0.4 * x, atol=1e-5)
    np.testing.assert_allclose(inst, 0.6 * x, atol=1e-5)
    vocals, inst = learned.separate(x, SR, LinearFake(44100), cfg)      # resampled there and back
    assert vocals.shape == x.shape
    mid = slice(SR // 10, -SR // 10)
    np.testing.assert_allclose(vocals[mid], 0.4 * x[mid], atol=2e-3)
    np.testing.assert_allclose(inst[mid] + vocals[mid], x[mid], atol=5e-3)


def test_torch_threads_restored_and_shifts_reproducible(tmp_path):
    model = learned.load_model(learned.find_model(str(save_th(tiny_model(), tmp_path))))
    before = torch.get_num_threads()
    x = song(1.2)
    cfg = learned.DemucsConfig(shifts=1, threads=1, seed=5)
    a = learned.separate(x, SR, model, cfg)
    b = learned.separate(x, SR, model, cfg)
    assert torch.get_num_threads() == before
    np.testing.assert_array_equal(a[0], b[0])


def test_separate_song_through_the_cover_engine(tmp_path):
    model = tiny_model()
    path = save_th(model, tmp_path)
    x = song(1.5)
    st = cover.separate_song(x, SR, str(path), learned_cfg=ONE_THREAD)
    ev, ei = expected_stems(model, x)
    np.testing.assert_allclose(st.vocals, ev, atol=1e-5)
    np.testing.assert_allclose(st.instrumental, ei, atol=1e-5)
    assert st.sr == SR and st.f0.size == 0
    with pytest.raises(AlignSTSError):
        cover.separate_song(x, SR, str(tmp_path / "missing"))


@pytest.mark.parametrize("text,needle", [
    ("models: ['../../etc/x']\n", "not a demucs bag"),
    ("models: ['*']\n", "not a demucs bag"),
    ("models: []\n", "not a demucs bag"),
    ("models: ['abc']\nweights: [['x', 1, 1, 1]]\n", "weights"),
    ("models: ['abc']\nsegment: -3\n", "segment"),
    ("a: &a [1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
     "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
     "models: ['abc']\n", "alias bomb"),
], ids=["path", "glob", "empty", "weights", "segment", "alias-bomb"])
def test_bad_bags_are_one_line(tmp_path, text, needle):
    (tmp_path / "bag.yaml").write_text(text)
    with pytest.raises(InvalidValueError, match=needle) as e:
        learned.find_model(str(tmp_path / "bag.yaml"))
    assert "\n" not in str(e.value)
