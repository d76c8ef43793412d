"""Training data: corpus readers that list speech/singing pairs, per-item features, ``prepare``.

Importing this package needs only numpy (torch is imported when a wav2vec2 content model or the
Resemblyzer speaker encoder is actually used).
"""
from alignsts.data.corpus import (
    CorpusListing,
    Pair,
    read_manifest,
    read_nhss,
    read_popbutfy,
    split,
)
from alignsts.data.features import (
    FEATURE_KEYS,
    item_features,
    make_speaker_fn,
    make_w2v_content,
    mel_content,
)
from alignsts.data.prepare import PrepareConfig, PrepareError, PrepareReport, SplitCounts, item_id, prepare
from alignsts.data.store import DataError, SplitReader, load_item, save_item, write_split

__all__ = [
    "FEATURE_KEYS",
    "CorpusListing",
    "DataError",
    "Pair",
    "PrepareConfig",
    "PrepareError",
    "PrepareReport",
    "SplitCounts",
    "SplitReader",
    "item_features",
    "item_id",
    "load_item",
    "make_speaker_fn",
    "make_w2v_content",
    "mel_content",
    "prepare",
    "read_manifest",
    "read_nhss",
    "read_popbutfy",
    "save_item",
    "split",
    "write_split",
]
