"""Typed hyperparameters of the AlignSTS acoustic model (official ``DiffVAE3`` + ProDiff).

Built from the official flat config (``config.yaml`` of a checkpoint folder) with
:meth:`AlignSTSConfig.from_official`; every size and structural flag is read from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ...errors import UnsupportedConfig


@dataclass(frozen=True)
class ConvStackConfig:
    """Conv1d + GroupNorm + ReLU stack: ``inp`` channels in, ``hidden`` out, ``layers`` deep."""
    inp: int
    hidden: int
    layers: int
    kernel: int
    stride: int
    padding: int
    dilation: int
    gn_chs_grp: int


@dataclass(frozen=True)
class AlignSTSConfig:
    hidden: int                       # diffvae_hidden (query/key/value size everywhere)
    mel_bins: int                     # audio_num_mel_bins
    content_enc: ConvStackConfig
    f0_enc: ConvStackConfig           # inp = f0_embed_size
    rhythm_enc: ConvStackConfig
    use_pitch_embed: bool
    pitch_embed_rows: int             # 300 in the official code
    # rhythm adaptor
    rhythm_n_embed: int
    rhythm_commit: float
    vq_decay: float
    rhythm_pred_cf_layers: int
    rhythm_pred_num_heads: int
    rhythm_pred_ffn_kernel: int
    rhythm_pred_kernel: int
    rhythm_pred_padding: str          # 'SAME' or 'LEFT'
    rhythm_pred_layers: int
    rhythm_pred_stride: int
    rhythm_pred_win_size: float
    rhythm_pred_use_cont: bool
    rhythm_pred_guided_sigma: float   # the official code never passes guided_sigma here: default 0.3
    # aligner
    num_layers: int                   # diffvae_layers
    num_heads: int                    # diffvae_num_heads
    ffn_kernel: int                   # diffvae_ffn_kernel
    win_size: float                   # diffvae_win_size
    guided_sigma: float
    num_guided_layers: int
    need_main_weights: bool           # plot_attn_diffvae: main attention weights (and guided loss) computed
    dropout: float
    rhythm_pred_dropout: float
    rhythm_pred_cf_dropout: float
    f0_bridge: bool
    q_rhythm_bridge: bool
    # ProDiff decoder + DiffNet denoiser
    timesteps: int
    timescale: float
    schedule_type: str
    keep_bins: int
    spec_min: tuple = field(default=(), repr=False)
    spec_max: tuple = field(default=(), repr=False)
    cond_hidden: int = 256            # hidden_size (DiffNet conditioner input)
    residual_layers: int = 20
    residual_channels: int = 256
    dilation_cycle_length: int = 4
    # ablations / decoder variant (official hparams in brackets)
    rhythm_adaptor: bool = True       # not wo_rhythm_adaptor: rhythm predictor + VQ; else the rhythm
                                      # encoder reads the source speech's rhythm curve directly
    aligner: bool = True              # not wo_content_rhythm_aligner: crossformer; else rhythm + resampled content
    decoder: str = "prodiff"          # diffvae_decoder: 'prodiff' (diffusion) or 'fs2' (FastSpeech decoder)
    fs2_layers: int = 4               # fs2_layers (FastspeechDecoder depth, decoder 'fs2' only)
    fs2_dropout: float = 0.1          # dropout (FFTBlocks dropout)
    ffn_padding: str = "SAME"         # ffn_padding
    ffn_act: str = "gelu"             # ffn_act
    # inputs the engine computes (a trained run's config says which; official: wav2vec2 + Resemblyzer)
    content: str = "wav2vec2"         # 'wav2vec2' (CTC logits of the monotone speech) or 'mel' (its log mel)
    speaker_embed: bool = True        # use_spk_embed: add the Resemblyzer embedding (else zeros)
    # the range the official inference clips the predicted log10 mel to before vocoding
    mel_vmin: float = -6.0            # mel_vmin
    mel_vmax: float = 1.5             # mel_vmax

    @property
    def rhythm_scale(self) -> int:
        """Frame-rate ratio between F0 frames and rhythm codes (stride ** layers)."""
        return self.rhythm_enc.stride ** self.rhythm_enc.layers

    @classmethod
    def from_official(cls, hp: Mapping[str, Any]) -> "AlignSTSConfig":
        """From the official merged flat hyperparameter dict (``config.yaml``)."""
        g = hp.get
        checks = {
            "diffvae_type": (g("diffvae_type", "diffvae2"), "diffvae3"),
            "cf_type": (g("cf_type", "base"), "base"),
            "rhythm_pred_cf_type": (g("rhythm_pred_cf_type", "base"), "base"),
            "use_pitch_embed": (bool(g("use_pitch_embed", True)), True),
        }
        for k, (have, want) in checks.items():
            if have != want:
                raise UnsupportedConfig(f"{k}={have!r}: only {want!r} is supported")
        decoder = str(g("diffvae_decoder", "diffsinger"))
        if decoder not in ("prodiff", "fs2"):
            raise UnsupportedConfig(f"diffvae_decoder={decoder!r}: only 'prodiff' and 'fs2' are supported")
        rhythm_adaptor = not g("wo_rhythm_adaptor", False)
        if rhythm_adaptor and not (g("use_sing_spenv") or g("use_rhythm_pred", True)):
            raise UnsupportedConfig("the model without a rhythm predictor is not supported")
        hidden = int(hp["diffvae_hidden"])
        chs = int(hp["gn_chs_grp"])
        mel_bins = int(hp["audio_num_mel_bins"])

        def stack(prefix: str, inp: int) -> ConvStackConfig:
            return ConvStackConfig(inp=inp, hidden=hidden, layers=int(hp[f"{prefix}_layers"]),
                                   kernel=int(hp[f"{prefix}_kernel"]), stride=int(hp[f"{prefix}_stride"]),
                                   padding=int(hp[f"{prefix}_padding"]), dilation=int(hp[f"{prefix}_dilation"]),
                                   gn_chs_grp=chs)

        rhythm_inp = 1 if g("use_sing_spenv_reduced", False) else mel_bins
        cfg = cls(
            hidden=hidden, mel_bins=mel_bins,
            content_enc=stack("content_enc", int(g("content_enc_inp", 80))),
            f0_enc=stack("f0_enc", int(hp["f0_embed_size"])),
            rhythm_enc=stack("rhythm_enc", rhythm_inp),
            use_pitch_embed=True, pitch_embed_rows=300,
            rhythm_n_embed=int(hp["rhythm_n_embed"]), rhythm_commit=float(hp["lambda_rhythm_commit"]),
            vq_decay=0.999,
            rhythm_pred_cf_layers=int(g("rhythm_pred_cf_layers", 1)),
            rhythm_pred_num_heads=int(g("rhythm_pred_num_heads", 1)),
            rhythm_pred_ffn_kernel=int(hp["rhythm_pred_ffn_kernel"]),
            rhythm_pred_kernel=int(hp["rhythm_pred_kernel"]),
            rhythm_pred_padding=str(hp["rhythm_pred_padding"]),
            rhythm_pred_layers=int(hp["rhythm_pred_layers"]),
            rhythm_pred_stride=int(g("rhythm_pred_stride", 1)),
            rhythm_pred_win_size=float(g("rhythm_pred_win_size", 0.0)),
            rhythm_pred_use_cont=bool(g("rhythm_pred_use_cont", True)),
            rhythm_pred_guided_sigma=0.3,
            num_layers=int(hp["diffvae_layers"]), num_heads=int(hp["diffvae_num_heads"]),
            ffn_kernel=int(hp["diffvae_ffn_kernel"]), win_size=float(g("diffvae_win_size", 0.0)),
            guided_sigma=float(g("guided_sigma", 0.3)), num_guided_layers=int(g("num_guided_layers", 0)),
            need_main_weights=bool(g("plot_attn_diffvae", False)),
            dropout=float(hp["diffvae_dropout"]),
            rhythm_pred_dropout=float(hp["rhythm_pred_dropout"]),
            rhythm_pred_cf_dropout=float(g("rhythm_pred_cf_dropout", 0.0)),
            f0_bridge=bool(g("f0_bridge", True)), q_rhythm_bridge=bool(g("q_rhythm_bridge", True)),
            timesteps=int(hp["timesteps"]), timescale=float(g("timescale", 1)),
            schedule_type=str(hp["schedule_type"]), keep_bins=int(g("keep_bins", mel_bins)),
            spec_min=tuple(float(v) for v in g("spec_min", [])),
            spec_max=tuple(float(v) for v in g("spec_max", [])),
            cond_hidden=int(hp["hidden_size"]), residual_layers=int(hp["residual_layers"]),
            residual_channels=int(hp["residual_channels"]),
            dilation_cycle_length=int(hp["dilation_cycle_length"]),
            rhythm_adaptor=rhythm_adaptor, aligner=not g("wo_content_rhythm_aligner", False),
            decoder=decoder, fs2_layers=int(g("fs2_layers", 4)), fs2_dropout=float(g("dropout", 0.1)),
            ffn_padding=str(g("ffn_padding", "SAME")), ffn_act=str(g("ffn_act", "gelu")),
            content="mel" if (g("use_speech_mel_mono", False) and not g("use_speech_wav2vec2_mono", True))
            else "wav2vec2",
            speaker_embed=bool(g("use_spk_embed", True)),
            mel_vmin=float(g("mel_vmin", -6.0)), mel_vmax=float(g("mel_vmax", 1.5)),
        )
        if cfg.decoder == "fs2" and cfg.ffn_padding not in ("SAME", "LEFT"):
            raise UnsupportedConfig(f"ffn_padding={cfg.ffn_padding!r}: only 'SAME' and 'LEFT' are supported")
        if cfg.rhythm_adaptor and cfg.rhythm_enc.stride > 1:
            if cfg.rhythm_pred_stride <= 1 or \
                    cfg.rhythm_enc.stride ** cfg.rhythm_enc.layers != cfg.rhythm_pred_stride ** cfg.rhythm_pred_layers:
                raise UnsupportedConfig("rhythm encoder and predictor must downsample by the same factor")
        if cfg.cond_hidden != cfg.hidden:
            raise UnsupportedConfig(f"hidden_size {cfg.cond_hidden} != diffvae_hidden {cfg.hidden}")
        return cfg
