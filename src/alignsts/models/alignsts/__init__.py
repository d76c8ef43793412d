"""PyTorch port of the official AlignSTS acoustic model (exact state-dict compatibility)."""
from .config import AlignSTSConfig, ConvStackConfig, UnsupportedConfig
from .diffusion import DiffNet, ProDiff, gaussian_noise, zero_noise
from .encoders import f0_to_coarse_torch
from .load import build_model, load_acoustic_model
from .model import AlignSTSModel

__all__ = ["AlignSTSConfig", "ConvStackConfig", "UnsupportedConfig", "AlignSTSModel", "DiffNet", "ProDiff",
           "gaussian_noise", "zero_noise", "f0_to_coarse_torch", "build_model", "load_acoustic_model"]
