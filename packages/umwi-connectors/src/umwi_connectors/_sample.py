"""The synthetic sample city as canonical records: vectorised, seeded, streamed in chunks.

Departures follow the city's timetable on each service day (GTFS "noon minus 12 h" clock in
the city's zone, so DST days are right); delays and cancellations follow the documented
`SAMPLE_EFFECT` of the hour's weather at the stop's nearest station. Every service day and
every UTC weather day has its own generator, so a day is identical in any range it is part of.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from umwi_core import InputError, Lake
from umwi_core.arrow import StagedBatch, arrow_schema, staging_schema
from umwi_core.contracts import DEPARTURES, WEATHER_HOURLY, WEATHER_MEASURES

from umwi_connectors._bronze import land
from umwi_connectors._gtfs_static import scheduled_utc
from umwi_connectors._sample_city import (
    SAMPLE_EFFECT,
    SAMPLE_LOCATIONS,
    SAMPLE_NETWORK,
    SAMPLE_TIMEZONE,
    SampleCity,
    WeatherEffect,
    sample_city,
)
from umwi_connectors._sample_weather import CLASSES, sample_weather, weather_class_codes

__all__ = [
    "generate_sample",
    "restage_sample",
    "sample_tables",
    "write_sample_files",
]

SOURCE = "sample"
_HOUR_US = 3_600_000_000
_TIMESTAMP = pa.timestamp("us", tz="UTC")
#: Rough departures per day of the default city, to turn a target count into days.
DEPARTURES_PER_DAY = 14_000


@cache
def _city(seed: int) -> SampleCity:
    return sample_city(seed)


def _epoch_us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def _repeat(value: object, n: int, kind: pa.DataType) -> pa.Array:
    return pa.array([value], kind).take(pa.array(np.zeros(n, dtype=np.int32)))


def _take_strings(vocabulary: list[str], index: np.ndarray) -> pa.Array:
    """`vocabulary[index]` as an Arrow string array."""
    return pa.array(vocabulary, pa.string()).take(pa.array(index))


def _departure_arrays(
    city: SampleCity, seed: int, day: date, effect: WeatherEffect, weather: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    weekday = day.weekday() < 5
    template = city.templates["weekday" if weekday else "weekend"]
    seconds = template["seconds"]
    n = seconds.size
    base = _epoch_us(scheduled_utc(day, 0, ZoneInfo(SAMPLE_TIMEZONE)))
    scheduled = base + seconds * 1_000_000
    stop = template["stop"]
    location = city.stop_location[stop]
    hour = (scheduled - weather["hour_us"][0]) // _HOUR_US
    precipitation = weather["precipitation_mm"][location, hour]
    snowfall = weather["snowfall_cm"][location, hour]
    local_hour = seconds // 3600
    rush = weekday & (
        ((local_hour >= 7) & (local_hour < 9)) | ((local_hour >= 16) & (local_hour < 19))
    )
    rng = np.random.default_rng([seed, 3, day.toordinal()])
    probability = np.asarray([effect.cancel_probability[c] for c in CLASSES])
    cancelled = rng.random(n) < probability[weather_class_codes(precipitation, snowfall)]
    delay = np.rint(
        effect.base_delay_s
        + effect.rush_delay_s * rush
        + effect.per_mm_s * precipitation
        + effect.per_cm_snow_s * snowfall
        + rng.normal(0.0, effect.noise_s, n)
    )
    delay = np.maximum(delay, effect.min_delay_s).astype(np.int64)
    return {
        "scheduled": scheduled,
        "delay": delay,
        "cancelled": cancelled,
        "stop": stop,
        "line": template["line"],
    }


@cache
def _trips(seed: int, day_type: str) -> tuple[list[str], np.ndarray]:
    """The distinct trips of a day type ("line-direction-number") and each departure's trip."""
    template = _city(seed).templates[day_type]
    lines = _city(seed).lines
    keys = np.stack([template["line"], template["direction"], template["trip"]], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    names = [f"{lines[line].line_id}-{way}-{trip:03d}" for line, way, trip in unique.tolist()]
    return names, inverse.reshape(-1).astype(np.int64)


def departures_table(
    seed: int,
    days: list[date],
    *,
    run_id: str,
    ingested_at: datetime,
    effect: WeatherEffect = SAMPLE_EFFECT,
) -> pa.Table:
    """The departures of some service days, with the silver columns (`arrow_schema`)."""
    city = _city(seed)
    weather = sample_weather(seed, min(days) - timedelta(days=1), (max(days) - min(days)).days + 3)
    parts = [_departure_arrays(city, seed, day, effect, weather) for day in days]
    vocabulary: list[str] = []
    trip_index = []
    for day in days:
        names, index = _trips(seed, "weekday" if day.weekday() < 5 else "weekend")
        trip_index.append(index + len(vocabulary))
        vocabulary += [f"{day:%Y%m%d}-{name}" for name in names]
    trip_ids = _take_strings(vocabulary, np.concatenate(trip_index))
    scheduled = np.concatenate([p["scheduled"] for p in parts])
    delay = np.concatenate([p["delay"] for p in parts])
    cancelled = np.concatenate([p["cancelled"] for p in parts])
    stop = np.concatenate([p["stop"] for p in parts]).astype(np.int64)
    line = np.concatenate([p["line"] for p in parts]).astype(np.int64)
    n = scheduled.size
    observed = scheduled + delay * 1_000_000
    columns = {
        "network": _repeat(SAMPLE_NETWORK, n, pa.string()),
        "source": _repeat(SOURCE, n, pa.string()),
        "line_id": _take_strings([x.line_id for x in city.lines], line),
        "line_name": _take_strings([x.name for x in city.lines], line),
        "mode": _take_strings([x.mode for x in city.lines], line),
        "stop_id": _take_strings(city.stop_ids.tolist(), stop),
        "stop_name": _take_strings(city.stop_names.tolist(), stop),
        "trip_id": trip_ids,
        "scheduled_at": pa.array(scheduled, _TIMESTAMP),
        "observed_at": pa.array(observed, _TIMESTAMP, mask=cancelled),
        "delay_s": pa.array(delay.astype(np.int32), pa.int32(), mask=cancelled),
        "cancelled": pa.array(cancelled),
        "stop_lat": pa.array(city.stop_lat[stop]),
        "stop_lon": pa.array(city.stop_lon[stop]),
        # The feed "states" a departure when it happens (or was due, when cancelled).
        "as_of": pa.array(np.where(cancelled, scheduled, observed), _TIMESTAMP),
        "ingested_at": _repeat(ingested_at, n, _TIMESTAMP),
        "run_id": _repeat(run_id, n, pa.string()),
    }
    return pa.table(columns, schema=arrow_schema(DEPARTURES))


def weather_table(
    seed: int, first: date, days: int, *, run_id: str, ingested_at: datetime
) -> pa.Table:
    """Hourly weather of UTC days [first, first+days) at every sample station."""
    weather = sample_weather(seed, first, days)
    hours = weather["hour_us"].size
    count = len(SAMPLE_LOCATIONS) * hours
    index = np.repeat(np.arange(len(SAMPLE_LOCATIONS)), hours)
    hour = np.tile(weather["hour_us"], len(SAMPLE_LOCATIONS))
    columns = {
        "location_id": _take_strings([x[0] for x in SAMPLE_LOCATIONS], index),
        "latitude": pa.array(np.asarray([x[1] for x in SAMPLE_LOCATIONS])[index]),
        "longitude": pa.array(np.asarray([x[2] for x in SAMPLE_LOCATIONS])[index]),
        "hour": pa.array(hour, _TIMESTAMP),
        **{name: pa.array(weather[name].reshape(-1)) for name in WEATHER_MEASURES},
        "source": _repeat(SOURCE, count, pa.string()),
        # Observed at the end of the hour it describes.
        "as_of": pa.array(hour + _HOUR_US, _TIMESTAMP),
        "ingested_at": _repeat(ingested_at, count, _TIMESTAMP),
        "run_id": _repeat(run_id, count, pa.string()),
    }
    return pa.table(columns, schema=arrow_schema(WEATHER_HOURLY))


def sample_tables(
    start: date,
    days: int,
    seed: int = 7,
    *,
    run_id: str = "sample",
    chunk_days: int = 7,
    ingested_at: datetime | None = None,
) -> Iterator[tuple[str, pa.Table]]:
    """(table name, silver-schema table) chunks: each chunk's weather, then its departures.

    Weather covers the UTC days from the day before `start` to the day after the last, so
    every departure (service days run past midnight and start before it in UTC) has its hour.
    """
    if days < 1:
        raise InputError(f"sample: days must be at least 1, got {days}")
    if seed < 0:
        raise InputError(f"sample: seed must be 0 or more, got {seed}")
    ingested_at = ingested_at or datetime.now(UTC)
    for offset in range(0, days, chunk_days):
        count = min(chunk_days, days - offset)
        first = start + timedelta(days=offset)
        weather_first = first - timedelta(days=1) if offset == 0 else first
        weather_days = count + (1 if offset == 0 else 0) + (1 if offset + count == days else 0)
        yield (
            "weather_hourly",
            weather_table(
                seed, weather_first, weather_days, run_id=run_id, ingested_at=ingested_at
            ),
        )
        service_days = [first + timedelta(days=k) for k in range(count)]
        yield (
            "departures",
            departures_table(seed, service_days, run_id=run_id, ingested_at=ingested_at),
        )


def _key_json(table: pa.Table, names: tuple[str, str, str]) -> pa.Array:
    """A compact JSON `_raw` of each row's key (ids of the sample never need escaping)."""
    parts: list[object] = []
    for index, name in enumerate(names):
        column = table[name]
        text = (
            pc.strftime(column, "%Y-%m-%dT%H:%M:%SZ")
            if pa.types.is_timestamp(column.type)
            else column
        )
        parts += [("{" if index == 0 else ",") + f'"{name}":"', text, '"']
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def restage_sample(table: pa.Table, name: str, *, input_key: str) -> StagedBatch:
    """A silver-schema sample table as a staged batch (also how `replay_bronze` reads it)."""
    keys = (
        ("trip_id", "stop_id", "scheduled_at")
        if name == "departures"
        else ("location_id", "hour", "source")
    )
    contract = DEPARTURES if name == "departures" else WEATHER_HOURLY
    n = table.num_rows
    staged = table.cast(pa.schema([f.with_nullable(True) for f in table.schema]))
    staged = staged.append_column("_raw", _key_json(table, keys))
    staged = staged.append_column("_reason", pa.nulls(n, pa.string()))
    staged = staged.append_column("_reason_code", pa.nulls(n, pa.string()))
    staged = staged.append_column("_input", _repeat(input_key, n, pa.string()))
    staged = staged.append_column("_seq", pa.array(np.arange(n, dtype=np.int64)))
    return StagedBatch(name, SOURCE, staged.cast(staging_schema(contract)), (input_key,))


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def generate_sample(
    *,
    lake: Lake,
    run_id: str,
    start: date,
    days: int | None = None,
    seed: int = 7,
    target_departures: int | None = None,
    chunk_days: int = 7,
) -> Iterator[StagedBatch]:
    """The sample city's weather and departures, each chunk landed in bronze as Parquet first.

    `days` (default 30) or `target_departures` (rounded up to whole days) sizes the run.
    """
    if days is None:
        days = 30 if target_departures is None else -(-target_departures // DEPARTURES_PER_DAY)
    ingested_at = datetime.now(UTC)
    for name, table in sample_tables(
        start, days, seed, run_id=run_id, chunk_days=chunk_days, ingested_at=ingested_at
    ):
        column = "hour" if name == "weather_hourly" else "scheduled_at"
        first = pc.min(table[column]).as_py().date()
        key = land(
            lake,
            source=SOURCE,
            dataset=name,
            run_id=run_id,
            part=f"{name}-{first:%Y%m%d}",
            ext="parquet",
            payload=_parquet_bytes(table),
            meta={"seed": seed, "start": start, "days": days, "rows": table.num_rows},
            day=first,
        )
        yield restage_sample(table, name, input_key=key)


def write_sample_files(
    directory: str | Path,
    *,
    start: date,
    days: int,
    seed: int = 7,
    fmt: str = "parquet",
) -> tuple[Path, Path]:
    """Write the sample as `departures.<fmt>` and `weather.<fmt>` for `umwi ingest file`.

    Streams chunk by chunk; lineage columns (`source`, `ingested_at`, `run_id`) are left
    out so the import fills them, `as_of` is kept.
    """
    if fmt not in ("csv", "parquet"):
        raise InputError(f"format must be csv or parquet, got {fmt!r}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "departures": folder / f"departures.{fmt}",
        "weather_hourly": folder / f"weather.{fmt}",
    }
    writers: dict[str, pq.ParquetWriter | pa_csv.CSVWriter] = {}
    try:
        for name, table in sample_tables(start, days, seed):
            table = table.drop_columns(["source", "ingested_at", "run_id"])
            if name not in writers:
                writers[name] = (
                    pq.ParquetWriter(paths[name], table.schema, compression="zstd")
                    if fmt == "parquet"
                    else pa_csv.CSVWriter(paths[name], table.schema)
                )
            writers[name].write_table(table)
    finally:
        for writer in writers.values():
            writer.close()
    return paths["departures"], paths["weather_hourly"]
