"""AlignSTS acoustic model: exact compatibility with the official checkpoints and vectors.

Fixture folder: ``$ALIGNSTS_COMPAT_DIR`` (default ``<project root>/../shared/compat``); the
compat tests skip when it is absent.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from alignsts.models.alignsts import (  # noqa: E402
    AlignSTSConfig, AlignSTSModel, f0_to_coarse_torch, zero_noise)
from alignsts.models.alignsts.crossformer import window_mask  # noqa: E402
from alignsts.models.ckpt import load_acoustic, read_config  # noqa: E402

ATOL = 1e-4


@pytest.fixture(scope="module")
def vectors(compat_vectors):
    return compat_vectors("alignsts_small/vectors.npz")


@pytest.fixture(scope="module")
def model(compat):
    compat("alignsts_small/config.yaml")
    return load_acoustic(compat("alignsts_small"), trust=True)


def _t(v, k):
    return torch.from_numpy(v[k])


@pytest.fixture(scope="module")
def outputs(model, vectors):
    """Model outputs for both modes with zero noise (t = 2 when teacher-forced)."""
    res = {}
    b = vectors["in.content"].shape[0]
    with torch.no_grad():
        res["infer"] = model(_t(vectors, "in.content"), _t(vectors, "in.f0_hz"), _t(vectors, "in.spk_embed"),
                             None, None, infer=True, noise_fn=zero_noise)
        res["train"] = model(_t(vectors, "in.content"), _t(vectors, "in.f0_hz"), _t(vectors, "in.spk_embed"),
                             _t(vectors, "in.ref_spenv"), _t(vectors, "in.ref_mels"), infer=False,
                             noise_fn=zero_noise, diffusion_t=torch.full((b,), 2, dtype=torch.long))
    return res


# (mode, name) of every model output stored in vectors.npz
OUTPUT_VECTORS = [
    ("infer", "out", "mel_out"), ("infer", "out", "decoder_inp"), ("infer", "out", "q_rhythm"),
    ("infer", "out", "diffvae_aw_main"), ("infer", "out", "gloss_main"), ("infer", "out", "gloss_spenv"),
    ("infer", "out", "rhythm_codes"), ("infer", "hook", "content_encoder"), ("infer", "hook", "f0_encoder"),
    ("infer", "hook", "rhythm_predictor"), ("infer", "hook", "crossformer"),
    ("train", "out", "mel_out"), ("train", "out", "decoder_inp"), ("train", "out", "q_rhythm"),
    ("train", "out", "rq_loss"), ("train", "out", "r_loss"), ("train", "out", "gloss_main"),
    ("train", "out", "gloss_spenv"), ("train", "out", "rhythm_codes"), ("train", "hook", "content_encoder"),
    ("train", "hook", "f0_encoder"), ("train", "hook", "rhythm_predictor"), ("train", "hook", "rhythm_encoder"),
    ("train", "hook", "crossformer"),
]


@pytest.mark.compat
def test_checkpoint_loads_strictly(compat):
    compat("alignsts_small/config.yaml")
    from alignsts.models.ckpt import load_pickle, model_state_dict, newest_checkpoint

    sd = model_state_dict(load_pickle(newest_checkpoint(compat("alignsts_small")), trust=True))
    m = AlignSTSModel(AlignSTSConfig.from_official(read_config(compat("alignsts_small"))))
    mine = m.state_dict()
    assert set(mine) == set(sd)
    for k, v in sd.items():
        assert tuple(mine[k].shape) == tuple(v.shape), k
    m.load_state_dict(sd, strict=True)


@pytest.mark.compat
def test_untrusted_load_is_safe(compat):
    """Without ``trust`` the checkpoint is read weights-only: it either loads or is refused with a
    CheckpointError (never unpickles arbitrary objects)."""
    compat("alignsts_small/config.yaml")
    from alignsts.models.ckpt import CheckpointError

    try:
        m = load_acoustic(compat("alignsts_small"), trust=False)
    except CheckpointError:
        return
    assert not m.training


@pytest.mark.compat
def test_full_size_manifest(compat):
    """Every key, shape, dtype and buffer flag of the official full configuration."""
    manifest = json.loads(compat("alignsts_full_keys.json").read_text())
    hp = dict(read_config(compat("alignsts_small")))
    # official configs/singing/speech2singing/alignsts.yaml sizes (the small fixture shrinks only these)
    hp.update(hidden_size=256, diffvae_hidden=256, f0_embed_size=256, residual_channels=256,
              residual_layers=20, spk_embed_size=256)
    m = AlignSTSModel(AlignSTSConfig.from_official(hp))
    buffers = {n for n, _ in m.named_buffers()}
    sd = m.state_dict()
    want = manifest["keys"]
    assert sorted(sd) == sorted(want)
    for k, info in want.items():
        assert list(sd[k].shape) == info["shape"], k
        assert str(sd[k].dtype).replace("torch.", "") == info["dtype"], k
        assert (k in buffers) == info["buffer"], k
    assert sum(p.numel() for p in m.parameters()) == manifest["num_parameters"] == 26_150_488


@pytest.mark.compat
@pytest.mark.parametrize("mode,kind,name", OUTPUT_VECTORS, ids=[f"{a}.{c}" for a, _, c in OUTPUT_VECTORS])
def test_output_vectors(outputs, vectors, mode, kind, name):
    want = vectors[f"{kind}.{mode}.{name}"]
    got = outputs[mode][name].detach().numpy()
    assert got.shape == want.shape
    if name == "rhythm_codes":
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want.astype(np.int64))
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)


@pytest.mark.compat
def test_denoiser_alone(model, vectors):
    with torch.no_grad():
        got = model.diff_decoder.denoise_fn(_t(vectors, "in.denoiser.x_t"), _t(vectors, "in.denoiser.t"),
                                            _t(vectors, "in.denoiser.cond"))
    np.testing.assert_allclose(got.numpy(), vectors["out.denoiser"], rtol=0, atol=ATOL)


@pytest.mark.compat
def test_diffusion_buffers(model, vectors):
    for k, v in vectors.items():
        if k.startswith("buffer.diffusion."):
            np.testing.assert_array_equal(getattr(model.diff_decoder, k.rsplit(".", 1)[1]).numpy(), v)


@pytest.mark.compat
def test_schedule_formula_shapes(compat):
    """A freshly built model computes the vpsde schedule for timesteps + 1 steps."""
    hp = read_config(compat("alignsts_small"))
    m = AlignSTSModel(AlignSTSConfig.from_official(hp))
    n = int(hp["timesteps"]) + 1
    assert m.diff_decoder.betas.shape == (n,)
    t = np.arange(1, n + 1)
    betas = 1 - np.exp(-0.1 / n - 0.5 * (40 - 0.1) * (2 * t - 1) / n ** 2)
    np.testing.assert_allclose(m.diff_decoder.betas.numpy(), betas, rtol=1e-6)


@pytest.mark.compat
def test_f0_coarse_matches_frontend_vectors(compat):
    d = np.load(compat("frontend_vectors.npz"))
    got = f0_to_coarse_torch(torch.from_numpy(d["out.f0_hz"]).float()).numpy()
    np.testing.assert_array_equal(got, d["out.f0_coarse"].astype(np.int64))


def test_f0_coarse_torch_matches_numpy():
    from alignsts.audio.frontend import f0_to_coarse

    f0 = np.concatenate([[0.0, 10.0, 49.9, 50.0, 50.1, 1099.0, 1100.0, 2000.0],
                         np.random.default_rng(0).uniform(40, 1200, 500)]).astype(np.float32)
    got = f0_to_coarse_torch(torch.from_numpy(f0)).numpy()
    want = f0_to_coarse(f0)
    assert got.min() >= 1 and got.max() <= 255
    # float32 (torch, as the official model) vs float64 (numpy) may differ by one bin at exact .5 ties
    assert np.abs(got - want).max() <= 1 and (got == want).mean() > 0.99


def test_window_mask_formula():
    m = window_mask(10, 20, 0.3)     # w = int(6) // 2 = 3
    allowed = [np.flatnonzero(~row.numpy()).tolist() for row in m]
    assert allowed[0] == [0, 1, 2]
    assert allowed[5] == list(range(7, 13))     # c = int(5 / 10 * 20) = 10
    assert allowed[9] == list(range(15, 20))    # c = 18 -> [15, 21) cut to T2


def _tiny_hparams():
    return {
        "diffvae_type": "diffvae3", "diffvae_decoder": "prodiff", "cf_type": "base",
        "audio_num_mel_bins": 80, "gn_chs_grp": 4, "diffvae_hidden": 16, "hidden_size": 16,
        "content_enc_inp": 32, "content_enc_layers": 2, "content_enc_kernel": 3, "content_enc_stride": 1,
        "content_enc_padding": 1, "content_enc_dilation": 1,
        "f0_embed_size": 8, "use_pitch_embed": True, "f0_enc_layers": 2, "f0_enc_kernel": 5,
        "f0_enc_stride": 1, "f0_enc_padding": 2, "f0_enc_dilation": 1,
        "use_sing_spenv_reduced": True, "rhythm_enc_layers": 2, "rhythm_enc_kernel": 7,
        "rhythm_enc_stride": 2, "rhythm_enc_padding": 3, "rhythm_enc_dilation": 1,
        "rhythm_n_embed": 6, "lambda_rhythm_commit": 0.25, "rhythm_pred_cf_layers": 1,
        "rhythm_pred_num_heads": 1, "rhythm_pred_ffn_kernel": 9, "rhythm_pred_kernel": 5,
        "rhythm_pred_padding": "SAME", "rhythm_pred_layers": 2, "rhythm_pred_stride": 2,
        "rhythm_pred_win_size": 0.3, "rhythm_pred_dropout": 0.8, "rhythm_pred_cf_dropout": 0.8,
        "diffvae_layers": 2, "diffvae_num_heads": 2, "diffvae_ffn_kernel": 9, "diffvae_win_size": 0.2,
        "guided_sigma": 0.1, "num_guided_layers": 2, "plot_attn_diffvae": True, "diffvae_dropout": 0.1,
        "f0_bridge": True, "q_rhythm_bridge": False, "timesteps": 4, "timescale": 1,
        "schedule_type": "vpsde", "keep_bins": 80, "residual_layers": 3, "residual_channels": 8,
        "dilation_cycle_length": 2,
    }


@pytest.mark.slow
def test_tiny_random_model_shapes():
    torch.manual_seed(0)
    m = AlignSTSModel(AlignSTSConfig.from_official(_tiny_hparams())).eval()
    b, t1, t2, h = 2, 37, 23, 16
    content = torch.randn(b, t2, 32)
    content[1, 19:] = 0
    f0 = torch.rand(b, t1) * 400
    f0[:, 5:9] = 0
    spk = torch.randn(b, h)
    with torch.no_grad():
        o = m(content, f0, spk, infer=True)
        tf = m(content, f0, spk, torch.rand(b, t1, 1), torch.randn(b, t1, 80), infer=False)
    assert o["mel_out"].shape == (b, t1, 80) and torch.isfinite(o["mel_out"]).all()
    assert o["decoder_inp"].shape == (b, t1, h)
    assert o["q_rhythm"].shape == (b, t1, h)
    assert o["diffvae_aw_main"].shape == (b, t1, t2)
    assert o["rhythm_codes"].shape == (b, t1) and o["rhythm_codes"].dtype == torch.int64
    assert o["rhythm_predictor"].shape == (b, 10, 6)        # ceil(ceil(37 / 2) / 2)
    assert o["content_encoder"].shape == (b, t2, h) and o["f0_encoder"].shape == (b, t1, h)
    assert tf["mel_out"].shape == (b, t1, 80) and tf["rhythm_encoder"].shape == (b, 10, h)
    assert torch.isfinite(tf["r_loss"]) and torch.isfinite(tf["rq_loss"])
    # zero noise is deterministic
    with torch.no_grad():
        z1 = m(content, f0, spk, infer=True, noise_fn=zero_noise)["mel_out"]
        z2 = m(content, f0, spk, infer=True, noise_fn=zero_noise)["mel_out"]
    assert torch.equal(z1, z2)


@pytest.mark.compat
def test_chunked_attention_gives_the_same_mel(vectors, model):
    """Query-block attention (for long inputs) reproduces the recorded inference outputs."""
    torch = pytest.importorskip("torch")
    from alignsts.models.alignsts import zero_noise

    try:
        model.attention_chunk = 7          # many blocks, uneven last one
        with torch.no_grad():
            out = model(torch.from_numpy(vectors["in.content"]).float(), torch.from_numpy(vectors["in.f0_hz"]).float(),
                        torch.from_numpy(vectors["in.spk_embed"]).float(), infer=True, noise_fn=zero_noise)
    finally:
        model.attention_chunk = 0
    np.testing.assert_allclose(out["mel_out"].numpy(), vectors["out.infer.mel_out"], atol=1e-4)
    np.testing.assert_array_equal(out["rhythm_codes"].numpy(), vectors["out.infer.rhythm_codes"])
    np.testing.assert_allclose(out["crossformer"].numpy(), vectors["hook.infer.crossformer"], atol=1e-4)


# ---- official ablation switches and the FastSpeech (fs2) decoder variant --------------------------
# Expected key sets are derived from the official module definitions (DiffVAE2.__init__ in
# modules/speech2singing/diffvae2.py; FastspeechDecoder/FFTBlocks in modules/fastspeech/tts_modules.py;
# EncSALayer/MultiheadAttention(bias=False)/TransformerFFNLayer in modules/commons/common_layers.py).

def _small_variant(small: Path, **changes):
    hp = dict(read_config(small))
    hp.update(changes)
    return hp, AlignSTSModel(AlignSTSConfig.from_official(hp)).eval()


def _small_ckpt_shapes(small: Path):
    from alignsts.models.ckpt import load_pickle, model_state_dict, newest_checkpoint

    sd = model_state_dict(load_pickle(newest_checkpoint(small), trust=True))
    return {k: tuple(v.shape) for k, v in sd.items()}


def _fs2_expected(hp):
    h, k, n, m = int(hp["hidden_size"]), int(hp["diffvae_ffn_kernel"]), int(hp["fs2_layers"]), \
        int(hp["audio_num_mel_bins"])
    keys = {"fs2_decoder.pos_embed_alpha": (1,), "fs2_decoder.embed_positions._float_tensor": (1,),
            "fs2_decoder.layer_norm.weight": (h,), "fs2_decoder.layer_norm.bias": (h,),
            "mel_out.weight": (m, int(hp["diffvae_hidden"])), "mel_out.bias": (m,)}
    conv = "ffn_1" if hp.get("ffn_padding", "SAME") == "SAME" else "ffn_1.1"
    for i in range(n):
        p = f"fs2_decoder.layers.{i}.op."
        keys.update({p + "layer_norm1.weight": (h,), p + "layer_norm1.bias": (h,),
                     p + "self_attn.in_proj_weight": (3 * h, h), p + "self_attn.out_proj.weight": (h, h),
                     p + "layer_norm2.weight": (h,), p + "layer_norm2.bias": (h,),
                     p + f"ffn.{conv}.weight": (4 * h, h, k), p + f"ffn.{conv}.bias": (4 * h,),
                     p + "ffn.ffn_2.weight": (h, 4 * h), p + "ffn.ffn_2.bias": (h,)})
    return keys


def _variant_expected(hp, small: Path):
    base = _small_ckpt_shapes(small)
    drop = []
    if hp.get("wo_rhythm_adaptor"):
        drop += ["rhythm_predictor.", "rhythm_vqvae."]
    if hp.get("wo_content_rhythm_aligner"):
        drop += ["crossformer."]            # the top-level aligner only (not rhythm_predictor.crossformer)
    if hp.get("diffvae_decoder") == "fs2":
        drop += ["diff_decoder."]
    want = {k: s for k, s in base.items() if not any(k.startswith(d) for d in drop)}
    if hp.get("diffvae_decoder") == "fs2":
        want.update(_fs2_expected(hp))
    return want


VARIANTS = {
    "wo_rhythm_adaptor": dict(wo_rhythm_adaptor=True),
    "wo_aligner": dict(wo_content_rhythm_aligner=True),
    "wo_both": dict(wo_rhythm_adaptor=True, wo_content_rhythm_aligner=True),
    "fs2": dict(diffvae_decoder="fs2"),
    "fs2_left_relu": dict(diffvae_decoder="fs2", ffn_padding="LEFT", ffn_act="relu", fs2_layers=2),
    "fs2_wo_both": dict(diffvae_decoder="fs2", wo_rhythm_adaptor=True, wo_content_rhythm_aligner=True),
}


@pytest.mark.compat
@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_state_dict_keys(name, compat):
    hp, m = _small_variant(compat("alignsts_small"), **VARIANTS[name])
    want = _variant_expected(hp, compat("alignsts_small"))
    got = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert set(got) == set(want), (sorted(set(got) - set(want)), sorted(set(want) - set(got)))
    assert got == want
    buffers = {n for n, _ in m.named_buffers()}
    assert {k for k in got if k.startswith("fs2_decoder.")} & buffers <= {"fs2_decoder.embed_positions._float_tensor"}
    # the shared weights of the official checkpoint load into the variant
    from alignsts.models.ckpt import load_pickle, model_state_dict, newest_checkpoint
    sd = model_state_dict(load_pickle(newest_checkpoint(compat("alignsts_small")), trust=True))
    missing, unexpected = m.load_state_dict({k: v for k, v in sd.items() if k in want}, strict=False)
    assert not unexpected and all(k in want and k not in sd for k in missing)


@pytest.mark.compat
@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_inference(name, vectors, compat):
    torch.manual_seed(0)
    hp, m = _small_variant(compat("alignsts_small"), **VARIANTS[name])
    cfg = m.cfg
    content, f0, spk = _t(vectors, "in.content"), _t(vectors, "in.f0_hz"), _t(vectors, "in.spk_embed")
    b, t2 = content.shape[:2]
    t1, h = f0.shape[1], cfg.hidden
    # source speech rhythm curve [B, T2, 1] (use_sing_spenv_reduced) for the model without the adaptor
    spenv = torch.rand(b, t2, cfg.rhythm_enc.inp)
    spenv[1, int(vectors["in.content_lengths"][1]):] = 0
    with torch.no_grad():
        o = m(content, f0, spk, infer=True, noise_fn=zero_noise, spenv=spenv)
        tf = m(content, f0, spk, _t(vectors, "in.ref_spenv"), _t(vectors, "in.ref_mels"), infer=False,
               noise_fn=zero_noise, diffusion_t=torch.full((b,), 2, dtype=torch.long), spenv=spenv)
    for r in (o, tf):
        assert r["mel_out"].shape == (b, t1, cfg.mel_bins) and torch.isfinite(r["mel_out"]).all()
        assert r["decoder_inp"].shape == (b, t1, h) and torch.isfinite(r["decoder_inp"]).all()
        assert r["q_rhythm"].shape == (b, t1, h)
    if cfg.rhythm_adaptor:
        assert o["rhythm_codes"].shape == (b, t1)
        assert torch.isfinite(tf["r_loss"]) and torch.isfinite(tf["rq_loss"])
    else:
        assert "rhythm_codes" not in o and "rhythm_predictor" not in o and "r_loss" not in tf
        r_enc = o["rhythm_encoder"]
        assert r_enc.shape[:2] == (b, -(-(-(-t2 // 2)) // 2))     # two stride-2 convs
        # official: nearest resampling of the encoded source rhythm to the F0 length
        idx = (torch.arange(t1) * (r_enc.shape[1] / t1)).floor().long()
        torch.testing.assert_close(o["q_rhythm"], r_enc[:, idx])
        torch.testing.assert_close(tf["q_rhythm"], o["q_rhythm"])   # ref_spenv plays no part
    if cfg.aligner:
        assert o["crossformer"].shape == (b, t1, h) and "gloss_main" in o
    else:
        assert "crossformer" not in o and "gloss_main" not in o and "diffvae_aw_main" not in o
        idx = (torch.arange(t1) * (t2 / t1)).floor().long()
        x = o["q_rhythm"] + o["content_encoder"][:, idx]
        keep = (x.abs().sum(-1) != 0).float()[..., None]
        want = x + spk[:, None]
        if cfg.f0_bridge:
            want = want + o["f0_encoder"]
        if cfg.q_rhythm_bridge:
            want = want + o["q_rhythm"]
        want = want * keep
        torch.testing.assert_close(o["decoder_inp"], want)
    if cfg.decoder == "fs2":
        assert not hasattr(m, "diff_decoder")
        if not cfg.rhythm_adaptor:     # deterministic decoder, same conditioning in both modes
            torch.testing.assert_close(o["mel_out"], tf["mel_out"])


def test_fs2_decoder_ignores_padding_and_matches_reference():
    """FFTDecoder: padded frames do not affect the valid ones, padding stays zero, and one layer
    matches a plain re-computation of the official EncSALayer formula."""
    import torch.nn.functional as F
    from alignsts.models.alignsts.fs2_decoder import FFTDecoder

    torch.manual_seed(1)
    dec = FFTDecoder(16, 2, 5, 2, 0.1).eval()
    with torch.no_grad():
        dec.pos_embed_alpha.fill_(0.7)
        for p in dec.layer_norm.parameters():
            p.uniform_(-1, 1)
        x = torch.randn(1, 12, 16)
        xp = torch.cat([x, torch.zeros(1, 5, 16)], 1)
        y, yp = dec(x), dec(xp)
        torch.testing.assert_close(yp[:, :12], y, atol=1e-5, rtol=1e-5)
        assert torch.equal(yp[:, 12:], torch.zeros_like(yp[:, 12:]))
        # reference: one EncSALayer by hand
        op = dec.layers[0].op
        h = x[0] + 0.7 * dec.embed_positions(x[..., 0])[0]                       # [T, C]
        a = F.layer_norm(h, (16,), op.layer_norm1.weight, op.layer_norm1.bias)
        q, k, v = (a @ op.self_attn.in_proj_weight.t()).chunk(3, -1)
        heads = lambda z: z.view(12, 2, 8).transpose(0, 1)                        # noqa: E731
        att = torch.softmax(heads(q) * 8 ** -0.5 @ heads(k).transpose(1, 2), -1) @ heads(v)
        h = h + att.transpose(0, 1).reshape(12, 16) @ op.self_attn.out_proj.weight.t()
        f = F.layer_norm(h, (16,), op.layer_norm2.weight, op.layer_norm2.bias)
        f = op.ffn.ffn_1(f.t()[None])[0].t() * 5 ** -0.5
        h = h + op.ffn.ffn_2(F.gelu(f))
        got = op(x.transpose(0, 1) + 0.7 * dec.embed_positions(x[..., 0]).transpose(0, 1),
                 torch.zeros(1, 12, dtype=torch.bool))[:, 0]
        torch.testing.assert_close(got, h, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("decoder", ["diffsinger", "ddim"])
def test_other_decoders_still_unsupported(decoder):
    from alignsts.models.alignsts import UnsupportedConfig

    hp = _tiny_hparams()
    hp["diffvae_decoder"] = decoder
    with pytest.raises(UnsupportedConfig):
        AlignSTSConfig.from_official(hp)


def test_wo_rhythm_adaptor_needs_spenv():
    hp = _tiny_hparams()
    hp["wo_rhythm_adaptor"] = True
    m = AlignSTSModel(AlignSTSConfig.from_official(hp)).eval()
    with pytest.raises(ValueError):
        m(torch.randn(1, 9, 32), torch.rand(1, 13) * 300)
