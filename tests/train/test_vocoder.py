"""The vocoder trainer: official checkpoint layout, exact resume, learning, engine loading."""
from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from alignsts.models.ckpt import load_vocoder  # noqa: E402
from alignsts.models.hifigan import HifiGan, HifiGanConfig  # noqa: E402
from alignsts.train.config import load_vocoder_config  # noqa: E402
from alignsts.train.runtime import TrainError, load_checkpoint  # noqa: E402
from alignsts.train.vocoder import (generator_for_training, load_official_generator_state,  # noqa: E402
                                    official_generator_state, train_vocoder)

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "hifigan_tiny.yaml"


def tiny_cfg(**kw):
    cfg = load_vocoder_config(TINY)
    cfg.tensorboard = False
    cfg.threads = 1
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def last(run: Path) -> dict:
    return load_checkpoint(max(run.glob("model_ckpt_steps_*.ckpt"), key=lambda p: int(p.stem.split("_")[-1])))


def test_weight_normalised_generator_state_is_the_official_layout():
    cfg = HifiGanConfig.from_official(tiny_cfg().generator)
    g = generator_for_training(cfg)
    state = official_generator_state(g)
    assert {k: tuple(v.shape) for k, v in state.items()} == HifiGan(cfg).official_key_shapes()
    plain = HifiGan(cfg).load_official_state_dict(state).eval()
    g.eval()
    mel = torch.randn(1, 80, 12) - 3
    with torch.no_grad():
        assert torch.allclose(plain(mel), g(mel), atol=1e-6)
    again = generator_for_training(cfg)
    load_official_generator_state(again, state)
    for (k, a), b in zip(g.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), k


def test_resume_is_exact_and_the_run_loads_as_a_vocoder(prepared, tmp_path):
    cfg = tiny_cfg(log_every=1, valid_every=3, ckpt_every=100, disc_start_step=2)
    train_vocoder(cfg, prepared, tmp_path / "one", steps=6)
    train_vocoder(cfg, prepared, tmp_path / "two", steps=3)
    train_vocoder(cfg, prepared, tmp_path / "two", steps=6)
    a, b = last(tmp_path / "one"), last(tmp_path / "two")
    assert a["global_step"] == b["global_step"] == 6
    for part in ("model_gen", "model_disc"):
        for k, v in a["state_dict"][part].items():
            assert torch.equal(v, b["state_dict"][part][k]), (part, k)
    voc = load_vocoder(tmp_path / "one")
    assert voc.config.use_nsf and voc.config.hop == 128
    with torch.no_grad():
        wav = voc(torch.randn(1, 80, 10) - 3, torch.full((1, 10), 220.0))
    assert wav.shape == (1, 1, 1280)
    load_vocoder(tmp_path / "one" / "best")


def test_generator_mel_loss_falls(prepared, tmp_path):
    """The mel term alone (the adversarial steps are covered by the resume test)."""
    res = train_vocoder(tiny_cfg(log_every=10, valid_every=0, lr=1e-3, disc_start_step=10**6), prepared,
                       tmp_path / "v", steps=40)
    mel = [v["mel"] for _, v in res["history"]]
    assert mel[-1] < 0.8 * mel[0], mel


def test_vocoder_must_match_the_front_end_hop(prepared, tmp_path):
    cfg = tiny_cfg()
    cfg.generator = dict(cfg.generator, upsample_rates=[8, 8, 2, 2], upsample_kernel_sizes=[16, 16, 4, 4])
    with pytest.raises(TrainError, match="upsample by 128"):
        train_vocoder(cfg, prepared, tmp_path / "bad", steps=1)
