"""Exceptions the CLI turns into one-line messages."""


class AlignSTSError(Exception):
    """Base class: an error caused by the user's input or environment, reported in one line."""


class AudioInputError(AlignSTSError):
    """An input file is missing, unreadable, empty, too short, silent or not finite."""


class MelodyError(AlignSTSError):
    """The melody source has nothing usable (e.g. no voiced frames)."""


class OutputError(AlignSTSError):
    """An output path cannot be written."""
