"""Small staged batches built by hand, following `umwi_core.arrow.staging_schema`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from umwi_core.arrow import StagedBatch, staging_schema
from umwi_core.contracts import DEPARTURES, WEATHER_HOURLY

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
AS_OF = datetime(2026, 3, 10, tzinfo=UTC)


def at(hours: float = 0, seconds: float = 0, base: datetime = T0) -> datetime:
    return base + timedelta(hours=hours, seconds=seconds)


def _batch(table: str, source: str, rows: Sequence[dict[str, Any]]) -> StagedBatch:
    contract = DEPARTURES if table == "departures" else WEATHER_HOURLY
    schema = staging_schema(contract)
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for seq, row in enumerate(rows):
        unknown = set(row) - set(schema.names)
        assert not unknown, unknown
        full = {"source": source, "as_of": AS_OF, "_seq": seq, "_input": "test-input"}
        full.update(row)
        full.setdefault("_raw", json.dumps({k: str(v) for k, v in row.items()}, sort_keys=True))
        for name in schema.names:
            columns[name].append(full.get(name))
    return StagedBatch(table, source, pa.table(columns, schema=schema), ("test-input",))


def departure(
    *,
    trip: str = "T1",
    stop: str = "S1",
    line: str = "L1",
    network: str = "net",
    scheduled: datetime = T0,
    delay: int | None = 0,
    cancelled: bool | None = False,
    lat: float | None = 48.0,
    lon: float | None = 2.0,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "network": network,
        "line_id": line,
        "stop_id": stop,
        "trip_id": trip,
        "scheduled_at": scheduled,
        "delay_s": delay,
        "cancelled": cancelled,
        "stop_lat": lat,
        "stop_lon": lon,
        **extra,
    }


def weather(
    *,
    location: str = "W1",
    hour: datetime = T0,
    lat: float = 48.0,
    lon: float = 2.0,
    precipitation: float | None = 0.0,
    snowfall: float | None = 0.0,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "location_id": location,
        "latitude": lat,
        "longitude": lon,
        "hour": hour,
        "precipitation_mm": precipitation,
        "rain_mm": precipitation,
        "snowfall_cm": snowfall,
        "temperature_c": 10.0,
        "wind_speed_kmh": 5.0,
        "visibility_m": 10_000.0,
        "weather_code": 0,
        **extra,
    }


def departures_batch(rows: Sequence[dict[str, Any]], source: str = "file") -> StagedBatch:
    return _batch("departures", source, rows)


def weather_batch(rows: Sequence[dict[str, Any]], source: str = "file") -> StagedBatch:
    return _batch("weather_hourly", source, rows)


def build(
    lake: Any,
    settings: Any,
    departures: Sequence[dict[str, Any]],
    weathers: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """Commit the rows, build gold, and return every gold table as a pandas frame."""
    from umwi_transform import build_gold, commit_batch, read_gold

    if departures:
        commit_batch(departures_batch(departures), lake, settings, "run-d")
    if weathers:
        commit_batch(weather_batch(weathers), lake, settings, "run-w")
    candidates = build_gold(lake, settings, "run-b")
    return {table: read_gold(lake, table, c.version).to_pandas() for table, c in candidates.items()}


def one(frame: Any, **where: Any) -> Any:
    """The single row of `frame` matching every `column=value`."""
    mask = None
    for column, value in where.items():
        part = frame[column].isna() if value is None else frame[column] == value
        mask = part if mask is None else mask & part
    found = frame[mask]
    assert len(found) == 1, f"{len(found)} rows match {where}:\n{frame}"
    return found.iloc[0]


def forecast_table(
    issued_at: datetime, hours: Sequence[tuple[datetime, float | None]], location: str = "W1"
) -> pa.Table:
    """A `weather_forecast` issue of one location at (48.0, 2.0): (hour, precipitation)."""
    rows: list[dict[str, Any]] = [
        {
            "location_id": location,
            "latitude": 48.0,
            "longitude": 2.0,
            "issued_at": issued_at,
            "hour": hour,
            "precipitation_mm": precipitation,
            "rain_mm": precipitation,
            "snowfall_cm": 0.0,
            "temperature_c": 12.0,
            "wind_speed_kmh": 9.0,
            "weather_code": 61 if precipitation else 1,
            "visibility_m": 20_000.0,
        }
        for hour, precipitation in hours
    ]
    return pa.Table.from_pylist(rows)
