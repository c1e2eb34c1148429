"""Time the quality gate against the gold build it guards, on a synthetic city.

    uv run python bench/quality_benchmark.py --departures 1000000 [--departures 10000000]

For each size: commit that many departures (and the hourly weather of 4 locations) to a
fresh local lake through the real silver step, time `build_gold` (the transform) and
`run_gate` (GE + Soda + batch checks, Data Docs, publication), and print both. The goal is
a gate no slower than the transform.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
from umwi_core.alerts import FileAlertSink
from umwi_core.arrow import StagedBatch, staging_schema
from umwi_core.contracts import DEPARTURES, WEATHER_HOURLY
from umwi_core.resources import make_lake
from umwi_core.settings import load_settings
from umwi_quality import run_gate
from umwi_transform import build_gold, commit_batch

START = datetime(2026, 1, 1, tzinfo=UTC)
LOCATIONS = [("W0", 48.85, 2.35), ("W1", 48.90, 2.25), ("W2", 48.80, 2.45), ("W3", 48.95, 2.40)]
CHUNK = 1_000_000


def _staged(contract: object, columns: dict[str, pa.Array], source: str, n: int) -> pa.Table:
    schema = staging_schema(contract)  # type: ignore[arg-type]
    now = pa.scalar(datetime.now(UTC), pa.timestamp("us", tz="UTC"))
    filled = {
        "source": pa.array([source] * n),
        "as_of": pa.array([now.as_py()] * n, pa.timestamp("us", tz="UTC")),
        "_raw": pa.array(["{}"] * n),
        "_input": pa.array(["bench"] * n),
        "_seq": pa.array(np.arange(n, dtype=np.int64)),
        **columns,
    }
    return pa.table(
        [filled.get(f.name, pa.nulls(n, f.type)).cast(f.type) for f in schema], schema=schema
    )


def departures(offset: int, n: int, days: int, rng: np.random.Generator) -> pa.Table:
    index = np.arange(offset, offset + n)
    stop = rng.integers(0, 400, n)
    seconds = rng.integers(0, days * 86_400, n)
    scheduled = np.datetime64(START.replace(tzinfo=None), "us") + seconds.astype("timedelta64[s]")
    delay = rng.normal(90, 120, n).astype(np.int32)
    cancelled = rng.random(n) < 0.02
    observed = scheduled + delay.astype("timedelta64[s]")
    location = stop % len(LOCATIONS)
    lat = np.array([LOCATIONS[i][1] for i in range(len(LOCATIONS))])[location]
    lon = np.array([LOCATIONS[i][2] for i in range(len(LOCATIONS))])[location]
    utc = pa.timestamp("us", tz="UTC")
    columns = {
        "network": pa.array(["bench"] * n),
        "line_id": pa.array((stop % 20).astype(str)),
        "stop_id": pa.array(stop.astype(str)),
        "trip_id": pa.array(index.astype(str)),
        "scheduled_at": pa.array(scheduled).cast(utc),
        "observed_at": pa.array(observed, mask=cancelled).cast(utc),
        "delay_s": pa.array(delay, mask=cancelled),
        "cancelled": pa.array(cancelled),
        "stop_lat": pa.array(lat + stop * 1e-5),
        "stop_lon": pa.array(lon),
    }
    return _staged(DEPARTURES, columns, "file", n)


def weather(days: int, rng: np.random.Generator) -> pa.Table:
    hours = days * 24
    n = hours * len(LOCATIONS)
    base = np.datetime64(START.replace(tzinfo=None), "us")
    hour = base + (np.tile(np.arange(hours), len(LOCATIONS)) * 3_600).astype("timedelta64[s]")
    which = np.repeat(np.arange(len(LOCATIONS)), hours)
    rain = np.where(rng.random(n) < 0.3, rng.exponential(2.0, n), 0.0).round(1)
    columns = {
        "location_id": pa.array([LOCATIONS[i][0] for i in which]),
        "latitude": pa.array([LOCATIONS[i][1] for i in which]),
        "longitude": pa.array([LOCATIONS[i][2] for i in which]),
        "hour": pa.array(hour).cast(pa.timestamp("us", tz="UTC")),
        "temperature_c": pa.array(rng.normal(8, 5, n).round(1)),
        "precipitation_mm": pa.array(rain),
        "rain_mm": pa.array(rain),
        "snowfall_cm": pa.array(np.zeros(n)),
        "wind_speed_kmh": pa.array(rng.gamma(2, 6, n).round(1)),
        "weather_code": pa.array(np.where(rain > 0, 61, 0).astype(np.int16)),
        "visibility_m": pa.array(np.full(n, 10_000.0)),
    }
    return _staged(WEATHER_HOURLY, columns, "file", n)


def run(size: int, days: int) -> dict[str, float]:
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="umwi-bench-") as folder:
        settings = load_settings(
            state_dir=Path(folder),
            # Synthetic records are stated now about past days; freshness is not the point.
            quality_freshness_max_h=24 * (days + 400),
        )
        lake = make_lake(settings)
        began = time.perf_counter()
        commit_batch(StagedBatch("weather_hourly", "file", weather(days, rng)), lake, settings, "w")
        for offset in range(0, size, CHUNK):
            n = min(CHUNK, size - offset)
            batch = StagedBatch("departures", "file", departures(offset, n, days, rng))
            commit_batch(batch, lake, settings, f"d{offset}")
        silver_s = time.perf_counter() - began
        began = time.perf_counter()
        candidates = build_gold(lake, settings, "bench-build")
        build_s = time.perf_counter() - began
        began = time.perf_counter()
        result = run_gate(
            lake, settings, "bench-gate", candidates, FileAlertSink(Path(folder) / "a.jsonl")
        )
        gate_s = time.perf_counter() - began
        if not result.passed:
            raise SystemExit(f"gate failed on synthetic data: {result.blocking[:3]}")
    return {
        "departures": size,
        "silver_s": round(silver_s, 1),
        "transform_s": round(build_s, 1),
        "gate_s": round(gate_s, 1),
        "gate_over_transform": round(gate_s / build_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--departures", type=int, action="append", help="repeatable")
    parser.add_argument("--days", type=int, default=60, help="days the departures span")
    args = parser.parse_args()
    for size in args.departures or [1_000_000]:
        print(json.dumps(run(size, args.days)), flush=True)


if __name__ == "__main__":
    main()
