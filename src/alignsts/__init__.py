"""alignsts: speech-to-singing conversion (AlignSTS and training-free engines).

The API is imported on first use (PEP 562), so ``alignsts --version``, ``--help`` and errors in
the command line cost no numerical imports."""
from .errors import AlignSTSError

__version__ = "0.1.0"
__all__ = ["convert", "save", "demo", "Result", "AlignSTSError", "__version__"]
_API = ("convert", "save", "demo", "Result")


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name == "api":
        import importlib

        return importlib.import_module(".api", __name__)
    raise AttributeError(f"module 'alignsts' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
