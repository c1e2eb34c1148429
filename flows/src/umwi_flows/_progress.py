"""A hook the CLI sets to follow a flow running in the same process (progress bars).

Flow parameters must be JSON, so a callback cannot be one; flows call `report` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]

_listeners: list[Listener] = []


def report(event: str, **details: Any) -> None:
    """Tell the listeners (`planned` with `total`, `advanced` with `outcome`, …)."""
    for listener in list(_listeners):
        listener(event, details)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


__all__ = ["Listener", "listening", "report"]
