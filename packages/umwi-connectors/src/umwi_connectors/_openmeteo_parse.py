"""Open-Meteo hourly JSON → staged `weather_hourly` records (DESIGN.md §3).

Accumulated variables (precipitation, rain, snowfall) at time T cover (T−1h, T]; the record
for `hour` H takes them from the entry at H+1h. Instant variables come from the entry at H.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from umwi_core import SourceError
from umwi_core.arrow import StagedBatch, staging_schema
from umwi_core.contracts import WEATHER_HOURLY, ReasonCode, Rejection

__all__ = [
    "ACCUMULATED",
    "INSTANT",
    "SOURCE",
    "UNITS",
    "WeatherLocation",
    "parse_openmeteo",
]

SOURCE = "open_meteo"
HOUR = timedelta(hours=1)

#: API variable → contract column.
INSTANT = {
    "temperature_2m": "temperature_c",
    "wind_speed_10m": "wind_speed_kmh",
    "weather_code": "weather_code",
    "visibility": "visibility_m",
}
ACCUMULATED = {
    "precipitation": "precipitation_mm",
    "rain": "rain_mm",
    "snowfall": "snowfall_cm",
}
#: The units the contract columns are in, as Open-Meteo spells them by default.
UNITS = {
    "temperature_2m": "°C",
    "wind_speed_10m": "km/h",
    "weather_code": "wmo code",
    "visibility": "m",
    "precipitation": "mm",
    "rain": "mm",
    "snowfall": "cm",
}


@dataclass(frozen=True)
class WeatherLocation:
    """A place whose weather umwi records, named by a stable id."""

    location_id: str
    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        if not self.location_id or not self.location_id.strip():
            raise ValueError("weather location id is empty")
        if not -90 <= self.latitude <= 90:
            raise ValueError(f"location {self.location_id}: latitude {self.latitude} not in ±90")
        if not -180 <= self.longitude <= 180:
            raise ValueError(f"location {self.location_id}: longitude {self.longitude} not in ±180")

    def to_json(self) -> dict[str, object]:
        return {"id": self.location_id, "latitude": self.latitude, "longitude": self.longitude}

    @classmethod
    def from_json(cls, data: Any) -> WeatherLocation:
        return cls(str(data["id"]), float(data["latitude"]), float(data["longitude"]))


class _BadValue(Exception):
    def __init__(self, text: str, *, code: ReasonCode) -> None:
        super().__init__(text)
        self.rejection = Rejection(code=code, text=text)


def _number(name: str, value: object, *, integer: bool = False) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadValue(f"{name} is {value!r}, not a number", code="bad_value")
    if not math.isfinite(value):
        raise _BadValue(f"{name} is {value!r}, not a finite number", code="bad_value")
    if integer:
        if float(value) != int(value) or not -32768 <= value <= 32767:
            raise _BadValue(f"{name} is {value!r}, not a small whole number", code="bad_value")
        return int(value)
    return float(value)


def _time(value: object, offset: timedelta) -> datetime:
    if not isinstance(value, str):
        raise _BadValue(f"time is {value!r}, not an ISO 8601 string", code="bad_time")
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise _BadValue(f"time {value!r} is not ISO 8601", code="bad_time") from None
    try:
        if naive.tzinfo is not None:
            return naive.astimezone(UTC)
        return (naive - offset).replace(tzinfo=UTC)
    except OverflowError:
        text = f"time {value!r} is out of the range of dates in UTC"
        raise _BadValue(text, code="bad_time") from None


def _series(hourly: dict[str, Any], name: str, length: int, where: str) -> list[Any]:
    values = hourly.get(name)
    if values is None:
        # A variable the API does not have (visibility in the archive) stays null.
        return [None] * length
    if not isinstance(values, list):
        raise SourceError(f"{where}: hourly.{name} is not a list")
    if len(values) != length:
        raise SourceError(f"{where}: hourly.{name} has {len(values)} values for {length} times")
    return values


def _check_units(block: dict[str, Any], where: str) -> None:
    units = block.get("hourly_units")
    if not isinstance(units, dict):
        return
    for name, expected in UNITS.items():
        got = units.get(name)
        if got is not None and str(got).lower() != expected.lower():
            raise SourceError(f"{where}: {name} is in {got!r}, umwi expects {expected!r}")


def parse_openmeteo(
    payload: bytes,
    *,
    locations: Sequence[WeatherLocation],
    start: datetime,
    end: datetime,
    as_of: datetime,
    ingested_at: datetime,
    run_id: str,
    input_key: str,
) -> StagedBatch:
    """Records for every hour H in [start, end) of each location, in response order.

    `end` must already exclude hours that are not over yet. A malformed response as a whole
    raises `SourceError` naming `input_key`; a bad value quarantines just its record.
    """
    where = f"open_meteo response {input_key}"
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SourceError(f"{where} is not valid JSON: {error}") from None
    if isinstance(document, dict) and document.get("error"):
        raise SourceError(f"{where} is an error: {document.get('reason', document)}")
    blocks = document if isinstance(document, list) else [document]
    if len(blocks) != len(locations):
        raise SourceError(
            f"{where} has {len(blocks)} locations, the request named {len(locations)}"
        )
    columns: dict[str, list[Any]] = {name: [] for name in staging_schema(WEATHER_HOURLY).names}
    seq = 0
    for location, block in zip(locations, blocks, strict=True):
        here = f"{where} (location {location.location_id})"
        if not isinstance(block, dict) or not isinstance(block.get("hourly"), dict):
            raise SourceError(f"{here} has no 'hourly' object")
        _check_units(block, here)
        hourly: dict[str, Any] = block["hourly"]
        times = hourly.get("time")
        if not isinstance(times, list):
            raise SourceError(f"{here} has no hourly.time list")
        offset_s = block.get("utc_offset_seconds", 0)
        if isinstance(offset_s, bool) or not isinstance(offset_s, int):
            raise SourceError(f"{here}: utc_offset_seconds is {offset_s!r}, not an integer")
        if abs(offset_s) >= 86_400:
            raise SourceError(f"{here}: utc_offset_seconds {offset_s} is not within a day")
        offset = timedelta(seconds=offset_s)
        series = {
            name: _series(hourly, name, len(times), here) for name in (*INSTANT, *ACCUMULATED)
        }
        parsed: list[datetime | None] = []
        problems: dict[int, Rejection] = {}
        for i, value in enumerate(times):
            try:
                parsed.append(_time(value, offset))
            except _BadValue as error:
                parsed.append(None)
                problems[i] = error.rejection
        # Latest index per time: a duplicated hour's accumulated values come from its last entry.
        index = {moment: i for i, moment in enumerate(parsed) if moment is not None}
        for i, moment in enumerate(parsed):
            if moment is not None and not start <= moment < end:
                continue
            raw: dict[str, Any] = {
                "location_id": location.location_id,
                "grid_latitude": block.get("latitude"),
                "grid_longitude": block.get("longitude"),
                "time": times[i],
                **{name: series[name][i] for name in INSTANT},
            }
            row: dict[str, Any] = dict.fromkeys(columns)
            reason: Rejection | None = None
            try:
                if moment is None:
                    bad = problems[i]
                    raise _BadValue(bad.text, code=bad.code)
                following = index.get(moment + HOUR)
                if following is None:
                    raise _BadValue(
                        f"accumulated values of {moment:%Y-%m-%dT%H:%M}Z are reported at the "
                        "next hour, which the response lacks",
                        code="incomplete_hour",
                    )
                raw["next_time"] = times[following]
                raw.update({f"next_{name}": series[name][following] for name in ACCUMULATED})
                row["hour"] = moment
                for name, column in INSTANT.items():
                    row[column] = _number(name, series[name][i], integer=name == "weather_code")
                for name, column in ACCUMULATED.items():
                    row[column] = _number(name, series[name][following])
            except _BadValue as error:
                reason = error.rejection
                row["hour"] = moment
            row.update(
                location_id=location.location_id,
                latitude=location.latitude,
                longitude=location.longitude,
                source=SOURCE,
                as_of=as_of,
                ingested_at=ingested_at,
                run_id=run_id,
                _raw=json.dumps(raw, sort_keys=True, default=str),
                _reason=reason and reason.text,
                _reason_code=reason and reason.code,
                _input=input_key,
                _seq=seq,
            )
            if reason is not None:
                for column in (*INSTANT.values(), *ACCUMULATED.values()):
                    row[column] = None
            seq += 1
            for name in columns:
                columns[name].append(row[name])
    table = pa.table(columns, schema=staging_schema(WEATHER_HOURLY))
    return StagedBatch("weather_hourly", SOURCE, table, (input_key,))
