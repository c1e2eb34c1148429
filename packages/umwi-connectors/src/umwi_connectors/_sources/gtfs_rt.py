"""`gtfs_rt`: GTFS-Realtime TripUpdates (URLs or files) joined to their static GTFS feed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import Field
from umwi_core import Lake, Settings, SourceError
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze import read_meta
from umwi_connectors._gtfs_rt import stage_trip_updates
from umwi_connectors._gtfs_rt_read import read_trip_updates
from umwi_connectors._gtfs_static import GtfsStatic
from umwi_connectors._input_windows import digest, file_digest, poll_window
from umwi_connectors._source import Batches, Schedule, Source, Span, Windowing
from umwi_connectors._sources._strict import StrictOptions
from umwi_connectors._sources.meta import meta_text

__all__ = ["GtfsRtOptions", "GtfsRtSource"]

#: The last static feed read, by (lake, key): the snapshots of one run share one feed.
_STATIC_CACHE: dict[tuple[str, str], GtfsStatic] = {}


def _static(lake: Lake, key: str) -> GtfsStatic:
    cache_key = (lake.root, key)
    if cache_key not in _STATIC_CACHE:
        _STATIC_CACHE.clear()
        _STATIC_CACHE[cache_key] = GtfsStatic.from_bytes(lake.read_bytes(key), key)
    return _STATIC_CACHE[cache_key]


class GtfsRtOptions(StrictOptions):
    network: Annotated[str, Field(min_length=1, description="Network name stored with each row.")]
    static: Annotated[str, Field(min_length=1, description="Static GTFS zip (path or URL).")]
    trip_updates: Annotated[
        list[Annotated[str, Field(min_length=1)]],
        Field(min_length=1, description="TripUpdates feed, .pb path or URL (repeatable)."),
    ]


class GtfsRtSource(Source[GtfsRtOptions]):
    name = "gtfs_rt"
    options = GtfsRtOptions
    help = "GTFS-Realtime TripUpdates joined to the static feed."
    bronze = "gtfs_rt"
    windowing = Windowing.INPUTS
    schedule = Schedule.POLL

    def stream(self, options: GtfsRtOptions) -> str:
        return f"gtfs_rt:{options.network}"

    def input_window(self, options: GtfsRtOptions, now: datetime) -> str:
        if any(url.startswith(("http://", "https://")) for url in options.trip_updates):
            return poll_window(now)
        # Files: the same snapshots are the same window, whenever they are ingested.
        parts = [options.static, *sorted(options.trip_updates)]
        return digest(*[file_digest(Path(path), "trip updates") for path in parts])

    def fetch(
        self, options: GtfsRtOptions, settings: Settings, lake: Lake, run_id: str, span: Span
    ) -> Batches:
        return read_trip_updates(
            settings,
            lake,
            run_id,
            static=options.static,
            trip_updates=list(options.trip_updates),
            network=options.network,
        )

    def replay(self, lake: Lake, key: str, dataset: str, run_id: str) -> Iterable[StagedBatch]:
        if dataset == "static":
            return ()  # a static feed holds no records by itself: snapshots are joined to it
        if dataset != "trip_updates":
            raise SourceError(f"{key}: no parser for bronze {self.bronze}/{dataset}")
        meta = read_meta(lake, key)
        static_key = meta_text(meta, "static_key", key)
        if static_key is None:
            raise SourceError(f"{key}: metadata names no static feed (static_key)")
        batch = stage_trip_updates(
            lake.read_bytes(key),
            _static(lake, static_key),
            network=meta_text(meta, "network", key),
            run_id=run_id,
            input_key=key,
        )
        return [batch]
