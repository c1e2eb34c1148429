"""A hook a caller in the same process sets to follow a running flow (progress bars).

Flow parameters must be JSON, so a callback cannot be one; flows call `report` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Planned:
    """The flow knows how many units of work (source windows or chunks) it will run."""

    total: int


@dataclass(frozen=True)
class Advanced:
    """One unit finished; `error` says why when it failed."""

    stream: str
    error: str | None = None


ProgressEvent = Planned | Advanced
Listener = Callable[[ProgressEvent], None]

_listeners: list[Listener] = []


def report(event: ProgressEvent) -> None:
    """Tell the listeners."""
    for listener in list(_listeners):
        listener(event)


@contextmanager
def on_progress(listener: Listener) -> Iterator[None]:
    """Call `listener` with every event flows report while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


__all__ = ["Advanced", "Listener", "Planned", "ProgressEvent", "on_progress", "report"]
