"""The synthetic sample city: shape, timetable, determinism, DST, weather, the injected effect."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from umwi_connectors import (
    SAMPLE_EFFECT,
    WeatherEffect,
    generate_sample,
    read_departures_file,
    read_weather_file,
    sample_tables,
    write_sample_files,
)
from umwi_connectors._sample_city import SAMPLE_LOCATIONS, SAMPLE_NETWORK, sample_city
from umwi_core import InputError, Lake, Settings
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import DEPARTURES, WEATHER_HOURLY

WINTER = date(2026, 1, 5)  # a Monday
ZURICH = ZoneInfo("Europe/Zurich")


def _tables(start: date, days: int, seed: int = 7) -> dict[str, pa.Table]:
    chunks: dict[str, list[pa.Table]] = {"departures": [], "weather_hourly": []}
    for name, table in sample_tables(start, days, seed):
        chunks[name].append(table)
    return {name: pa.concat_tables(parts) for name, parts in chunks.items()}


@pytest.fixture(scope="module")
def month() -> dict[str, pa.Table]:
    return _tables(WINTER, 28)


def test_city_shape() -> None:
    city = sample_city(7)
    assert len(city.lines) >= 6
    assert {line.mode for line in city.lines} >= {"bus", "tram", "metro", "rail"}
    assert len(set(city.stop_ids.tolist())) >= 50
    assert np.all(np.abs(city.stop_lat - 47.37) < 0.2)
    assert np.all(np.abs(city.stop_lon - 8.54) < 0.2)
    assert len(SAMPLE_LOCATIONS) >= 2
    # Both stations serve some stops, each within the 25 km weather distance.
    assert set(city.stop_location.tolist()) == {0, 1}


def test_schema_and_columns(month: dict[str, pa.Table]) -> None:
    departures, weather = month["departures"], month["weather_hourly"]
    assert departures.schema.equals(arrow_schema(DEPARTURES))
    assert weather.schema.equals(arrow_schema(WEATHER_HOURLY))
    assert set(departures["network"].unique().to_pylist()) == {SAMPLE_NETWORK}
    assert departures.num_rows > 300_000
    cancelled = departures["cancelled"].to_numpy(zero_copy_only=False)
    delay_nulls = departures["delay_s"].is_null().to_numpy(zero_copy_only=False)
    assert np.array_equal(cancelled, delay_nulls)
    observed = pc.subtract(departures["observed_at"], departures["scheduled_at"])
    assert pc.all(
        pc.equal(
            pc.cast(observed, pa.int64()),
            pc.multiply(pc.cast(departures["delay_s"], pa.int64()), 1_000_000),
        )
    ).as_py()
    keys = (
        departures.select(["trip_id", "stop_id", "scheduled_at"])
        .group_by(["trip_id", "stop_id", "scheduled_at"])
        .aggregate([])
    )
    assert keys.num_rows == departures.num_rows  # no duplicate keys


def test_timetable_weekday_weekend_and_peaks(month: dict[str, pa.Table]) -> None:
    departures = month["departures"]
    first_stop = departures.filter(
        pc.and_(
            pc.equal(departures["stop_id"], "B1-01"),
            pc.match_substring(departures["trip_id"], "-B1-0-"),
        )
    )
    local = [t.astimezone(ZURICH) for t in first_stop["scheduled_at"].to_pylist()]
    monday = [t for t in local if t.date() == date(2026, 1, 5)]
    sunday = [t for t in local if t.date() == date(2026, 1, 11)]
    assert len(monday) > len(sunday) > 0
    peak = [t for t in monday if 7 <= t.hour < 9]
    midday = [t for t in monday if 10 <= t.hour < 12]
    assert len(peak) == 2 * 60 // 6  # 6-minute headway
    assert len(midday) == 2 * 60 // 10  # 10-minute headway
    assert min(t.hour for t in monday) == 5
    assert min(t.hour for t in sunday) == 6


def test_dst_day_uses_local_clock() -> None:
    # 2026-03-29 is a Sunday and the spring change in Zurich: 06:00 local is 04:00 UTC;
    # on Saturday the 28th it is 05:00 UTC.
    tables = _tables(date(2026, 3, 28), 2)
    departures = tables["departures"]
    first = departures.filter(pc.equal(departures["trip_id"], "20260329-B1-0-000"))
    assert first["scheduled_at"][0].as_py() == datetime(2026, 3, 29, 4, tzinfo=UTC)
    first = departures.filter(pc.equal(departures["trip_id"], "20260328-B1-0-000"))
    assert first["scheduled_at"][0].as_py() == datetime(2026, 3, 28, 5, tzinfo=UTC)


def test_deterministic_and_range_independent() -> None:
    a = _tables(WINTER, 3, seed=11)
    b = _tables(WINTER, 3, seed=11)
    drop = ["ingested_at"]
    assert a["departures"].drop_columns(drop).equals(b["departures"].drop_columns(drop))
    # Day 2 generated alone equals day 2 of the 3-day range.
    alone = _tables(date(2026, 1, 6), 1, seed=11)["departures"].drop_columns(drop)
    within = a["departures"].drop_columns(drop)
    within = within.filter(pc.starts_with(within["trip_id"], "20260106-"))
    assert alone.equals(within)
    other = _tables(WINTER, 1, seed=12)["departures"]
    assert not other["delay_s"].equals(a["departures"].slice(0, other.num_rows)["delay_s"])


def test_weather_has_rain_and_snow_episodes(month: dict[str, pa.Table]) -> None:
    weather = month["weather_hourly"]
    rain = pc.sum(pc.greater(weather["rain_mm"], 0)).as_py()
    snow = pc.sum(pc.greater(weather["snowfall_cm"], 0)).as_py()
    assert rain > 10
    assert snow > 10
    assert pc.min(weather["precipitation_mm"]).as_py() >= 0
    # Weather covers the day before the first service day to the day after the last.
    hours = weather["hour"]
    assert pc.min(hours).as_py() == datetime(2026, 1, 4, tzinfo=UTC)
    assert pc.max(hours).as_py() == datetime(2026, 2, 2, 23, tzinfo=UTC)
    assert weather.num_rows == 2 * 30 * 24


def _haversine(lat1: np.ndarray, lon1: np.ndarray, lat2: float, lon2: float) -> np.ndarray:
    p1, p2 = np.radians(lat1), math.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * math.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    distance: np.ndarray = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    return distance


def _rush(scheduled: pa.ChunkedArray) -> np.ndarray:
    """Weekday 07–09 and 16–19 on the Zurich clock (Arrow reads fields in the type's zone)."""
    local = pc.cast(scheduled, pa.timestamp("us", tz="Europe/Zurich"))
    hour = pc.hour(local).to_numpy()
    weekday = pc.day_of_week(local).to_numpy() < 5
    rush: np.ndarray = weekday & (((hour >= 7) & (hour < 9)) | ((hour >= 16) & (hour < 19)))
    return rush.astype(float)


def test_injected_effect_is_recoverable(month: dict[str, pa.Table]) -> None:
    """Join each departure to its nearest station's hour independently, then regress."""
    departures, weather = month["departures"], month["weather_hourly"]
    lat = departures["stop_lat"].to_numpy()
    lon = departures["stop_lon"].to_numpy()
    distances = np.stack([_haversine(lat, lon, la, lo) for _, la, lo in SAMPLE_LOCATIONS])
    station = np.asarray([SAMPLE_LOCATIONS[i][0] for i in np.argmin(distances, axis=0)])
    hour = pc.floor_temporal(departures["scheduled_at"], unit="hour")
    joined = pa.table(
        {
            "location_id": station,
            "hour": hour,
            "delay": departures["delay_s"],
            "cancelled": departures["cancelled"],
            "scheduled": departures["scheduled_at"],
        }
    )
    joined = joined.join(
        weather.select(["location_id", "hour", "precipitation_mm", "snowfall_cm"]),
        ["location_id", "hour"],
        join_type="inner",
    )
    assert joined.num_rows == departures.num_rows
    ok = joined.filter(pc.invert(joined["cancelled"]))
    rush = _rush(ok["scheduled"])
    design = np.column_stack(
        [
            np.ones(ok.num_rows),
            rush,
            ok["precipitation_mm"].to_numpy(),
            ok["snowfall_cm"].to_numpy(),
        ]
    )
    coef, *_ = np.linalg.lstsq(design, ok["delay"].to_numpy().astype(float), rcond=None)
    effect = SAMPLE_EFFECT
    assert coef[1] == pytest.approx(effect.rush_delay_s, abs=3)
    assert coef[2] == pytest.approx(effect.per_mm_s, rel=0.1)
    assert coef[3] == pytest.approx(effect.per_cm_snow_s, rel=0.15)
    # Cancellations: snow hours cancel more often than dry hours, near the configured rates.
    snow = pc.greater(joined["snowfall_cm"], 0)
    dry = pc.equal(joined["precipitation_mm"], 0)
    rate_snow = pc.mean(pc.cast(joined.filter(snow)["cancelled"], pa.float64())).as_py()
    rate_dry = pc.mean(pc.cast(joined.filter(dry)["cancelled"], pa.float64())).as_py()
    assert rate_dry == pytest.approx(effect.cancel_probability["dry"], abs=0.002)
    assert rate_snow == pytest.approx(effect.cancel_probability["snow"], abs=0.015)


def test_effect_is_a_frozen_dataclass() -> None:
    with pytest.raises(AttributeError):
        SAMPLE_EFFECT.per_mm_s = 1.0  # type: ignore[misc]
    assert WeatherEffect() == SAMPLE_EFFECT


def test_generate_sample_lands_parquet_then_yields(lake: Lake) -> None:
    batches = list(generate_sample(lake=lake, run_id="run-s", start=WINTER, days=2, seed=7))
    assert [b.table for b in batches] == ["weather_hourly", "departures"]
    for batch in batches:
        assert batch.source == "sample"
        (key,) = batch.inputs
        assert key.startswith(f"bronze/sample/{batch.table}/date=")
        assert lake.exists(key)
        records = batch.records
        assert records["_reason"].null_count == records.num_rows
        assert records["_seq"].to_pylist() == list(range(records.num_rows))
        assert set(records["run_id"].unique().to_pylist()) == {"run-s"}
    raw = batches[1].records["_raw"][0].as_py()
    assert raw.startswith('{"trip_id":"20260105-')


def test_target_departures_sizes_the_run(lake: Lake) -> None:
    batches = list(generate_sample(lake=lake, run_id="r", start=WINTER, target_departures=20_000))
    days = {b.records["trip_id"][0].as_py()[:8] for b in batches if b.table == "departures"}
    rows = sum(b.records.num_rows for b in batches if b.table == "departures")
    assert rows >= 20_000
    assert days == {"20260105"}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_sample_files_round_trip(tmp_path: Path, lake: Lake, fmt: str) -> None:
    departures_path, weather_path = write_sample_files(tmp_path, start=WINTER, days=1, fmt=fmt)
    expected = _tables(WINTER, 1)
    staged = pa.concat_tables(
        [b.records for b in read_departures_file(departures_path, lake=lake, run_id="f")]
    )
    assert staged["_reason"].null_count == staged.num_rows
    for column in (
        "network",
        "trip_id",
        "stop_id",
        "scheduled_at",
        "delay_s",
        "cancelled",
        "as_of",
    ):
        assert staged[column].to_pylist() == expected["departures"][column].to_pylist(), column
    weather = pa.concat_tables(
        [b.records for b in read_weather_file(weather_path, lake=lake, run_id="f")]
    )
    assert (
        weather["precipitation_mm"].to_pylist()
        == expected["weather_hourly"]["precipitation_mm"].to_pylist()
    )


def test_bad_sizes_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="days must be at least 1, got 0"):
        list(sample_tables(WINTER, 0))
    with pytest.raises(InputError, match="seed must be 0 or more"):
        list(sample_tables(WINTER, 1, seed=-1))
    with pytest.raises(InputError, match="format must be csv or parquet"):
        write_sample_files(tmp_path, start=WINTER, days=1, fmt="xlsx")


@pytest.mark.slow
def test_sample_commits_to_silver_and_a_rerun_changes_nothing(
    lake: Lake, settings: Settings
) -> None:
    from umwi_transform import commit_batch

    for run_id, fresh in (("run-a", True), ("run-b", False)):
        for batch in generate_sample(lake=lake, run_id=run_id, start=WINTER, days=1):
            counts = commit_batch(batch, lake, settings, run_id)
            assert counts.read == batch.records.num_rows
            assert counts.quarantined == 0
            assert (counts.inserted == counts.read) if fresh else (counts.unchanged == counts.read)
