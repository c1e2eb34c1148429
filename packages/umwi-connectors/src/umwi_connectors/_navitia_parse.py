"""Navitia departures / stop_schedules JSON → staged `departures` records (DESIGN.md §3).

Navitia writes naive local times (`20260329T013000`) in the coverage's `context.timezone`;
they are converted with zoneinfo so a DST change day stays right. A record is realtime only
when its `data_freshness` says so; then delay = departure − base departure. A departure is
cancelled only when the source says so: a `deleted` stop status or a `NO_SERVICE` disruption
on its trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
from umwi_core import SourceError
from umwi_core.arrow import StagedBatch, staging_schema
from umwi_core.contracts import DEPARTURES, ReasonCode, Rejection

__all__ = ["SOURCE", "NavitiaPage", "parse_navitia"]

SOURCE = "navitia"
_FORMAT = "%Y%m%dT%H%M%S"

#: Navitia physical/commercial mode names → umwi's mode words.
_MODES = {
    "bus": "bus",
    "busrapidtransit": "bus",
    "coach": "bus",
    "shuttle": "bus",
    "tramway": "tram",
    "tram": "tram",
    "metro": "metro",
    "subway": "metro",
    "rapidtransit": "rail",
    "localtrain": "rail",
    "train": "rail",
    "longdistancetrain": "rail",
    "rer": "rail",
    "ter": "rail",
    "boat": "ferry",
    "ferry": "ferry",
    "funicular": "funicular",
    "cablecar": "cable_car",
}


class _Bad(Exception):
    def __init__(self, text: str, *, code: ReasonCode) -> None:
        super().__init__(text)
        self.rejection = Rejection(code=code, text=text)


@dataclass(frozen=True)
class NavitiaPage:
    """What a page parse needs beyond the payload."""

    network: str
    endpoint: str  # "departures" or "stop_schedules"
    run_id: str
    input_key: str
    ingested_at: datetime


def _mode(display: dict[str, Any]) -> str | None:
    for field in ("physical_mode", "commercial_mode"):
        name = display.get(field)
        if isinstance(name, str) and name.strip():
            word = "".join(ch for ch in name.lower() if ch.isalnum())
            return _MODES.get(word, word)
    return None


def _local(value: object, zone: ZoneInfo, field: str) -> datetime:
    if not isinstance(value, str):
        raise _Bad(f"{field} is {value!r}, not a Navitia date-time string", code="bad_time")
    try:
        naive = datetime.strptime(value, _FORMAT)
    except ValueError:
        raise _Bad(f"{field} {value!r} is not YYYYMMDDTHHMMSS", code="bad_time") from None
    aware = naive.replace(tzinfo=zone)
    utc = aware.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != naive:
        raise _Bad(
            f"{field} {value} does not exist in {zone.key} (skipped by a DST change)",
            code="bad_time",
        )
    return utc


def _links(*objects: Any) -> Iterator[dict[str, Any]]:
    for obj in objects:
        links = obj.get("links") if isinstance(obj, dict) else None
        for link in links if isinstance(links, list) else ():
            if isinstance(link, dict):
                yield link


def _linked(kind: str, *objects: Any) -> list[str]:
    return [
        str(link["id"]) for link in _links(*objects) if link.get("type") == kind and "id" in link
    ]


def _str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    raise _Bad(f"{value!r} is not a string", code="bad_value")


def _coord(stop_point: dict[str, Any], axis: str) -> float | None:
    coord = stop_point.get("coord")
    if not isinstance(coord, dict) or coord.get(axis) in (None, ""):
        return None
    value = coord[axis]
    try:
        if isinstance(value, bool):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise _Bad(
            f"stop_point.coord.{axis} is {value!r}, not a number", code="bad_value"
        ) from None


class _Disruptions:
    """The disruptions of a page, indexed by id and by the trips they impact."""

    def __init__(self, items: Any) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_object: dict[str, list[dict[str, Any]]] = {}
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict):
                continue
            if "id" in item:
                self.by_id[str(item["id"])] = item
            for impacted in item.get("impacted_objects") or ():
                pt = impacted.get("pt_object") if isinstance(impacted, dict) else None
                if isinstance(pt, dict) and "id" in pt:
                    self.by_object.setdefault(str(pt["id"]), []).append(item)

    def for_trip(self, linked_ids: list[str], trip_ids: set[str]) -> list[dict[str, Any]]:
        found = {id(d): d for i in linked_ids if (d := self.by_id.get(i))}
        for trip in trip_ids:
            found.update({id(d): d for d in self.by_object.get(trip, ())})
        return list(found.values())

    def cancellation(self, linked: list[str], trip_ids: set[str], stop_id: str) -> str | None:
        """Why the departure is cancelled, or None (DESIGN.md §3: on its trip only)."""
        for disruption in self.for_trip(linked, trip_ids):
            severity = disruption.get("severity")
            effect = severity.get("effect") if isinstance(severity, dict) else None
            for impacted in disruption.get("impacted_objects") or ():
                pt = impacted.get("pt_object") if isinstance(impacted, dict) else None
                if not isinstance(pt, dict):
                    continue
                trip = pt.get("trip")
                ids = {str(pt.get("id")), str(trip.get("id")) if isinstance(trip, dict) else ""}
                linked_trip = pt.get("embedded_type") == "trip" and disruption.get("id") in linked
                if not (ids & trip_ids or linked_trip):
                    continue  # a disruption of a line or stop area cancels no single trip
                if effect == "NO_SERVICE":
                    return f"disruption {disruption.get('id')}: NO_SERVICE"
                for stop in impacted.get("impacted_stops") or ():
                    point = stop.get("stop_point") if isinstance(stop, dict) else None
                    if not isinstance(point, dict) or str(point.get("id")) != stop_id:
                        continue
                    status = stop.get("departure_status") or stop.get("stop_time_effect")
                    if status == "deleted":
                        return f"disruption {disruption.get('id')}: stop deleted"
        return None


def _items(document: dict[str, Any], endpoint: str) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(source record, flattened view) per departure, in page order."""
    if endpoint == "departures":
        for item in document.get("departures") or ():
            sdt = item.get("stop_date_time") if isinstance(item, dict) else None
            yield item, {"item": item, "sdt": sdt if isinstance(sdt, dict) else {}}
        return
    for schedule in document.get("stop_schedules") or ():
        if not isinstance(schedule, dict):
            yield schedule, {"item": schedule, "sdt": {}}
            continue
        times = schedule.get("date_times") or []
        if not isinstance(times, list):
            yield schedule, {"item": schedule, "sdt": {}, "bad": "date_times is not a list"}
            continue
        for dt in times:
            record = {**{k: v for k, v in schedule.items() if k != "date_times"}, "date_time": dt}
            sdt = dt if isinstance(dt, dict) else {}
            flat = {
                "departure_date_time": sdt.get("date_time"),
                "base_departure_date_time": sdt.get("base_date_time"),
                "data_freshness": sdt.get("data_freshness"),
                "links": sdt.get("links"),
            }
            yield record, {"item": schedule, "sdt": flat, "extra_links": sdt}


def _page_context(document: dict[str, Any], where: str) -> tuple[ZoneInfo, datetime]:
    context = document.get("context")
    if not isinstance(context, dict):
        raise SourceError(f"{where} has no context: its local times cannot be placed in UTC")
    name = context.get("timezone")
    try:
        zone = ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"{where}: context.timezone {name!r} is not a known time zone") from None
    try:
        as_of = _local(context.get("current_datetime"), zone, "context.current_datetime")
    except _Bad as error:
        raise SourceError(f"{where}: {error}") from None
    return zone, as_of


def parse_navitia(payload: bytes, page: NavitiaPage) -> StagedBatch:
    """Stage every departure of one page; a record that cannot be read keeps its reason."""
    where = f"navitia page {page.input_key}"
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SourceError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise SourceError(f"{where} is not a JSON object")
    if "error" in document:
        raise SourceError(f"{where} is an error: {json.dumps(document['error'])[:200]}")
    listing = "departures" if page.endpoint == "departures" else "stop_schedules"
    if not isinstance(document.get(listing, []), list):
        raise SourceError(f"{where}: {listing} is not a list")
    zone, as_of = _page_context(document, where)
    disruptions = _Disruptions(document.get("disruptions"))
    columns: dict[str, list[Any]] = {name: [] for name in staging_schema(DEPARTURES).names}
    for seq, (record, view) in enumerate(_items(document, page.endpoint)):
        row: dict[str, Any] = dict.fromkeys(columns)
        try:
            _fill(row, view, zone, disruptions)
            reason = None
        except _Bad as error:
            reason = error.rejection
        row.update(
            network=page.network,
            source=SOURCE,
            as_of=as_of,
            ingested_at=page.ingested_at,
            run_id=page.run_id,
            _raw=json.dumps(record, sort_keys=True, ensure_ascii=False),
            _reason=reason and reason.text,
            _reason_code=reason and reason.code,
            _input=page.input_key,
            _seq=seq,
        )
        for name in columns:
            columns[name].append(row[name])
    table = pa.table(columns, schema=staging_schema(DEPARTURES))
    return StagedBatch("departures", SOURCE, table, (page.input_key,))


def _fill(
    row: dict[str, Any], view: dict[str, Any], zone: ZoneInfo, disruptions: _Disruptions
) -> None:
    item = view["item"]
    if not isinstance(item, dict):
        raise _Bad("record is not a JSON object", code="bad_value")
    if "bad" in view:
        raise _Bad(view["bad"], code="bad_value")
    sdt: dict[str, Any] = view["sdt"]
    display = item.get("display_informations") or {}
    route = item.get("route") or {}
    line = route.get("line") if isinstance(route, dict) else None
    stop_point = item.get("stop_point")
    if not isinstance(display, dict) or not isinstance(route, dict):
        raise _Bad("display_informations or route is not an object", code="bad_value")
    if not isinstance(stop_point, dict):
        raise _Bad("stop_point is missing", code="missing_key")
    row["stop_id"] = _str(stop_point.get("id"))
    row["stop_name"] = _str(stop_point.get("name"))
    row["stop_lat"] = _coord(stop_point, "lat")
    row["stop_lon"] = _coord(stop_point, "lon")
    line_links = _linked("line", item, display)
    row["line_id"] = _str(line.get("id")) if isinstance(line, dict) else None
    row["line_id"] = row["line_id"] or (line_links[0] if line_links else None)
    row["line_name"] = _str(display.get("code")) or _str(display.get("label"))
    if row["line_name"] is None and isinstance(line, dict):
        row["line_name"] = _str(line.get("code")) or _str(line.get("name"))
    row["mode"] = _mode(display)
    extra = view.get("extra_links")
    journeys = _linked("vehicle_journey", item, display, sdt, extra)
    row["trip_id"] = journeys[0] if journeys else None
    trip_ids = set(journeys) | set(_linked("trip", item, display, sdt, extra))
    for field in ("stop_id", "line_id", "trip_id"):
        if row[field] is None:
            raise _Bad(
                f"no {field} (stop_point.id / route.line.id / vehicle_journey link)",
                code="missing_key",
            )

    freshness = sdt.get("data_freshness")
    departure = sdt.get("departure_date_time")
    base = sdt.get("base_departure_date_time")
    if departure is None and base is None:
        # A terminus has only an arrival; DESIGN.md §3 uses it then.
        departure = sdt.get("arrival_date_time")
        base = sdt.get("base_arrival_date_time")
    linked = _linked("disruption", item, display, sdt, extra)
    why_cancelled = disruptions.cancellation(linked, trip_ids, str(row["stop_id"]))
    if freshness == "realtime":
        if base is None:
            raise _Bad("realtime departure without base_departure_date_time", code="no_schedule")
        row["scheduled_at"] = _local(base, zone, "base_departure_date_time")
        if why_cancelled is None:
            row["observed_at"] = _local(departure, zone, "departure_date_time")
            row["delay_s"] = int((row["observed_at"] - row["scheduled_at"]).total_seconds())
    elif freshness in ("base_schedule", None):
        # No real-time information: observed stays unknown (not "on time").
        row["scheduled_at"] = _local(base or departure, zone, "departure_date_time")
    else:
        raise _Bad(
            f"data_freshness {freshness!r} is neither realtime nor base_schedule",
            code="bad_value",
        )
    row["cancelled"] = why_cancelled is not None
