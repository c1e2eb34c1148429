"""`replay_bronze`: re-stage any landed payload, dispatched on the source in its key."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from umwi_core import Lake, SourceError
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze import BRONZE_PREFIX, read_meta
from umwi_connectors._bronze_stage import HTTP_SOURCES, stage_bronze_payload
from umwi_connectors._files import FileSpec, stage_file
from umwi_connectors._gtfs_rt import stage_trip_updates
from umwi_connectors._gtfs_static import GtfsStatic
from umwi_connectors._sample import restage_sample

__all__ = ["replay_bronze"]

#: The last static feeds read, by (lake, key): the snapshots of one run share one feed.
_STATIC_CACHE: dict[tuple[str, str], GtfsStatic] = {}


def _static(lake: Lake, key: str) -> GtfsStatic:
    cache_key = (lake.root, key)
    if cache_key not in _STATIC_CACHE:
        _STATIC_CACHE.clear()
        _STATIC_CACHE[cache_key] = GtfsStatic.from_bytes(lake.read_bytes(key), key)
    return _STATIC_CACHE[cache_key]


def _text(meta: dict[str, object], name: str, key: str) -> str | None:
    value = meta.get(name)
    if value is not None and not isinstance(value, str):
        raise SourceError(f"{key}: metadata {name!r} is not text")
    return value


def _replay_file(lake: Lake, key: str, dataset: str, run_id: str) -> Iterator[StagedBatch]:
    meta = read_meta(lake, key)
    ingested = _text(meta, "ingested_at", key)
    spec = FileSpec(
        table=dataset,
        fmt="parquet" if key.endswith(".parquet") else "csv",
        network=_text(meta, "network", key),
        timezone=_text(meta, "timezone", key),
        # The landing time, so rows whose as_of was filled in replay to the same as_of.
        ingested_at=datetime.fromisoformat(ingested) if ingested else datetime.now().astimezone(),
    )
    source: pa.NativeFile = pa.BufferReader(lake.read_bytes(key))
    if key.endswith(".gz"):
        source = pa.CompressedInputStream(source, "gzip")
    return stage_file(source, spec, run_id=run_id, input_key=key)


def _replay_sample(lake: Lake, key: str, dataset: str) -> StagedBatch:
    table = pq.read_table(io.BytesIO(lake.read_bytes(key)))
    return restage_sample(table, dataset, input_key=key)


def replay_bronze(lake: Lake, key: str, *, run_id: str) -> StagedBatch | Iterator[StagedBatch]:
    """The staged records of a landed payload, as when it was first ingested.

    A static GTFS feed holds no records by itself (snapshots are joined to it): it replays
    to no batch. `run_id` is the replaying run; `as_of` comes from the payload, so a
    replay converges on the rows the first ingestion wrote.
    """
    parts = key.split("/")
    if len(parts) != 6 or parts[0] != BRONZE_PREFIX or not parts[3].startswith("date="):
        raise SourceError(f"{key}: not a bronze payload key (bronze/<source>/<dataset>/date=…)")
    source, dataset = parts[1], parts[2]
    if source in HTTP_SOURCES:
        return stage_bronze_payload(
            source,
            dataset,
            lake.read_bytes(key),
            read_meta(lake, key),
            run_id=run_id,
            input_key=key,
        )
    if source == "gtfs_rt" and dataset == "static":
        return iter(())
    if source == "gtfs_rt" and dataset == "trip_updates":
        meta = read_meta(lake, key)
        static_key = _text(meta, "static_key", key)
        if static_key is None:
            raise SourceError(f"{key}: metadata names no static feed (static_key)")
        return stage_trip_updates(
            lake.read_bytes(key),
            _static(lake, static_key),
            network=_text(meta, "network", key),
            run_id=run_id,
            input_key=key,
        )
    if source == "file" and dataset in ("departures", "weather_hourly"):
        return _replay_file(lake, key, dataset, run_id)
    if source == "sample" and dataset in ("departures", "weather_hourly"):
        return _replay_sample(lake, key, dataset)
    raise SourceError(f"{key}: no parser for bronze {source}/{dataset}")
