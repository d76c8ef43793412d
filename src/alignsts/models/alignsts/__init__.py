"""PyTorch port of the official AlignSTS acoustic model (exact state-dict compatibility).

Loading a checkpoint folder: :mod:`alignsts.models.ckpt`."""
from .config import AlignSTSConfig, ConvStackConfig, UnsupportedConfig
from .diffusion import DiffNet, ProDiff, gaussian_noise, zero_noise
from .encoders import f0_to_coarse_torch
from .model import AlignSTSModel

__all__ = ["AlignSTSConfig", "ConvStackConfig", "UnsupportedConfig", "AlignSTSModel", "DiffNet", "ProDiff",
           "gaussian_noise", "zero_noise", "f0_to_coarse_torch"]
