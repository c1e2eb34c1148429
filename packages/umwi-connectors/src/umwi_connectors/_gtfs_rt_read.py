"""Reading GTFS-Realtime snapshots (files or URLs): land them and the static feed, then stage."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
from umwi_core import InputError, Lake, Settings
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze import land
from umwi_connectors._gtfs_rt import feed_time, parse_feed, stage_trip_updates
from umwi_connectors._gtfs_static import GtfsStatic, zip_directory
from umwi_connectors._http import HttpSource

__all__ = ["SOURCE", "read_trip_updates"]

SOURCE = "gtfs_rt"


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


async def _download(
    url: str, settings: Settings, transport: httpx.AsyncBaseTransport | None
) -> tuple[bytes, dict[str, object]]:
    parsed = httpx.URL(url)
    # httpx gives a base URL a trailing slash, which would change the feed's path.
    base = f"{parsed.scheme}://{parsed.netloc.decode()}"
    async with HttpSource(
        name="gtfs-rt", base_url=base, settings=settings, transport=transport
    ) as source:
        response = await source.get(parsed.path, dict(parsed.params))
    return response.content, response.meta()


def _fetch(
    location: str | Path,
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
) -> tuple[bytes, dict[str, object]]:
    """The bytes at a path or URL, with what bronze metadata records about where they came from."""
    text = str(location)
    if _is_url(text):
        return asyncio.run(_download(text, settings, transport))
    path = Path(text)
    if path.is_dir():
        return zip_directory(path), {"path": str(path), "zipped_folder": True}
    try:
        return path.read_bytes(), {"path": str(path)}
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None


def _part(location: str, index: int) -> str:
    stem = re.sub(r"[^A-Za-z0-9_=+-]+", "-", Path(location.split("?")[0]).stem).strip("-")
    return f"{index:04d}-{stem or 'feed'}"


def read_trip_updates(
    settings: Settings,
    lake: Lake,
    run_id: str,
    *,
    static: str | Path | None,
    trip_updates: Sequence[str | Path],
    network: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Iterator[StagedBatch]:
    """One staged batch of departures per TripUpdates snapshot (path or URL), in order.

    The static feed (zip or folder, path or URL) lands first in bronze as
    `gtfs_rt/static/…/static.zip`; each snapshot lands as `gtfs_rt/trip_updates/…/<n>-<name>.pb`
    before its records are yielded, with the static key and network in its metadata so
    `replay_bronze` can join it again. Without a static feed there is no scheduled time, the
    key of every departure, so the call is refused (`InputError`).
    """
    if static is None:
        raise InputError(
            "GTFS-Realtime needs its static GTFS feed (--static): scheduled times, lines and "
            "stops come from it"
        )
    if not trip_updates:
        raise InputError("no GTFS-Realtime TripUpdates feed given")
    static_bytes, static_meta = _fetch(static, settings, transport)
    feed = GtfsStatic.from_bytes(static_bytes, str(static))
    network = network or feed.agency_name
    now = datetime.now(UTC)
    static_key = land(
        lake,
        source=SOURCE,
        dataset="static",
        run_id=run_id,
        part="static",
        ext="zip",
        payload=static_bytes,
        meta={**static_meta, "network": network},
        day=now.date(),
    )
    return _snapshots(settings, lake, run_id, feed, static_key, trip_updates, network, transport)


def _snapshots(
    settings: Settings,
    lake: Lake,
    run_id: str,
    feed: GtfsStatic,
    static_key: str,
    trip_updates: Sequence[str | Path],
    network: str,
    transport: httpx.AsyncBaseTransport | None,
) -> Iterator[StagedBatch]:
    for index, location in enumerate(trip_updates):
        payload, meta = _fetch(location, settings, transport)
        where = str(location)
        # Decoded before landing, so a corrupt snapshot leaves nothing in bronze.
        as_of = feed_time(parse_feed(payload, where), where)
        key = land(
            lake,
            source=SOURCE,
            dataset="trip_updates",
            run_id=run_id,
            part=_part(where, index),
            ext="pb",
            payload=payload,
            meta={
                **meta,
                "network": network,
                "static_key": static_key,
                "header_timestamp": as_of.isoformat(),
            },
            day=as_of.date(),
        )
        yield stage_trip_updates(payload, feed, network=network, run_id=run_id, input_key=key)
