"""HiFi-GAN (NSF) vocoder: exact compatibility with the official checkpoints and vectors.

Fixture folder: ``$ALIGNSTS_COMPAT_DIR`` (default ``<project root>/../shared/compat``); the
compat tests skip when it is absent.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from alignsts.models.ckpt import CheckpointError, load_vocoder  # noqa: E402
from alignsts.models.hifigan import HifiGan, HifiGanConfig, fold_weight_norm  # noqa: E402
from alignsts.models.vocoder import vocode  # noqa: E402

ATOL = 1e-4

# values of the official repository's configs/tts/hifigan.yaml, with NSF on (as in the manifest)
OFFICIAL_FULL = {
    "resblock": "1",
    "upsample_rates": [8, 8, 2, 2],
    "upsample_kernel_sizes": [16, 16, 4, 4],
    "upsample_initial_channel": 128,
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "use_pitch_embed": True,
    "audio_sample_rate": 24000,
}


@pytest.fixture(scope="module")
def vectors(compat_vectors):
    return compat_vectors("hifigan_small/vectors.npz")


@pytest.fixture(scope="module")
def yaml_model(compat):
    return load_vocoder(compat("hifigan_small"))


@pytest.fixture(scope="module")
def json_model(compat):
    return load_vocoder(compat("hifigan_json"))


def _run(model, vectors):
    mel = torch.from_numpy(vectors["in.mel"]).transpose(1, 2)
    f0 = torch.from_numpy(vectors["in.f0_hz"])
    with torch.no_grad():
        return model(mel, f0, noise_scale=0.0, random_phase=False).numpy()


# ------------------------------------------------------------------------------------ compat
@pytest.mark.compat
@pytest.mark.parametrize("which", ["yaml_model", "json_model"])
def test_output_matches_official_vectors(which, vectors, request):
    model = request.getfixturevalue(which)
    assert model.config.use_nsf and model.config.hop == 128 and model.config.sample_rate == 24000
    wav = _run(model, vectors)
    ref = vectors["out.wav"]
    assert wav.shape == ref.shape == (1, 1, vectors["in.mel"].shape[1] * 128)
    err = float(np.abs(wav - ref).max())
    assert err <= ATOL, f"max abs error {err}"


@pytest.mark.compat
def test_json_and_yaml_formats_agree(yaml_model, json_model, vectors):
    assert yaml_model.config == json_model.config
    np.testing.assert_array_equal(_run(yaml_model, vectors), _run(json_model, vectors))
    for (ka, a), (kb, b) in zip(yaml_model.state_dict().items(), json_model.state_dict().items()):
        assert ka == kb
        assert torch.equal(a, b), ka


@pytest.mark.compat
def test_vocode_convenience_matches(yaml_model, vectors):
    wav = vocode(yaml_model, vectors["in.mel"][0], vectors["in.f0_hz"][0], noise_scale=0.0, random_phase=False)
    assert wav.dtype == np.float32 and wav.shape == (vectors["out.wav"].size,)
    assert np.abs(wav - vectors["out.wav"].reshape(-1)).max() <= ATOL


@pytest.mark.compat
def test_default_source_is_random_but_close(yaml_model, vectors):
    """With the official randomness (noise + random overtone phases) the output differs from the
    zero-noise vector, and a seed makes it reproducible."""
    mel, f0 = vectors["in.mel"][0], vectors["in.f0_hz"][0]
    a = vocode(yaml_model, mel, f0, seed=1)
    b = vocode(yaml_model, mel, f0, seed=1)
    c = vocode(yaml_model, mel, f0, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.isfinite(a).all() and np.abs(a).max() <= 1.0


@pytest.mark.compat
def test_full_size_keys_match_manifest(compat):
    manifest = json.loads(compat("hifigan_full_keys.json").read_text())
    model = HifiGan(HifiGanConfig.from_official(OFFICIAL_FULL))
    got = model.official_key_shapes()
    want = {k: tuple(v["shape"]) for k, v in manifest["keys"].items()}
    assert set(got) == set(want), (sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5])
    assert got == want
    assert list(got) == list(want)  # same order as the official state dict
    assert not any(v.get("buffer") for v in manifest["keys"].values())
    assert sum(int(np.prod(s)) for s in got.values()) == manifest["num_parameters"]


@pytest.mark.compat
def test_bad_checkpoints_give_checkpoint_error(tmp_path, compat):
    src = compat("hifigan_small")
    # config but no checkpoint
    d = tmp_path / "nockpt"
    d.mkdir()
    shutil.copy(src / "config.yaml", d / "config.yaml")
    with pytest.raises(CheckpointError, match="model_ckpt_steps"):
        load_vocoder(d)
    # json config without generator_v1
    j = tmp_path / "json"
    j.mkdir()
    shutil.copy(compat("hifigan_json") / "config.json", j / "config.json")
    with pytest.raises(CheckpointError, match="generator_v1"):
        load_vocoder(j)
    # weights that do not fit the config: bigger channel count -> shape mismatch
    cfg = json.loads((compat("hifigan_json/config.json")).read_text())
    cfg["upsample_initial_channel"] = 64
    (j / "config.json").write_text(json.dumps(cfg))
    shutil.copy(compat("hifigan_json") / "generator_v1", j / "generator_v1")
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_vocoder(j)
    # NSF off: the m_source / noise_convs keys are unexpected
    cfg["upsample_initial_channel"] = 32
    cfg["use_pitch_embed"] = False
    (j / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unexpected key.*m_source"):
        load_vocoder(j)
    # wrong container key
    w = tmp_path / "wrong"
    w.mkdir()
    shutil.copy(compat("hifigan_json") / "config.json", w / "config.json")
    torch.save({"gen": {}}, str(w / "generator_v1"))
    with pytest.raises(CheckpointError, match="generator"):
        load_vocoder(w)


# ------------------------------------------------------------------------------- no fixtures
def test_missing_folder_and_empty_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_vocoder(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="config"):
        load_vocoder(tmp_path)


def _tiny(resblock="1", nsf=True):
    cfg = HifiGanConfig(resblock=resblock, resblock_kernel_sizes=(3, 5),
                        resblock_dilation_sizes=((1, 3, 5), (1, 2, 3)), upsample_rates=(4, 3, 2),
                        upsample_kernel_sizes=(8, 7, 4), upsample_initial_channel=16, use_nsf=nsf,
                        sample_rate=16000)
    torch.manual_seed(0)
    return HifiGan(cfg).eval()


@pytest.mark.parametrize("resblock,nsf", [("1", True), ("2", True), ("1", False)])
def test_tiny_random_model_forward(resblock, nsf):
    model = _tiny(resblock, nsf)
    assert model.config.hop == 24
    b, t = 2, 13
    mel = torch.randn(b, 80, t)
    f0 = torch.rand(b, t) * 300 + 80 if nsf else None
    if nsf:
        f0[:, :3] = 0
    with torch.no_grad():
        y = model(mel, f0)
    assert y.shape == (b, 1, t * 24)
    assert torch.isfinite(y).all() and y.abs().max() <= 1.0
    if nsf:
        with torch.no_grad():
            y0 = model(mel, f0, noise_scale=0.0, random_phase=False)
            y1 = model(mel, f0, noise_scale=0.0, random_phase=False)
            y2 = model(mel)  # NSF model without f0: no excitation, like the official generator
        assert torch.equal(y0, y1) and y2.shape == y0.shape
    else:
        with torch.no_grad():  # f0 is ignored without NSF, as the official vocoder does
            assert torch.equal(model(mel, torch.full((b, t), 200.0)), y)


def test_official_state_dict_round_trip():
    model = _tiny("1", True)
    sd = model.official_state_dict()
    assert set(sd) == set(model.official_key_shapes())
    assert "conv_pre.weight_g" in sd and "noise_convs.0.weight" in sd and "conv_pre.weight" not in sd
    # rescale v: folding must undo it
    sd = {k: (v * 3.0 if k.endswith("weight_v") else v) for k, v in sd.items()}
    other = HifiGan(model.config).load_official_state_dict(sd)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(other.state_dict()[k], v, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="missing key"):
        HifiGan(model.config).load_official_state_dict({k: v for k, v in sd.items() if "ups.0" not in k})


def test_fold_weight_norm_formula():
    v = torch.randn(4, 3, 5)
    g = torch.rand(4, 1, 1) + 0.5
    w = fold_weight_norm(g, v)
    norms = torch.linalg.vector_norm(w.reshape(4, -1), dim=1)
    torch.testing.assert_close(norms, g.reshape(-1))
    torch.testing.assert_close(w / norms.reshape(4, 1, 1), v / v.reshape(4, -1).norm(dim=1).reshape(4, 1, 1))


def test_sine_source_zero_noise_is_pure_harmonics():
    model = _tiny("1", True)
    sg = model.m_source.l_sin_gen
    sr, f = 16000, 250.0
    f0 = torch.full((1, 64, 1), f)
    f0[:, 40:] = 0
    sines, uv, noise = sg(f0, noise_scale=0.0, random_phase=False)
    assert sines.shape == (1, 64, 9) and uv.shape == (1, 64, 1)
    assert torch.count_nonzero(noise) == 0 and torch.count_nonzero(sines[:, 40:]) == 0
    n = torch.arange(1, 41, dtype=torch.float64)
    for k in (1, 3, 9):
        ref = 0.1 * torch.sin(2 * np.pi * k * f * n / sr)
        torch.testing.assert_close(sines[0, :40, k - 1].double(), ref, atol=1e-5, rtol=0)


def test_config_from_official_follows_official_rules():
    cfg = HifiGanConfig.from_official({**OFFICIAL_FULL, "resblock": 1})  # not the string '1'
    assert cfg.resblock == "2"  # the official generator compares with the string '1'
    assert HifiGanConfig.from_official(OFFICIAL_FULL).hop == 256
    off = HifiGanConfig.from_official({k: v for k, v in OFFICIAL_FULL.items()
                                       if k not in ("use_pitch_embed", "audio_sample_rate")})
    assert not off.use_nsf
    with pytest.raises(KeyError, match="audio_sample_rate"):
        HifiGanConfig.from_official({k: v for k, v in OFFICIAL_FULL.items() if k != "audio_sample_rate"})
