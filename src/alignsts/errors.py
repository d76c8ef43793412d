"""Every exception of the package: what the CLI turns into one-line messages.

All derive from :class:`AlignSTSError` (an error caused by the user's input, files or
environment); the modules that raise them re-export their own (``alignsts.config.ConfigError``,
``alignsts.models.ckpt.CheckpointError``, ...), so both import paths name the same class.
"""


# ----------------------------------------------------------------------------- naming the caller's options
# A message names an option with option("tempo"); str(error) spells it as the API keyword
# (``tempo``), the command line as its flag (``--tempo``, render(error.raw, "cli")), the web page
# as its field label (render(error.raw, "page")). One table, no per-message spelling.
_MARK, _END = "\x1e", "\x1f"

NAMES: dict[str, tuple[str, str]] = {   # API keyword -> (command-line flag, the page's field label)
    "speech": ("speech", "'Your speech'"),
    "reference": ("--reference", "'Sung reference'"),
    "melody": ("the melody", "the melody"),
    "midi": ("--midi", "'MIDI / score'"),
    "notes": ("--notes", "'Notes'"),
    "f0": ("--f0", "'F0 contour'"),
    "melody_from": ("--melody-from", "'Tune of a recording'"),
    "score": ("--score", "'MIDI / score'"),
    "lyrics": ("--lyrics", "'Lyrics'"),
    "song": ("--song", "'A whole song'"),
    "separator": ("--separator", "the separator"),
    "accompaniment": ("--accompaniment", "'Accompaniment'"),
    "track": ("--track", "the track"),
    "channel": ("--channel", "the channel"),
    "tempo": ("--tempo", "'Tempo factor'"),
    "bpm": ("--bpm", "'BPM'"),
    "notes_only": ("--notes-only", "'its notes only'"),
    "engine": ("--engine", "'Engine'"),
    "transpose": ("--transpose", "'Transpose'"),
    "formant": ("--formant", "'Formant factor'"),
    "lead_in": ("--lead-in", "the lead-in"),
    "loudness": ("--loudness", "the loudness"),
    "range": ("--range", "'Your range'"),
    "voice": ("--voice", "'Your range'"),
    "expression": ("--no-expression", "'Expression'"),
    "vibrato_depth": ("--vibrato-depth", "'Vibrato depth'"),
    "vibrato_rate": ("--vibrato-rate", "'Vibrato rate'"),
    "sr": ("--sr", "the output sample rate"),
    "output": ("-o/--output", "the output"),
    "plot": ("--plot", "the plot"),
    "analysis": ("--analysis", "the analysis"),
    "config": ("--config", "the settings"),
    "checkpoint": ("--checkpoint", "the server's --checkpoint"),
    "vocoder": ("--vocoder", "the server's --vocoder"),
    "content_model": ("--content-model", "the server's --content-model"),
    "trust_checkpoint": ("--trust-checkpoint", "the server's --trust-checkpoint"),
    "singing": ("singing", "the singing"),
    "valid": ("--valid", "valid"),
    "seed": ("--seed", "the seed"),
    "threads": ("--threads", "the threads"),
    "device": ("--device", "the device"),
    "speaker": ("--speaker-embedding", "the speaker embedding"),
    "test": ("--test", "test"),
}
AUDIENCES = ("api", "cli", "page")


def option(*keywords: str) -> str:
    """How a message names the caller's option ``keyword`` (an API keyword of NAMES): spelled by
    :func:`render` for whoever reads it (``tempo`` / ``--tempo`` / 'Tempo factor'). Several
    keywords: a list, 'a, b, c' (names that are one field of the page are named once)."""
    return f"{_MARK}{'|'.join(keywords)}{_END}"


def render(message: str, audience: str = "api") -> str:
    """``message`` with every option(...) spelled for ``audience``: 'api' (the keyword), 'cli'
    (the flag) or 'page' (the field label)."""
    import re

    column = AUDIENCES.index(audience)

    def one(keyword: str) -> str:
        if keyword not in NAMES:
            return keyword
        return keyword if column == 0 else NAMES[keyword][column - 1]

    def name(m):
        return ", ".join(dict.fromkeys(one(k) for k in m.group(1).split("|")))

    return re.sub(f"{_MARK}([^{_MARK}{_END}]*){_END}", name, message)


class AlignSTSError(Exception):
    """Base class: an error caused by the user's input or environment, reported in one line.

    ``str(error)`` names options as API keywords; ``error.raw`` keeps the marks of
    :func:`option` for the command line and the page to spell them their way (:func:`render`)."""

    @property
    def raw(self) -> str:
        """The message with its option marks (render(error.raw, audience))."""
        return Exception.__str__(self)

    def __str__(self) -> str:
        return render(Exception.__str__(self), "api")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def rendered(self, audience: str) -> str:
        return render(self.raw, audience)


def raw_message(error: BaseException) -> str:
    """An exception's message with its option marks kept (for re-raising it as another error)."""
    return error.raw if isinstance(error, AlignSTSError) else str(error)


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
