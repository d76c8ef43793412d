"""alignsts: speech-to-singing conversion (AlignSTS and training-free engines)."""
from .api import Result, convert, demo, save
from .errors import AlignSTSError

__version__ = "0.1.0"
__all__ = ["convert", "save", "demo", "Result", "AlignSTSError", "__version__"]
