"""Training data: corpus readers that list speech/singing pairs."""
from alignsts.data.corpus import (
    CorpusListing,
    Pair,
    read_manifest,
    read_nhss,
    read_popbutfy,
    split,
)

__all__ = ["CorpusListing", "Pair", "read_manifest", "read_nhss", "read_popbutfy", "split"]
