"""Temp files in flight, announced so that whoever stops the process can remove them.

``atomic_path`` (and any other writer of temporary files) calls ``created(path)`` when a temp
file appears and ``gone(path)`` once it is renamed into place or deleted. A listener (the
CLI's supervisor process, see ``alignsts.runner``) hears both and deletes what is left when the
work is interrupted or killed. Without a listener these calls do nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

Listener = Callable[[str, Path], None]    # (event "created" | "gone", path)
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    _listeners.append(listener)


def created(path) -> None:
    for listener in list(_listeners):
        listener("created", Path(path))


def gone(path) -> None:
    for listener in list(_listeners):
        listener("gone", Path(path))
