"""The built-in sources, in ingest order (weather first, so gold finds its weather)."""

from __future__ import annotations

from typing import Any

from umwi_connectors._source import Source
from umwi_connectors._sources.file import FileSource
from umwi_connectors._sources.gtfs_rt import GtfsRtSource
from umwi_connectors._sources.navitia import NavitiaSource
from umwi_connectors._sources.sample import SampleSource
from umwi_connectors._sources.weather import WeatherSource

__all__ = ["builtin_sources"]


def builtin_sources() -> list[Source[Any]]:
    return [WeatherSource(), NavitiaSource(), GtfsRtSource(), FileSource(), SampleSource()]
