"""Checks of every value that comes from outside (CLI, API, YAML configs, melody files).

Each check returns the value in its canonical type or raises an AlignSTSError subclass with one
line that names the value and the allowed range. Nothing past this boundary should ever see a
NaN transpose, a string sample rate or a list where a number belongs, so numpy, pyworld,
libsndfile and numba are only called with values they handle.

Config dataclasses declare their limits next to each field with ``Annotated``::

    balance_strength: Annotated[float, Range(0, 1)] = 0.5

and ``check_config(cfg)`` (called by ``config.from_dict`` and by ``api.convert``) checks every
field's type and range, recursively. Adding a validated option is one annotation.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from typing import Any

from .errors import AlignSTSError, ConfigError, InvalidValueError, option, raw_message

# documented limits (README "Limits")
MAX_INPUT_S = 3600.0          # longest speech, reference or melody recording
MAX_SCORE_S = 3600.0          # longest melody (notes, MIDI, F0), rests included
MIN_INPUT_SR, MAX_INPUT_SR = 4000, 768000
MIN_OUTPUT_SR, MAX_OUTPUT_SR = 8000, 192000
MAX_TRANSPOSE = 36.0          # semitones, either way
MIN_PITCH, MAX_PITCH = 24.0, 96.0    # MIDI numbers of singable notes: C1 (32.7 Hz) .. C7 (2093 Hz)
MAX_F0_HZ = 2000.0            # F0 files / arrays: 0 (unvoiced) .. this
MIN_SUNG_HZ, MAX_SUNG_HZ = 20.0, 2100.0   # the synthesised (transposed) melody must stay inside
TEMPO_RANGE = (0.1, 10.0)
BPM_RANGE = (10.0, 1000.0)
VIBRATO_DEPTH_RANGE = (0.0, 300.0)   # cents
VIBRATO_RATE_RANGE = (0.0, 15.0)     # Hz
MAX_TRACK = 65535


def _fmt(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def describe(value: Any) -> str:
    """A short one-line description of a bad value for a message."""
    shape = getattr(value, "shape", None)
    if shape is not None and getattr(value, "ndim", 0) > 0:
        return f"an array of shape {list(shape)}"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))   # 99.0 read from '--transpose 99' is shown as the 99 given
    text = " ".join(repr(value).split())
    return text if len(text) <= 40 else text[:37] + "..."


def number(value: Any, name: str, lo: float | None = None, hi: float | None = None, *,
           integer: bool = False, lo_open: bool = False, strings: bool = True,
           error: type[AlignSTSError] = InvalidValueError) -> float | int:
    """A finite real number (int with ``integer``) within [lo, hi] (``lo_open``: lo excluded).

    Accepts numeric strings ("1e-3", as PyYAML reads such YAML values; not with
    ``strings=False``) and numpy scalars; rejects bools, lists, complex numbers and NaN/inf.
    """
    what = "a whole number" if integer else "a number"
    rng = _range_text(lo, hi, lo_open)
    if isinstance(value, bool) or value is None:
        raise error(f"{name} must be {what}{rng}, got {describe(value)}")
    if isinstance(value, str) and strings:
        try:
            value = float(value.strip())
        except ValueError:
            raise error(f"{name} must be {what}{rng}, got {describe(value)}") from None
    elif isinstance(value, numbers.Real):
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
    else:
        raise error(f"{name} must be {what}{rng}, got {describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise error(f"{name} must be {what}{rng}, got {value}")
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise error(f"{name} must be {what}{rng}, got {_fmt(value)}")
            value = int(value)
    else:
        value = float(value)
    if (lo is not None and (value < lo or (lo_open and value == lo))) or (hi is not None and value > hi):
        raise error(f"{name} must be {what}{rng}, got {_fmt(value)}")
    return value


def _range_text(lo, hi, lo_open=False) -> str:
    if lo is not None and hi is not None:
        return f" from {_fmt(lo)} (excluded) to {_fmt(hi)}" if lo_open else f" from {_fmt(lo)} to {_fmt(hi)}"
    if lo is not None:
        return f" above {_fmt(lo)}" if lo_open else f" >= {_fmt(lo)}"
    if hi is not None:
        return f" <= {_fmt(hi)}"
    return ""


def integer(value: Any, name: str, lo: int | None = None, hi: int | None = None, **kw) -> int:
    return int(number(value, name, lo, hi, integer=True, **kw))


def boolean(value: Any, name: str, error: type[AlignSTSError] = InvalidValueError) -> bool:
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_":   # numpy bool
        return bool(value)
    raise error(f"{name} must be true or false, got {describe(value)}")


def text(value: Any, name: str, choices: typing.Iterable[str] | None = None,
         error: type[AlignSTSError] = InvalidValueError) -> str:
    if not isinstance(value, str):
        raise error(f"{name} must be a string, got {describe(value)}")
    if choices is not None:
        choices = tuple(choices)
        if value not in choices:
            raise error(f"{name} must be one of {', '.join(choices)}, got {describe(value)}")
    return value


# ----------------------------------------------------------------------------- common values
def transpose(value: Any, name: str = option("transpose"), words: tuple[str, ...] = ("auto",)) -> str | float:
    """'auto' (or another word in ``words``) or semitones, finite, |x| <= MAX_TRANSPOSE."""
    if isinstance(value, str) and value.strip().lower() in words:
        return value.strip().lower()
    allowed = "' or '".join(words)
    try:
        return number(value, name, -MAX_TRANSPOSE, MAX_TRANSPOSE)
    except InvalidValueError:
        raise InvalidValueError(f"{name} must be '{allowed}' or semitones from {-MAX_TRANSPOSE:g} to "
                          f"{MAX_TRANSPOSE:g}, got {describe(value)}") from None


def input_sample_rate(sr: Any, name: str = "sample rate") -> int:
    from .errors import AudioInputError

    return integer(sr, name, MIN_INPUT_SR, MAX_INPUT_SR, strings=False, error=AudioInputError)


def output_sample_rate(sr: Any, name: str = f"output sample rate ({option('sr')})") -> int:
    from .errors import OutputError

    return integer(sr, name, MIN_OUTPUT_SR, MAX_OUTPUT_SR, strings=False, error=OutputError)


def tempo(value: Any, name: str = option("tempo")) -> float:
    return number(value, name, *TEMPO_RANGE)


def bpm(value: Any, name: str = option("bpm")) -> float | None:
    return None if value is None else number(value, name, *BPM_RANGE)


def track(value: Any, name: str = option("track")) -> int | None:
    return None if value is None else integer(value, name, 0, MAX_TRACK)


def channel(value: Any, name: str = option("channel")) -> int | None:
    if value is None:
        return None
    try:
        return integer(value, name, 0, 15)
    except InvalidValueError:
        raise InvalidValueError(f"{name} must be a MIDI channel from 0 to 15 (channel 10 of 1-16 is 9 here), "
                          f"got {describe(value)}") from None


TRANSPOSE_WORDS = ("auto", "fit")   # words --transpose accepts besides semitones


def transpose_setting(value: Any, name: str = option("transpose")) -> str | float:
    """A config's transpose field: any word of TRANSPOSE_WORDS or semitones."""
    return transpose(value, name, TRANSPOSE_WORDS)


def one_of(*choices: str):
    """A Check function accepting only these strings."""
    def check(value, name):
        return text(value, name, choices)
    return check


def device(value: Any, name: str = "device") -> str:
    """A torch device setting: auto, cpu, cuda, cuda:N or mps."""
    import re

    if isinstance(value, str) and re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value.strip()):
        return value.strip()
    raise InvalidValueError(f"{name} must be auto, cpu, cuda, cuda:N or mps, got {describe(value)}")


# ----------------------------------------------------------------------------- config fields
class Range:
    """Annotated[float, Range(lo, hi)]: the field's allowed (closed) range; None = unbounded."""

    def __init__(self, lo: float | None = None, hi: float | None = None, lo_open: bool = False):
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def __call__(self, value, name, integer: bool):
        return number(value, name, self.lo, self.hi, integer=integer, lo_open=self.lo_open)


class Check:
    """Annotated[T, Check(func)]: the field is checked by ``func(value, name) -> value``."""

    def __init__(self, func):
        self.func = func


class CallerOnly:
    """Annotated[T, CallerOnly("--flag")]: settable only by the caller (CLI flag or API argument),
    never from a config file (e.g. trust_checkpoint: a YAML must not enable unpickling)."""

    def __init__(self, flag: str):
        self.flag = flag


def caller_only_fields(cls) -> dict[str, str]:
    """{field name: CLI flag} of the fields a config file may not set."""
    out = {}
    for name, hint in typing.get_type_hints(cls, include_extras=True).items():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, CallerOnly):
                out[name] = meta.flag
    return out


def check_field(value: Any, hint: Any, name: str) -> Any:
    """One value against a type hint (with optional Range/Check metadata) -> canonical value."""
    meta = ()
    if typing.get_origin(hint) is typing.Annotated:
        meta = hint.__metadata__
        hint = typing.get_args(hint)[0]
    for m in meta:
        if isinstance(m, Check):
            return m.func(value, name)
    rng = next((m for m in meta if isinstance(m, Range)), Range())
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for a in options:
            try:
                return check_field(value, typing.Annotated[a, rng] if a in (int, float) else a, name)
            except AlignSTSError as e:
                errors.append(raw_message(e))
        raise InvalidValueError(errors[-1] if len(errors) == 1 else
                          f"{name} must be {' or '.join(_type_name(a) for a in options)}, got {describe(value)}")
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            check_config(value, name)
            return value
        raise InvalidValueError(f"{name} must be a mapping of {hint.__name__} settings, got {describe(value)}")
    if hint is bool:
        return boolean(value, name)
    if hint is int:
        return rng(value, name, integer=True)
    if hint is float:
        return rng(value, name, integer=False)
    if hint is str:
        return text(value, name)
    if origin is tuple:
        if not isinstance(value, (tuple, list)):
            raise InvalidValueError(f"{name} must be a list of {len(args)} values, got {describe(value)}")
        if args and args[-1] is not Ellipsis and len(value) != len(args):
            raise InvalidValueError(f"{name} must be a list of {len(args)} values, got {len(value)}")
        kinds = [args[0]] * len(value) if args and args[-1] is Ellipsis else list(args)
        return tuple(check_field(v, typing.Annotated[k, rng] if k in (int, float) else k, f"{name}[{i}]")
                     for i, (v, k) in enumerate(zip(value, kinds)))
    return value   # Any and other hints: the owner checks them


def _type_name(t) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "a string",
            type(None): "empty"}.get(t, getattr(t, "__name__", str(t)))


def check_config(cfg: Any, where: str | None = None) -> Any:
    """Check (and canonicalise in place) every field of a config dataclass, recursively.

    Raises ConfigError naming ``where.field`` and the allowed values.
    """
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise InvalidValueError(f"{where or 'config'} must be a settings object, got {describe(cfg)}")
    where = type(cfg).__name__ if where is None else where
    hints = typing.get_type_hints(type(cfg), include_extras=True)
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        try:
            checked = check_field(value, hints[f.name], f"{where}.{f.name}" if where else f.name)
        except AlignSTSError as e:
            raise ConfigError(raw_message(e)) from None
        if checked is not value:
            object.__setattr__(cfg, f.name, checked)
    post = getattr(cfg, "validate", None)
    if callable(post):   # cross-field rules of the class itself
        try:
            post()
        except AlignSTSError as e:
            raise ConfigError(f"{where}.{raw_message(e)}" if where else raw_message(e)) from None
    return cfg

