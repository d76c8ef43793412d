"""Typed configuration: dataclasses filled from YAML (unknown keys are an error)."""
from __future__ import annotations

import dataclasses
import os
import typing
from typing import Any, TypeVar

from .errors import ConfigError
from .validate import describe

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str = "config") -> T:
    """Build dataclass ``cls`` from a (nested) dict, rejecting unknown keys, values of the wrong
    type or outside their range (``validate.check_config``), and caller-only settings such as
    ``trust_checkpoint`` that a file must not grant."""
    from .validate import caller_only_fields, check_config

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    data = dict(data)
    hints = typing.get_type_hints(cls)
    at = f"{where}: " if where else ""
    kwargs = {}
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(map(str, data)) - names)
    if unknown:
        raise ConfigError(f"{at}unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    for name, flag in caller_only_fields(cls).items():
        if name in data:
            raise ConfigError(f"{at}{name} cannot be set in a config file; use {flag} "
                              f"(only for files you trust)")
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{_join(where, f.name)} must be a mapping of settings, got {describe(value)}")
            value = from_dict(hint, value, _join(where, f.name))
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return check_config(cls(**kwargs), where)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def load_yaml(cls: type[T], path: str | os.PathLike) -> T:
    """Read a YAML file into dataclass ``cls``."""
    from .textfiles import load_yaml as bounded_yaml, read_text

    data = bounded_yaml(read_text(path, "config", ConfigError, max_bytes=1_000_000), str(path), ConfigError) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    try:
        return from_dict(cls, data, "")
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def to_dict(obj) -> dict[str, Any]:
    return dataclasses.asdict(obj)
