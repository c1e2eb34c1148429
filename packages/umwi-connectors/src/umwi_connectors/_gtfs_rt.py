"""GTFS-Realtime TripUpdates joined to the static feed: canonical departures (DESIGN.md §3).

One staged row per reported stop_time_update (delays are never propagated to stops the feed
did not report); every stop of a CANCELED/DELETED trip is a cancelled row. A trip or stop
missing from the static feed, a stop without a scheduled time and a trip-level delay without
any stop become rows with a `_reason` (quarantine).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from google.transit import gtfs_realtime_pb2
from umwi_core import SourceError
from umwi_core.arrow import StagedBatch, staging_schema
from umwi_core.contracts import DEPARTURES, Rejection

from umwi_connectors._gtfs_static import GtfsStatic, StopTime, scheduled_utc

__all__ = ["parse_feed", "stage_trip_updates"]

_TRIP = gtfs_realtime_pb2.TripDescriptor
_STU = gtfs_realtime_pb2.TripUpdate.StopTimeUpdate
_CANCELLED_TRIPS = {_TRIP.CANCELED, _TRIP.DELETED}


def parse_feed(payload: bytes, where: str) -> gtfs_realtime_pb2.FeedMessage:
    """Decode a GTFS-Realtime feed; a `SourceError` naming `where` when it is not one."""
    feed = gtfs_realtime_pb2.FeedMessage()
    try:
        feed.ParseFromString(payload)
    except DecodeError as error:
        raise SourceError(f"{where}: not a GTFS-Realtime protobuf feed ({error})") from None
    if not feed.header.gtfs_realtime_version:
        raise SourceError(f"{where}: not a GTFS-Realtime feed (no header version)")
    return feed


def feed_time(feed: gtfs_realtime_pb2.FeedMessage, where: str) -> datetime:
    """`as_of`: the header timestamp (a feed without one cannot be placed in time)."""
    if not feed.header.HasField("timestamp") or feed.header.timestamp == 0:
        raise SourceError(f"{where}: the feed header has no timestamp, so as_of is unknown")
    try:
        return datetime.fromtimestamp(feed.header.timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        raise SourceError(
            f"{where}: the feed header timestamp {feed.header.timestamp} is not a time"
        ) from None


def _service_day(
    trip: Any, reference: StopTime | None, static: GtfsStatic, as_of: datetime
) -> tuple[date | None, Rejection | None]:
    """The trip's service day: `start_date`, else the day whose schedule is nearest the feed."""
    if trip.start_date:
        try:
            return datetime.strptime(trip.start_date, "%Y%m%d").date(), None
        except ValueError:
            return None, Rejection(
                code="bad_time", text=f"start_date {trip.start_date!r} is not YYYYMMDD"
            )
    local = as_of.astimezone(static.timezone).date()
    candidates = [local, local - timedelta(days=1), local + timedelta(days=1)]
    # Days the calendar rules out are dropped, unless it rules out all of them.
    running = [day for day in candidates if static.runs_on(trip.trip_id, day) is not False]
    candidates = running or candidates
    if reference is None or reference.scheduled_s is None:
        return candidates[0], None
    seconds = reference.scheduled_s
    return min(
        candidates,
        key=lambda day: abs(scheduled_utc(day, seconds, static.timezone) - as_of),
    ), None


class _Rows:
    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {n: [] for n in staging_schema(DEPARTURES).names}

    def add(self, **values: Any) -> None:
        for name, column in self.columns.items():
            column.append(values.get(name))

    def table(self) -> pa.Table:
        return pa.table(self.columns, schema=staging_schema(DEPARTURES))


def _event_offset(
    event: Any, scheduled_event: int | None, service: date, static: GtfsStatic
) -> tuple[int | None, int | None]:
    """(`time` − scheduled of that event, `delay`), each None when not given."""
    delay = event.delay if event.HasField("delay") else None
    offset = None
    if event.HasField("time") and event.time and scheduled_event is not None:
        at = scheduled_utc(service, scheduled_event, static.timezone)
        offset = int(event.time - at.timestamp())
    return offset, delay


def stage_trip_updates(
    payload: bytes,
    static: GtfsStatic,
    *,
    network: str | None,
    run_id: str,
    input_key: str,
    ingested_at: datetime | None = None,
) -> StagedBatch:
    """The staged departures of one TripUpdates snapshot."""
    feed = parse_feed(payload, input_key)
    as_of = feed_time(feed, input_key)
    network = network or static.agency_name
    ingested_at = ingested_at or datetime.now(UTC)
    rows = _Rows()
    seq = 0

    def add(raw: dict[str, Any], reason: Rejection | None = None, **values: Any) -> None:
        nonlocal seq
        rows.add(
            network=network,
            source="gtfs_rt",
            as_of=as_of,
            ingested_at=ingested_at,
            run_id=run_id,
            _raw=json.dumps(raw, sort_keys=True),
            _reason=reason and reason.text,
            _reason_code=reason and reason.code,
            _input=input_key,
            _seq=seq,
            **values,
        )
        seq += 1

    if feed.entity and not any(entity.HasField("trip_update") for entity in feed.entity):
        # A VehiclePositions or Alerts feed given by mistake would otherwise read as empty.
        kinds = sorted(
            {kind for e in feed.entity for kind in ("vehicle", "alert") if e.HasField(kind)}
        )
        raise SourceError(
            f"{input_key}: not a TripUpdates feed: its {len(feed.entity)} entities are "
            f"{', '.join(kinds) or 'empty'} updates"
        )
    for entity in feed.entity:
        if not entity.HasField("trip_update") or entity.is_deleted:
            continue
        for values, raw, reason in _entity_rows(entity, static, as_of):
            add(raw, reason, **values)
    return StagedBatch("departures", "gtfs_rt", rows.table(), (input_key,))


def _stop_values(static: GtfsStatic, stop_id: str) -> dict[str, Any]:
    stop = static.stops.get(stop_id)
    if stop is None:
        return {"stop_id": stop_id}
    return {"stop_id": stop_id, "stop_name": stop.name, "stop_lat": stop.lat, "stop_lon": stop.lon}


_Row = tuple[dict[str, Any], dict[str, Any], Rejection | None]


def _entity_rows(entity: Any, static: GtfsStatic, as_of: datetime) -> Iterator[_Row]:
    update = entity.trip_update
    trip = update.trip
    trip_raw = MessageToDict(trip, preserving_proto_field_name=True)
    base: dict[str, Any] = {"trip_id": trip.trip_id or None, "line_id": trip.route_id or None}
    route_id = static.trip_routes.get(trip.trip_id)
    if route_id is None:
        reason = (
            Rejection(
                code="unknown_trip",
                text=f"unknown trip {trip.trip_id!r} (not in the static GTFS feed)",
            )
            if trip.trip_id
            else Rejection(code="missing_key", text="trip update without trip_id")
        )
        updates = list(update.stop_time_update) or [None]
        for stu in updates:
            raw = {"entity_id": entity.id, "trip": trip_raw}
            values = dict(base)
            if stu is not None:
                raw["stop_time_update"] = MessageToDict(stu, preserving_proto_field_name=True)
                values["stop_id"] = stu.stop_id or None
            yield values, raw, reason
        return
    route = static.routes.get(route_id)
    base.update(
        line_id=route_id,
        line_name=route.name if route else None,
        mode=route.mode if route else None,
    )
    yield from _known_trip_rows(entity, static, base, trip_raw, as_of)


def _known_trip_rows(
    entity: Any,
    static: GtfsStatic,
    base: dict[str, Any],
    trip_raw: dict[str, Any],
    as_of: datetime,
) -> Iterator[_Row]:
    update = entity.trip_update
    trip = update.trip
    timetable = static.stop_times.get(trip.trip_id, [])
    if trip.schedule_relationship in _CANCELLED_TRIPS:
        service, bad = _service_day(trip, timetable[0] if timetable else None, static, as_of)
        for stop_time in timetable:
            raw = {
                "entity_id": entity.id,
                "trip": trip_raw,
                "stop_sequence": stop_time.stop_sequence,
            }
            values = {**base, **_stop_values(static, stop_time.stop_id), "cancelled": True}
            reason = bad or _no_schedule(stop_time, trip.trip_id)
            if reason is None and service is not None and stop_time.scheduled_s is not None:
                values["scheduled_at"] = scheduled_utc(
                    service, stop_time.scheduled_s, static.timezone
                )
            yield values, raw, reason
        return
    updates = list(update.stop_time_update)
    if not updates:
        raw = {"entity_id": entity.id, "trip": trip_raw, "delay": update.delay}
        yield (
            base,
            raw,
            Rejection(
                code="trip_delay_only",
                text="trip-level delay without stop_time_updates (not propagated to stops)",
            ),
        )
        return
    resolved = [
        static.find_stop_time(
            trip.trip_id,
            stu.stop_sequence if stu.HasField("stop_sequence") else None,
            stu.stop_id or None,
        )
        for stu in updates
    ]
    reference = next((st for st in resolved if st and st.scheduled_s is not None), None)
    service, bad = _service_day(trip, reference, static, as_of)
    for stu, found in zip(updates, resolved, strict=True):
        raw = {
            "entity_id": entity.id,
            "trip": trip_raw,
            "stop_time_update": MessageToDict(stu, preserving_proto_field_name=True),
        }
        if found is None:
            where = (
                f"stop_sequence {stu.stop_sequence}"
                if stu.HasField("stop_sequence")
                else f"stop {stu.stop_id!r}"
            )
            if stu.HasField("stop_sequence") and stu.stop_id:
                where += f" (stop {stu.stop_id!r})"
            values = {**base, "stop_id": stu.stop_id or None}
            yield (
                values,
                raw,
                Rejection(
                    code="unknown_stop",
                    text=f"unknown stop: {where} is not in trip {trip.trip_id!r}",
                ),
            )
            continue
        stop_time = found
        values = {**base, **_stop_values(static, stop_time.stop_id)}
        reason = bad or _no_schedule(stop_time, trip.trip_id)
        if reason is not None or service is None or stop_time.scheduled_s is None:
            yield values, raw, reason
            continue
        scheduled = scheduled_utc(service, stop_time.scheduled_s, static.timezone)
        values["scheduled_at"] = scheduled
        if stu.schedule_relationship == _STU.SKIPPED:
            yield {**values, "cancelled": True}, raw, None
            continue
        values["cancelled"] = False
        if stu.HasField("departure") and (
            stu.departure.HasField("delay") or stu.departure.HasField("time")
        ):
            event, scheduled_event = stu.departure, stop_time.departure_s
        else:
            # A stop with only an arrival (a terminus, or a feed that reports arrivals).
            event, scheduled_event = stu.arrival, stop_time.arrival_s
        if scheduled_event is None:
            scheduled_event = stop_time.scheduled_s
        offset, delay = _event_offset(event, scheduled_event, service, static)
        if offset is not None:
            try:
                values["observed_at"] = scheduled + timedelta(seconds=offset)
            except OverflowError:
                text = f"stop time {event.time} is out of the range of dates"
                yield values, raw, Rejection(code="bad_time", text=text)
                continue
        if delay is not None:
            values["delay_s"] = delay
        yield values, raw, None


def _no_schedule(stop_time: StopTime, trip_id: str) -> Rejection | None:
    if stop_time.scheduled_s is None:
        return Rejection(
            code="no_schedule",
            text=f"stop {stop_time.stop_id!r} (sequence {stop_time.stop_sequence}) of trip "
            f"{trip_id!r} has no scheduled time in stop_times",
        )
    return None
