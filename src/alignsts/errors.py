"""Every exception of the package: what the CLI turns into one-line messages.

All derive from :class:`AlignSTSError` (an error caused by the user's input, files or
environment); the modules that raise them re-export their own (``alignsts.config.ConfigError``,
``alignsts.models.ckpt.CheckpointError``, ...), so both import paths name the same class.
"""


class AlignSTSError(Exception):
    """Base class: an error caused by the user's input or environment, reported in one line."""


# ----------------------------------------------------------------------------- inputs and outputs
class AudioInputError(AlignSTSError):
    """An input file is missing, unreadable, empty, too short, silent or not finite."""


class MelodyError(AlignSTSError):
    """The melody source has nothing usable (e.g. no voiced frames)."""


class OutputError(AlignSTSError):
    """An output path cannot be written."""


class InvalidValueError(AlignSTSError):
    """An argument or option is of the wrong type or outside its allowed range."""


class ConfigError(InvalidValueError):
    """A YAML config or a config value is unusable (unknown key, wrong type, out of range)."""


class ManifestError(AlignSTSError):
    """A batch manifest CSV (or one of its rows) cannot be used."""


class EvaluateError(AlignSTSError):
    """A pairs file or an evaluation option is unusable."""


# ----------------------------------------------------------------------------- models
class NeuralSetupError(AlignSTSError):
    """A model file or package the neural engine needs is missing."""


class CheckpointError(AlignSTSError):
    """A checkpoint folder or file is missing, unreadable, or does not fit its config."""


class UnsupportedConfig(AlignSTSError, ValueError):
    """An official model config asks for a variant this port does not implement.
    (Also a ValueError, as it was before it joined the AlignSTSError family.)"""


# ----------------------------------------------------------------------------- training data and runs
class CorpusError(AlignSTSError):
    """A corpus root or manifest is missing or unusable as a whole."""


class DataError(AlignSTSError):
    """Prepared data is missing or unreadable."""


class PrepareError(DataError):
    """The corpus cannot be prepared as configured (bad settings, nothing usable, mixed items)."""


class TrainError(AlignSTSError):
    """A training run cannot start or continue (bad config, data, or run folder)."""
