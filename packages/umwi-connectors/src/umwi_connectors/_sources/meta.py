"""Reading a text field of a landed payload's metadata."""

from __future__ import annotations

from umwi_core import SourceError

__all__ = ["meta_text"]


def meta_text(meta: dict[str, object], name: str, key: str) -> str | None:
    value = meta.get(name)
    if value is not None and not isinstance(value, str):
        raise SourceError(f"{key}: metadata {name!r} is not text")
    return value
