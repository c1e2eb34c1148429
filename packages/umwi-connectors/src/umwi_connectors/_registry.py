"""The source registry: the built-in sources, then those of the `umwi.sources` entry points.

A third-party distribution adds a source by declaring, in its pyproject.toml,

    [project.entry-points."umwi.sources"]
    mysource = "my_package.my_module:MySource"

naming a `Source` subclass (or instance). Entry points are loaded once, on first use.
"""

from __future__ import annotations

import re
import threading
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from umwi_core import InputError, SourceError
from umwi_core.contracts import SOURCE_NAME_PATTERN

from umwi_connectors._source import Layout, Source

__all__ = [
    "ENTRY_POINT_GROUP",
    "SourceRegistry",
    "find_bronze_source",
    "get_source",
    "register_source",
    "registered_sources",
]

ENTRY_POINT_GROUP = "umwi.sources"


def _load(entry: EntryPoint) -> Source[Any]:
    where = f"entry point {entry.name!r} ({entry.value}) of group {ENTRY_POINT_GROUP!r}"
    try:
        found = entry.load()
    except Exception as error:
        raise SourceError(f"{where}: cannot load: {type(error).__name__}: {error}") from error
    source = found() if isinstance(found, type) and issubclass(found, Source) else found
    if not isinstance(source, Source):
        raise SourceError(f"{where}: {found!r} is not a umwi_connectors.Source")
    return source


def _check(source: Source[Any]) -> None:
    for attribute in ("name", "options", "help", "bronze"):
        if not hasattr(source, attribute):
            raise SourceError(f"source {type(source).__name__}: sets no {attribute!r}")
    if not re.fullmatch(SOURCE_NAME_PATTERN, str(source.name)):
        raise SourceError(
            f"source {source.name!r}: a name is lowercase letters, digits and _, "
            "starting with a letter (it is stored in every row the source writes)"
        )
    if source.list_key is not None and source.layout is not Layout.MANY:
        raise SourceError(f"source {source.name!r}: list_key needs Layout.MANY")


class SourceRegistry:
    """The sources by name, in registration order (the order `umwi run` ingests them)."""

    def __init__(self) -> None:
        self._sources: dict[str, Source[Any]] = {}
        self._loaded = False
        # Re-entrant: loading registers each source under the same lock.
        self._lock = threading.RLock()

    def register(self, source: Source[Any]) -> Source[Any]:
        _check(source)
        with self._lock:
            for known in self._sources.values():
                if source.name == known.name:
                    raise SourceError(f"source {source.name!r} is registered twice")
                if source.bronze == known.bronze:
                    raise SourceError(
                        f"sources {known.name!r} and {source.name!r} both land in "
                        f"bronze/{source.bronze}/"
                    )
            self._sources[source.name] = source
        return source

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        from umwi_connectors._sources import builtin_sources

        with self._lock:
            if self._loaded:
                return
            self._sources = {}
            found = builtin_sources()
            entries = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
            found += [_load(entry) for entry in entries]
            for source in found:
                self.register(source)
            self._loaded = True

    def all(self) -> tuple[Source[Any], ...]:
        self._ensure_loaded()
        return tuple(self._sources.values())

    def get(self, name: str) -> Source[Any]:
        self._ensure_loaded()
        found = self._sources.get(name)
        if found is None:
            known = ", ".join(self._sources)
            raise InputError(f"unknown source {name!r} (known: {known})")
        return found

    def by_bronze(self, bronze: str) -> Source[Any] | None:
        self._ensure_loaded()
        return next((s for s in self._sources.values() if s.bronze == bronze), None)


#: The process's registry; `register_source` adds to it.
REGISTRY = SourceRegistry()


def registered_sources() -> tuple[Source[Any], ...]:
    """Every source: built-in ones first, then entry points (by name), then registered ones."""
    return REGISTRY.all()


def get_source(name: str) -> Source[Any]:
    """The source named `name`; `InputError` listing the known ones."""
    return REGISTRY.get(name)


def find_bronze_source(bronze: str) -> Source[Any] | None:
    """The source whose payloads land in `bronze/<bronze>/`."""
    return REGISTRY.by_bronze(bronze)


def register_source(source: Source[Any]) -> Source[Any]:
    """Add a source in this process (an entry point does it for a distribution)."""
    REGISTRY.all()
    return REGISTRY.register(source)
