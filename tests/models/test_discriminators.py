"""HiFi-GAN discriminators and losses: shapes, loss values, gradients, mel agreement, a toy fit."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from alignsts.audio import frontend  # noqa: E402
from alignsts.models.discriminators import (  # noqa: E402
    DiscriminatorP, DiscriminatorS, MultiPeriodDiscriminator, MultiScaleDiscriminator,
    discriminator_loss, feature_matching_loss, generator_adv_loss, mel_l1_loss, mel_of_wave)

SCALE = 1 / 16
PERIODS = (2, 3, 5, 7, 11)


@pytest.fixture(scope="module")
def discs():
    torch.manual_seed(0)
    return MultiPeriodDiscriminator(channels_scale=SCALE), MultiScaleDiscriminator(channels_scale=SCALE)


def _check_outputs(out, n_discs: int, batch: int) -> None:
    r_logits, f_logits, r_feats, f_feats = out
    assert len(r_logits) == len(f_logits) == len(r_feats) == len(f_feats) == n_discs
    for rl, fl, rf, ff in zip(*out):
        assert rl.dim() == 2 and rl.shape[0] == batch and rl.shape == fl.shape
        assert len(rf) == len(ff) > 0
        for a, b in zip(rf, ff):
            assert a.shape == b.shape and a.shape[0] == batch


def test_mpd_shapes(discs):
    mpd, _ = discs
    y = torch.randn(2, 1, 8192)
    out = mpd(y, torch.randn_like(y))
    _check_outputs(out, len(PERIODS), 2)
    for p, logits, feats in zip(PERIODS, out[0], out[2]):
        assert len(feats) == 6  # 5 convs + post
        assert all(f.dim() == 4 and f.shape[-1] == p for f in feats)
        assert feats[0].shape[1] == 4 and feats[-2].shape[1] == 64  # 32/16 -> min 4, 1024/16
        assert logits.shape[1] == feats[-1].shape[2] * p


def test_msd_shapes(discs):
    _, msd = discs
    y = torch.randn(2, 1, 8192)
    out = msd(y, torch.randn_like(y))
    _check_outputs(out, 3, 2)
    lengths = [logits.shape[1] for logits in out[0]]
    assert lengths[0] == 8192 // 64 and lengths[0] > lengths[1] > lengths[2]
    assert all(len(f) == 8 for f in out[2])  # 7 convs + post
    assert all(f.dim() == 3 for feats in out[2] for f in feats)


def test_scaled_groups_are_valid():
    d = DiscriminatorS(channels_scale=0.01)
    for conv in d.convs:
        assert conv.in_channels % conv.groups == 0 and conv.out_channels % conv.groups == 0
    logits, _ = d(torch.randn(1, 1, 1000))
    assert logits.shape[0] == 1


@pytest.mark.parametrize("period", PERIODS)
def test_period_length_not_multiple(period):
    d = DiscriminatorP(period, channels=(4, 4, 4, 4, 4))
    n = 8191 if period != 2 else 8193
    assert n % period
    logits, feats = d(torch.randn(2, 1, n))
    assert logits.shape[0] == 2 and feats[0].shape[-1] == period
    assert torch.isfinite(logits).all()


def test_mpd_odd_length(discs):
    mpd, _ = discs
    y = torch.randn(1, 1, 5000)
    _check_outputs(mpd(y, y.clone()), len(PERIODS), 1)


def test_losses_values():
    ones, zeros = [torch.ones(2, 10)] * 3, [torch.zeros(2, 10)] * 3
    total, parts = discriminator_loss(ones, zeros)
    assert total.item() == 0.0 and len(parts) == 3
    total, _ = discriminator_loss(zeros, ones)
    assert total.item() == pytest.approx(6.0)
    total, parts = generator_adv_loss(ones)
    assert total.item() == 0.0 and len(parts) == 3
    assert generator_adv_loss(zeros)[0].item() == pytest.approx(3.0)
    feats = [[torch.randn(2, 4, 7), torch.randn(2, 1, 7)] for _ in range(2)]
    assert feature_matching_loss(feats, [[f.clone() for f in fs] for fs in feats]).item() == 0.0
    shifted = [[f + 0.5 for f in fs] for fs in feats]
    assert feature_matching_loss(feats, shifted).item() == pytest.approx(2 * 4 * 0.5, rel=1e-5)
    rand = [torch.randn(2, 10) for _ in range(3)]
    assert discriminator_loss(rand, rand)[0].item() > 0 and generator_adv_loss(rand)[0].item() > 0
    a = torch.randn(2, 5, 80)
    assert mel_l1_loss(a, a).item() == 0.0
    assert mel_l1_loss(a + 1, a).item() == pytest.approx(1.0)


@pytest.mark.slow
def test_generator_gradients_reach_fake(discs):
    mpd, msd = discs
    y_real = torch.randn(1, 1, 4096)
    y_fake = torch.randn(1, 1, 4096, requires_grad=True)
    loss = 0.0
    for d in (mpd, msd):
        _, f_logits, r_feats, f_feats = d(y_real, y_fake)
        loss = loss + generator_adv_loss(f_logits)[0] + feature_matching_loss(r_feats, f_feats)
    loss = loss + 45 * mel_l1_loss(mel_of_wave(y_fake), mel_of_wave(y_real))
    loss.backward()
    assert y_fake.grad is not None and torch.isfinite(y_fake.grad).all()
    assert y_fake.grad.abs().sum() > 0


@pytest.mark.parametrize("n", [24000, 4097, 128, 300])
def test_mel_of_wave_matches_frontend(n):
    rng = np.random.default_rng(n)
    wav = (0.3 * rng.standard_normal((2, n))).astype(np.float32)
    mel = mel_of_wave(torch.from_numpy(wav)).numpy()
    assert mel.shape == (2, frontend.n_frames(n), frontend.N_MELS)
    for b in range(2):
        np.testing.assert_allclose(mel[b], frontend.log_mel(wav[b]), atol=1e-4, rtol=0)


def test_mel_of_wave_silence_and_grad():
    wav = torch.zeros(1, 1, 1024, requires_grad=True)
    mel = mel_of_wave(wav)
    assert mel.shape == (1, 9, 80)
    np.testing.assert_allclose(mel.detach().numpy()[0], frontend.log_mel(np.zeros(1024, np.float32)))
    mel.sum().backward()
    assert torch.isfinite(wav.grad).all()


@pytest.mark.slow
def test_toy_discriminators_separate_sine_from_noise():
    torch.manual_seed(0)
    n = 2048
    t = torch.arange(n) / frontend.SAMPLE_RATE
    real = (0.5 * torch.sin(2 * torch.pi * 220.0 * t)).view(1, 1, n)
    mpd = MultiPeriodDiscriminator(channels_scale=SCALE)
    msd = MultiScaleDiscriminator(channels_scale=SCALE)
    opt = torch.optim.AdamW([*mpd.parameters(), *msd.parameters()], lr=2e-3, betas=(0.8, 0.99))
    losses = []
    for _ in range(30):
        fake = 0.5 * torch.randn(1, 1, n)
        loss = 0.0
        for d in (mpd, msd):
            r_logits, f_logits, _, _ = d(real, fake)
            loss = loss + discriminator_loss(r_logits, f_logits)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.2 * first, losses
