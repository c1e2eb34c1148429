"""The static GTFS feed that GTFS-Realtime is joined to (agency, routes, trips, stops, times).

GTFS times count from "noon minus 12 h" of the service day in `agency_timezone`, so they may
exceed 24:00 and stay right on days when the clock changes (`scheduled_utc`).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from umwi_core import InputError

__all__ = ["GtfsStatic", "StopTime", "gtfs_seconds", "route_mode", "scheduled_utc", "zip_directory"]

_REQUIRED = {
    "agency.txt": ("agency_timezone",),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "trip_id"),
    "stops.txt": ("stop_id",),
    "stop_times.txt": ("trip_id", "stop_id", "stop_sequence"),
}

#: Basic route types and the families of the extended ones (Google "extended GTFS route types").
_BASIC_MODES = {
    0: "tram",
    1: "metro",
    2: "rail",
    3: "bus",
    4: "ferry",
    5: "cable_tram",
    6: "aerial_lift",
    7: "funicular",
    11: "trolleybus",
    12: "monorail",
}
_EXTENDED_MODES = (
    (100, 200, "rail"),
    (200, 300, "bus"),  # coach
    (400, 500, "metro"),  # urban railway
    (700, 800, "bus"),
    (800, 900, "trolleybus"),
    (900, 1000, "tram"),
    (1000, 1100, "ferry"),
    (1200, 1300, "ferry"),
    (1300, 1400, "aerial_lift"),
    (1400, 1500, "funicular"),
)


def route_mode(route_type: int) -> str | None:
    """The `mode` of a GTFS route_type (basic or extended); None when unknown."""
    if route_type in _BASIC_MODES:
        return _BASIC_MODES[route_type]
    for low, high, mode in _EXTENDED_MODES:
        if low <= route_type < high:
            return mode
    return None


def gtfs_seconds(text: str, where: str) -> int | None:
    """Seconds after "noon minus 12 h" of a GTFS time `H:MM:SS` (hours may pass 24)."""
    text = text.strip()
    if not text:
        return None
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise InputError(f"{where}: {text!r} is not a GTFS time HH:MM:SS")
    hours, minutes, seconds = (int(p) for p in parts)
    if minutes > 59 or seconds > 59:
        raise InputError(f"{where}: {text!r} is not a GTFS time HH:MM:SS")
    return hours * 3600 + minutes * 60 + seconds


def scheduled_utc(service_day: date, seconds: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a GTFS time on a service day (noon minus 12 h, so DST-safe)."""
    noon = datetime.combine(service_day, time(12), tzinfo=zone).astimezone(UTC)
    return noon - timedelta(hours=12) + timedelta(seconds=seconds)


@dataclass(frozen=True)
class StopTime:
    stop_sequence: int
    stop_id: str
    arrival_s: int | None
    departure_s: int | None

    @property
    def scheduled_s(self) -> int | None:
        """The departure, or the arrival where only that is given (a terminus)."""
        return self.departure_s if self.departure_s is not None else self.arrival_s


@dataclass(frozen=True)
class Route:
    name: str | None
    mode: str | None


@dataclass(frozen=True)
class Stop:
    name: str | None
    lat: float | None
    lon: float | None


@dataclass
class GtfsStatic:
    """The parts of a static GTFS feed that scheduled times and departure columns need."""

    agency_name: str
    timezone: ZoneInfo
    routes: dict[str, Route] = field(default_factory=dict)
    trip_routes: dict[str, str] = field(default_factory=dict)
    trip_services: dict[str, str] = field(default_factory=dict)
    #: service_id → (first day, last day, runs Monday…Sunday) from calendar.txt.
    calendar: dict[str, tuple[date, date, tuple[bool, ...]]] = field(default_factory=dict)
    #: (service_id, day) → added (True) or removed (False) from calendar_dates.txt.
    exceptions: dict[tuple[str, date], bool] = field(default_factory=dict)
    exception_services: set[str] = field(default_factory=set)
    stops: dict[str, Stop] = field(default_factory=dict)
    stop_times: dict[str, list[StopTime]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> GtfsStatic:
        """Read a feed from a `.zip` or a folder of `.txt` files."""
        path = Path(path)
        if path.is_dir():
            return cls.from_bytes(zip_directory(path), str(path))
        try:
            payload = path.read_bytes()
        except OSError as error:
            raise InputError(f"cannot read the static GTFS feed {path}: {error.strerror}") from None
        return cls.from_bytes(payload, str(path))

    @classmethod
    def from_bytes(cls, payload: bytes, where: str) -> GtfsStatic:
        """Read a feed from the bytes of its zip (as landed in bronze)."""
        try:
            archive = zipfile.ZipFile(io.BytesIO(payload))
        except zipfile.BadZipFile:
            raise InputError(f"{where}: the static GTFS feed is not a zip file") from None
        with archive:
            names = {Path(n).name: n for n in archive.namelist() if not n.endswith("/")}
            tables = {}
            for name, columns in _REQUIRED.items():
                if name not in names:
                    raise InputError(f"{where}: the static GTFS feed has no {name}")
                rows = _rows(archive.read(names[name]), f"{where}:{name}")
                missing = [c for c in columns if rows and c not in rows[0]]
                if missing or not rows:
                    what = f"column {missing[0]!r}" if missing else "rows"
                    raise InputError(f"{where}: {name} has no {what}")
                tables[name] = rows
            for name in ("calendar.txt", "calendar_dates.txt"):
                if name in names:
                    tables[name] = _rows(archive.read(names[name]), f"{where}:{name}")
        feed = cls._build(tables, where)
        feed._read_calendar(tables, where)
        return feed

    def _read_calendar(self, tables: dict[str, list[dict[str, str]]], where: str) -> None:
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        for line, row in enumerate(tables.get("calendar.txt", []), start=2):
            at = f"{where}:calendar.txt line {line}"
            self.calendar[row.get("service_id", "")] = (
                _gtfs_date(row.get("start_date", ""), f"{at} start_date"),
                _gtfs_date(row.get("end_date", ""), f"{at} end_date"),
                tuple((row.get(day) or "0").strip() == "1" for day in days),
            )
        for line, row in enumerate(tables.get("calendar_dates.txt", []), start=2):
            at = f"{where}:calendar_dates.txt line {line}"
            kind = (row.get("exception_type") or "").strip()
            if kind not in ("1", "2"):
                raise InputError(f"{at}: exception_type {kind!r} is not 1 or 2")
            day = _gtfs_date(row.get("date", ""), f"{at} date")
            self.exceptions[(row.get("service_id", ""), day)] = kind == "1"
            self.exception_services.add(row.get("service_id", ""))

    def runs_on(self, trip_id: str, day: date) -> bool | None:
        """Whether the trip's service runs on `day`; None when the feed has no calendar for it."""
        service = self.trip_services.get(trip_id)
        if service is None:
            return None
        exception = self.exceptions.get((service, day))
        if exception is not None:
            return exception
        if service not in self.calendar:
            # Services defined only by calendar_dates run on their added days alone.
            return False if service in self.exception_services else None
        first, last, weekdays = self.calendar[service]
        return first <= day <= last and weekdays[day.weekday()]

    @classmethod
    def _build(cls, tables: dict[str, list[dict[str, str]]], where: str) -> GtfsStatic:
        agency = tables["agency.txt"][0]
        zone_name = agency["agency_timezone"].strip()
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(
                f"{where}:agency.txt: agency_timezone {zone_name!r} is not a time zone"
            ) from None
        feed = cls(agency_name=(agency.get("agency_name") or "").strip() or "gtfs", timezone=zone)
        for line, row in enumerate(tables["routes.txt"], start=2):
            route_type = row["route_type"].strip()
            if not route_type.lstrip("-").isdigit():
                raise InputError(
                    f"{where}:routes.txt line {line}: route_type {route_type!r} is not a number"
                )
            name = (row.get("route_short_name") or "").strip() or (
                row.get("route_long_name") or ""
            ).strip()
            feed.routes[row["route_id"]] = Route(name or None, route_mode(int(route_type)))
        for row in tables["trips.txt"]:
            feed.trip_routes[row["trip_id"]] = row["route_id"]
            if row.get("service_id"):
                feed.trip_services[row["trip_id"]] = row["service_id"]
        for line, row in enumerate(tables["stops.txt"], start=2):
            feed.stops[row["stop_id"]] = Stop(
                (row.get("stop_name") or "").strip() or None,
                _coordinate(row.get("stop_lat"), 90, f"{where}:stops.txt line {line} stop_lat"),
                _coordinate(row.get("stop_lon"), 180, f"{where}:stops.txt line {line} stop_lon"),
            )
        for line, row in enumerate(tables["stop_times.txt"], start=2):
            at = f"{where}:stop_times.txt line {line}"
            sequence = row["stop_sequence"].strip()
            if not sequence.isdigit():
                raise InputError(f"{at}: stop_sequence {sequence!r} is not a number")
            feed.stop_times.setdefault(row["trip_id"], []).append(
                StopTime(
                    int(sequence),
                    row["stop_id"],
                    gtfs_seconds(row.get("arrival_time") or "", f"{at} arrival_time"),
                    gtfs_seconds(row.get("departure_time") or "", f"{at} departure_time"),
                )
            )
        for times in feed.stop_times.values():
            times.sort(key=lambda stop_time: stop_time.stop_sequence)
        return feed

    def find_stop_time(
        self, trip_id: str, stop_sequence: int | None, stop_id: str | None
    ) -> StopTime | None:
        """The trip's stop_time by sequence (checked against `stop_id` if both are given)."""
        for stop_time in self.stop_times.get(trip_id, ()):
            if stop_sequence is not None and stop_time.stop_sequence == stop_sequence:
                return stop_time if stop_id in (None, stop_time.stop_id) else None
            if stop_sequence is None and stop_time.stop_id == stop_id:
                return stop_time
        return None


def _rows(payload: bytes, where: str) -> list[dict[str, str]]:
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is not None:
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
    return [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]


def _gtfs_date(text: str, where: str) -> date:
    try:
        return datetime.strptime(text.strip(), "%Y%m%d").date()
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a GTFS date YYYYMMDD") from None


def _coordinate(text: str | None, limit: float, where: str) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a number") from None
    if not -limit <= value <= limit:
        raise InputError(f"{where}: {value} is outside ±{limit:g}")
    return value


def zip_directory(folder: Path) -> bytes:
    """A folder of GTFS `.txt` files as zip bytes, identical for identical files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*.txt")):
            info = zipfile.ZipInfo(path.name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
