"""The AlignSTS acoustic model (official ``DiffVAE3`` with a ProDiff decoder).

State-dict keys and shapes equal the official ones, so official checkpoints load strictly.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .config import AlignSTSConfig
from .crossformer import CrossFormer
from .diffusion import DiffNet, NoiseFn, ProDiff, gaussian_noise
from .encoders import ContentEncoder, F0Encoder, RhythmEncoder
from .fs2_decoder import FFTDecoder, _xavier_linear
from .rhythm import RhythmPredictor, VQEmbeddingEMA


class AlignSTSModel(nn.Module):
    """Speech-to-singing acoustic model.

    Sub-modules (official names): ``content_encoder``, ``f0_encoder``, ``rhythm_encoder``,
    ``rhythm_predictor``, ``rhythm_vqvae``, ``crossformer`` (the aligner), ``diff_decoder``.

    Official variants (see :class:`AlignSTSConfig`): without the rhythm adaptor
    (``wo_rhythm_adaptor``) there is no ``rhythm_predictor`` / ``rhythm_vqvae`` and the rhythm
    encoder reads the source speech's rhythm curve (``spenv``); without the aligner
    (``wo_content_rhythm_aligner``) there is no ``crossformer``; with ``diffvae_decoder: fs2``
    ``diff_decoder`` is replaced by ``fs2_decoder`` + ``mel_out``.
    """

    def __init__(self, cfg: AlignSTSConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.content_encoder = ContentEncoder(cfg.content_enc)
        self.f0_encoder = F0Encoder(cfg.f0_enc, cfg.pitch_embed_rows)
        self.rhythm_encoder = RhythmEncoder(cfg.rhythm_enc)
        if cfg.rhythm_adaptor:
            self._build_rhythm_adaptor(cfg)
        if cfg.aligner:
            self.crossformer = CrossFormer(h, cfg.num_layers, cfg.num_heads, cfg.ffn_kernel, cfg.dropout,
                                           cfg.win_size, cfg.num_guided_layers, cfg.guided_sigma)
        if cfg.decoder == "fs2":
            self.fs2_decoder = FFTDecoder(cfg.cond_hidden, cfg.fs2_layers, cfg.ffn_kernel, cfg.num_heads,
                                          cfg.fs2_dropout, cfg.ffn_padding, cfg.ffn_act)
            self.mel_out = _xavier_linear(h, cfg.mel_bins)
        else:
            denoiser = DiffNet(cfg.mel_bins, cfg.cond_hidden, cfg.residual_layers, cfg.residual_channels,
                               cfg.dilation_cycle_length)
            self.diff_decoder = ProDiff(denoiser, cfg.mel_bins, cfg.timesteps, cfg.timescale, cfg.schedule_type,
                                        cfg.spec_min, cfg.spec_max, cfg.keep_bins)
        # > 0: windowed attention in query blocks of this size, without attention weights or
        # guided losses (memory linear in length; for inference on long inputs)
        self.attention_chunk = 0

    def _build_rhythm_adaptor(self, cfg: AlignSTSConfig) -> None:
        h = cfg.hidden
        self.rhythm_predictor = RhythmPredictor(
            h, cfg.rhythm_n_embed, cfg.rhythm_pred_cf_layers, cfg.rhythm_pred_num_heads,
            cfg.rhythm_pred_ffn_kernel, cfg.num_guided_layers, cfg.rhythm_pred_guided_sigma,
            cfg.rhythm_pred_cf_dropout, cfg.rhythm_pred_dropout, cfg.rhythm_pred_kernel,
            cfg.rhythm_pred_padding, cfg.rhythm_pred_layers, cfg.rhythm_pred_stride,
            cfg.rhythm_pred_win_size, cfg.rhythm_pred_use_cont)
        self.rhythm_vqvae = VQEmbeddingEMA(cfg.rhythm_n_embed, h, cfg.rhythm_commit, cfg.vq_decay)

    def _upsample(self, x: torch.Tensor, length: int) -> torch.Tensor:
        """Nearest upsampling along time of ``[B, T, C]`` by the rhythm scale, cut to ``length``."""
        s = self.cfg.rhythm_scale
        if s <= 1:
            return x
        return F.interpolate(x.transpose(1, 2), scale_factor=s).transpose(1, 2)[:, :length]

    def forward(self, content: torch.Tensor, f0_hz: torch.Tensor, spk_embed: Optional[torch.Tensor] = None,
                ref_spenv: Optional[torch.Tensor] = None, ref_mels: Optional[torch.Tensor] = None,
                infer: bool = True, noise_fn: NoiseFn = gaussian_noise,
                diffusion_t: Optional[torch.Tensor] = None,
                spenv: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """
        content ``[B, T2, content_enc_inp]`` (wav2vec2 CTC logits, zero-padded at the end),
        f0_hz ``[B, T1]`` (0 = unvoiced / padding), spk_embed ``[B, H]`` or None,
        ref_spenv ``[B, T1, 1]`` (teacher forcing of the rhythm; else predicted),
        ref_mels ``[B, T1, M]`` (needed when ``infer`` is False), ``infer``: sample the decoder
        (True) or teacher-force it at step ``diffusion_t [B]`` (random when None).

        Returns ``mel_out [B, T1, M]``, ``decoder_inp [B, T1, H]``, ``q_rhythm [B, T1, H]``,
        ``rhythm_codes`` int64 ``[B, T1]``, ``gloss_main``, ``gloss_spenv``,
        ``diffvae_aw_main [B, T1, T2]`` (if the config asks for attention weights),
        ``rq_loss`` and ``r_loss`` (with ``ref_spenv``), and module outputs ``content_encoder
        [B, T2, H]``, ``f0_encoder [B, T1, H]``, ``rhythm_predictor [B, T1/s, n_codes]``,
        ``rhythm_encoder [B, T1/s, H]`` (with ``ref_spenv``), ``crossformer [B, T1, H]``.

        Variants: without the rhythm adaptor, ``spenv [B, T2, rhythm_enc.inp]`` (the source speech's
        rhythm curve; official ``speech_spenvs``, the reduced 1-channel energy curve when
        ``use_sing_spenv_reduced``) is required and ``ref_spenv`` is ignored; ``rhythm_codes``,
        ``rhythm_predictor``, ``gloss_spenv``, ``rq_loss``, ``r_loss`` are absent and
        ``rhythm_encoder`` is ``[B, T2/s, H]``. Without the aligner, ``crossformer``,
        ``gloss_main`` and ``diffvae_aw_main`` are absent. With the fs2 decoder, ``infer``,
        ``ref_mels``, ``noise_fn`` and ``diffusion_t`` have no effect (deterministic mel).
        """
        cfg = self.cfg
        out: Dict[str, torch.Tensor] = {}
        t1 = f0_hz.shape[1]
        x_content = self.content_encoder(content)
        x_f0 = self.f0_encoder(f0_hz)
        out["content_encoder"], out["f0_encoder"] = x_content, x_f0
        spk = spk_embed if spk_embed is not None else torch.zeros(
            content.shape[0], cfg.hidden, dtype=x_f0.dtype, device=x_f0.device)

        if cfg.rhythm_adaptor:
            q_rhythm = self._rhythm_adaptor(out, x_content, x_f0, spk, ref_spenv, t1)
        else:
            # official DiffVAE3 without the adaptor: the rhythm encoder reads the source speech's
            # rhythm curve, nearest-resampled to the F0 length
            if spenv is None:
                raise ValueError("this model (wo_rhythm_adaptor) needs the source rhythm curve `spenv`")
            r_enc = self.rhythm_encoder(spenv)
            out["rhythm_encoder"] = r_enc
            q_rhythm = F.interpolate(r_enc.transpose(1, 2), size=t1).transpose(1, 2)
        out["q_rhythm"] = q_rhythm

        if cfg.aligner:
            lean = self.attention_chunk > 0   # inference on long inputs: no weights, no guided loss
            x, aw, gloss_main = self.crossformer(q_rhythm, x_content,
                                                 need_weights=cfg.need_main_weights and not lean,
                                                 chunk=self.attention_chunk)
            out["crossformer"] = x
            out["gloss_main"] = torch.as_tensor(gloss_main, dtype=x.dtype)
            if aw is not None:
                out["diffvae_aw_main"] = aw
        else:
            # official: rhythm plus the content features nearest-resampled to the F0 length
            x = q_rhythm + F.interpolate(x_content.transpose(1, 2), size=q_rhythm.shape[1]).transpose(1, 2)
        keep = (1 - x.abs().sum(-1).eq(0).float()).unsqueeze(-1)
        fused = x + spk[:, None, :]
        if cfg.f0_bridge:
            fused = fused + x_f0
        if cfg.q_rhythm_bridge:
            fused = fused + q_rhythm
        fused = fused * keep
        out["decoder_inp"] = fused
        if cfg.decoder == "fs2":
            out["mel_out"] = self.mel_out(self.fs2_decoder(fused))
        else:
            out["mel_out"] = self.diff_decoder(fused, ref_mels, infer=infer, noise_fn=noise_fn, t=diffusion_t)
        return out

    def _rhythm_adaptor(self, out: Dict[str, torch.Tensor], x_content, x_f0, spk, ref_spenv, t1: int):
        """Predicted rhythm codes (or teacher-forced VQ of ``ref_spenv``) -> upsampled ``q_rhythm``."""
        logits, gloss_spenv = self.rhythm_predictor(x_content, x_f0, spk, chunk=self.attention_chunk)
        out["rhythm_predictor"] = logits
        out["gloss_spenv"] = torch.as_tensor(gloss_spenv, dtype=x_f0.dtype)
        if ref_spenv is not None:
            r_enc = self.rhythm_encoder(ref_spenv)
            out["rhythm_encoder"] = r_enc
            q_rhythm, rq_loss, codes, _ = self.rhythm_vqvae(r_enc)
            out["rq_loss"] = rq_loss
            out["r_loss"] = F.cross_entropy(logits.transpose(1, 2), codes)
        else:
            codes = torch.argmax(logits, dim=-1)
            q_rhythm = F.embedding(codes, self.rhythm_vqvae.embedding)
        out["rhythm_codes"] = self._upsample(codes.float()[..., None], t1)[..., 0].round().long()
        return self._upsample(q_rhythm, t1)
