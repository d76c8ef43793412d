"""The neural engine end to end on tiny models built here (no downloaded weights)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from alignsts import api  # noqa: E402
from alignsts.audio import frontend as fe  # noqa: E402
from alignsts.engines import neural  # noqa: E402
from alignsts.models.ckpt import build_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COMPAT = Path(os.environ.get("ALIGNSTS_COMPAT_DIR", ROOT / ".." / "shared" / "compat"))
SMALL_CONFIG = COMPAT / "alignsts_small" / "config.yaml"

pytestmark = pytest.mark.skipif(not SMALL_CONFIG.is_file(), reason="official config template not found")


def _official_folder(folder: Path, hidden: int) -> Path:
    """A tiny random AlignSTS in the official on-disk format (config.yaml + legacy .ckpt)."""
    hp = yaml.safe_load(SMALL_CONFIG.read_text())
    for key in ("hidden_size", "diffvae_hidden", "f0_embed_size", "spk_embed_size"):
        hp[key] = hidden
    hp["residual_channels"], hp["residual_layers"] = 16, 2
    torch.manual_seed(0)
    model = build_model(hp)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(hp))
    torch.save({"epoch": 1, "global_step": 7, "state_dict": {"model": model.state_dict()}},
               folder / "model_ckpt_steps_7.ckpt", _use_new_zipfile_serialization=False)
    return folder


def _tiny_wav2vec2(folder: Path) -> Path:
    cfg = transformers.Wav2Vec2Config(
        vocab_size=32, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
        conv_dim=(16, 16, 16), conv_stride=(5, 8, 8), conv_kernel=(10, 8, 8), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, do_stable_layer_norm=False)
    torch.manual_seed(0)
    transformers.Wav2Vec2ForCTC(cfg).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("neural")
    return {"ckpt64": _official_folder(d / "alignsts64", 64), "ckpt256": _official_folder(d / "alignsts256", 256),
            "w2v": _tiny_wav2vec2(d / "w2v")}


def _cfg(tiny, hidden=64, **kw):
    return neural.NeuralConfig(checkpoint=str(tiny[f"ckpt{hidden}"]), content_model=str(tiny["w2v"]),
                               speaker="none" if hidden != 256 else "resemblyzer", griffin_lim_iters=4, **kw)


def test_convert_with_a_reference_gives_audio_on_its_time_axis(tiny):
    speech, sing, _ = api.demo_files()
    res = api.convert(speech, reference=sing, engine="neural", config=_cfg(tiny))
    a = res.analysis
    assert a.vocoder == "griffin-lim"
    assert len(res.wav) == len(a.target_f0) * fe.HOP and np.all(np.isfinite(res.wav))
    assert a.mel.shape == (len(a.target_f0), 80) and a.content.shape[1] == 32
    # wav2vec2 runs at 50 frames per second of the 16 kHz monotone speech
    speech_s = len(a.speech_f0) * fe.HOP / fe.SAMPLE_RATE
    assert abs(a.content.shape[0] - 50 * speech_s) < 3


def test_key_decision_reads_the_reference_voice_and_formant_moves_the_spectrum(tiny, centroid):
    speech, sing, midi = api.demo_files()
    with_voice = api.convert(speech, reference=sing, engine="neural", config=_cfg(tiny), transpose="fit")
    k = with_voice.analysis.key
    assert k.mode == "fit" and k.transpose == with_voice.analysis.transpose
    assert k.cues.formant_ratio is not None and k.same_speaker_score is not None   # the reference's voice
    assert k.cues.embedding_cosine is None          # speaker="none": no embedding cue either
    from_score = api.convert(speech, midi=midi, engine="neural", config=_cfg(tiny))
    assert from_score.analysis.key.same_speaker is None      # a MIDI has no voice
    plain = api.convert(speech, midi=midi, engine="neural", config=_cfg(tiny), formant=1.0)
    bright = api.convert(speech, midi=midi, engine="neural", config=_cfg(tiny), formant=1.25)
    assert len(bright.wav) == len(plain.wav) and np.all(np.isfinite(bright.wav))
    np.testing.assert_array_equal(plain.wav, from_score.wav)   # formant 1 is the identity


    assert centroid(bright.wav) > 1.05 * centroid(plain.wav)


@pytest.mark.slow
def test_convert_from_midi_with_resemblyzer_is_deterministic(tiny):
    speech, _, midi = api.demo_files()
    r1 = api.convert(speech, midi=midi, engine="neural", config=_cfg(tiny, 256, seed=3))
    r2 = api.convert(speech, midi=midi, engine="neural", config=_cfg(tiny, 256, seed=3))
    r3 = api.convert(speech, midi=midi, engine="neural", config=_cfg(tiny, 256, seed=4))
    np.testing.assert_array_equal(r1.wav, r2.wav)
    assert not np.array_equal(r1.analysis.mel, r3.analysis.mel)
    assert np.all(np.isfinite(r1.wav))


@pytest.mark.parametrize("change, message", [
    (dict(checkpoint=""), "no AlignSTS checkpoint"),
    (dict(checkpoint="/nonexistent/ckpt"), "not found"),
    (dict(content_model=None), "wav2vec2-base-960h"),
    (dict(content_model="/nonexistent/w2v"), "wav2vec2-base-960h"),
])
def test_missing_models_say_what_to_download(tiny, change, message):
    speech, sing, _ = api.demo_files()
    cfg = _cfg(tiny)
    for k, v in change.items():
        setattr(cfg, k, v)
    with pytest.raises(api.AlignSTSError, match=message):
        api.convert(speech, reference=sing, engine="neural", config=cfg)


def test_resemblyzer_needs_a_256_model(tiny):
    speech, sing, _ = api.demo_files()
    cfg = _cfg(tiny)
    cfg.speaker = "resemblyzer"
    with pytest.raises(api.AlignSTSError, match="256"):
        api.convert(speech, reference=sing, engine="neural", config=cfg)


@pytest.mark.slow
def test_cli_neural(tiny, tmp_path):
    import subprocess
    import sys

    speech, sing, _ = api.demo_files()
    proc = subprocess.run([sys.executable, "-m", "alignsts", "convert", str(speech), "-r", str(sing),
                           "--engine", "neural", "--checkpoint", str(tiny["ckpt64"]), "--content-model",
                           str(tiny["w2v"]), "--speaker-embedding", "none", "-o", "n.wav"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "n.wav").is_file()
    proc = subprocess.run([sys.executable, "-m", "alignsts", "convert", str(speech), "-r", str(sing),
                           "--engine", "neural", "--checkpoint", str(tiny["ckpt64"]), "-o", "m.wav"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "wav2vec2-base-960h" in proc.stderr
    assert not (tmp_path / "m.wav").exists()


@pytest.mark.slow
def test_convert_with_the_official_vocoder_format_is_deterministic(tiny):
    vocoder = COMPAT / "hifigan_small"
    if not vocoder.is_dir():
        pytest.skip("vocoder fixture not found")
    speech, sing, _ = api.demo_files()
    cfg = _cfg(tiny, seed=5)
    cfg.vocoder = str(vocoder)
    r1 = api.convert(speech, reference=sing, engine="neural", config=cfg)
    r2 = api.convert(speech, reference=sing, engine="neural", config=cfg)
    assert r1.analysis.vocoder == "hifigan"
    assert len(r1.wav) == len(r1.analysis.target_f0) * fe.HOP and np.all(np.isfinite(r1.wav))
    np.testing.assert_array_equal(r1.wav, r2.wav)


@pytest.mark.slow
@pytest.mark.parametrize("flags", [{"wo_rhythm_adaptor": True}, {"wo_content_rhythm_aligner": True},
                                   {"diffvae_decoder": "fs2"}], ids=["no-adaptor", "no-aligner", "fs2"])
def test_ablation_variants_run_end_to_end(tiny, tmp_path, flags):
    hp = yaml.safe_load((tiny["ckpt64"] / "config.yaml").read_text())
    hp.update(flags)
    torch.manual_seed(1)
    model = build_model(hp)
    folder = tmp_path / "variant"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(hp))
    torch.save({"state_dict": {"model": model.state_dict()}}, folder / "model_ckpt_steps_1.ckpt")
    speech, _, midi = api.demo_files()
    cfg = _cfg(tiny)
    cfg.checkpoint = str(folder)
    res = api.convert(speech, midi=midi, engine="neural", config=cfg)
    assert np.all(np.isfinite(res.wav)) and len(res.wav) == len(res.analysis.target_f0) * fe.HOP


def test_mel_is_clipped_to_the_official_range_before_the_vocoder():
    """The official inference clips the predicted log10 mel to [mel_vmin, mel_vmax] = [-6, 1.5]
    before vocoding; a model that overshoots must not reach the vocoder unclipped."""
    from types import SimpleNamespace

    from alignsts.models.alignsts import AlignSTSConfig

    hp = yaml.safe_load(SMALL_CONFIG.read_text())
    cfg = AlignSTSConfig.from_official(hp)
    assert (cfg.mel_vmin, cfg.mel_vmax) == (-6.0, 1.5)
    cfg = SimpleNamespace(content="mel", speaker_embed=False, hidden=8, rhythm_adaptor=True,
                          mel_vmin=cfg.mel_vmin, mel_vmax=cfg.mel_vmax)

    class Overshooting(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cfg = cfg

        def forward(self, content, f0, spk, infer, noise_fn, spenv):
            t = f0.shape[1]
            ramp = torch.linspace(-9.0, 4.0, t * 80).reshape(1, t, 80)   # beyond both ends
            return {"mel_out": ramp}

    got = {}

    class Recording(torch.nn.Module):
        def forward(self, mel, f0, generator=None):
            got["mel"] = mel.clone()
            return torch.zeros(1, 1, mel.shape[-1] * fe.HOP)

    speech, _, _ = api.demo_files()
    from alignsts.audio import io

    wav = io.load(speech)[: fe.SAMPLE_RATE]
    f0 = np.full(fe.n_frames(len(wav)), 220.0)
    y, an = neural.convert(wav, f0, neural.NeuralConfig(checkpoint="unused", speaker="none", device="cpu"),
                           models={"acoustic": Overshooting(), "vocoder": Recording()})
    mel = got["mel"][0].numpy()                     # [80, T] as the vocoder takes it
    assert mel.min() == pytest.approx(-6.0) and mel.max() == pytest.approx(1.5)
    assert np.array_equal(an.mel, mel.T) and an.vocoder == "hifigan" and len(y) == len(f0) * fe.HOP
