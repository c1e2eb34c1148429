# ruff: noqa: E501  -- the hand-written SQL script reads best unwrapped
"""Benchmark: `umwi ingest file` + `umwi build` against a fair hand-written floor and pandas.

Prints wall time, peak RSS and ratios; it is not a test. Each engine runs in its own
process on the same generated Parquet files, so peak RSS is that engine's alone; umwi
runs as two processes, like its two commands (ingest, then build + gate).

The floor (`sql`) is a careful hand-written DuckDB script computing the same four gold
tables from the same files: dedup, nearest location, hourly tables with p50/p90, weather
impact per period and class, and the correlation one variable at a time with average
ranks from rank() and tie counts. With both engines run, its tables are compared with
umwi's published gold (rows on one side only; values further apart than 1e-9 relative).

    uv run python bench/transform_benchmark.py --sizes 1000000
    uv run python bench/transform_benchmark.py --sizes 1000000 10000000 --engines umwi sql

The umwi figure includes the quality gate (GE + Soda + batch checks, Data Docs, publication),
as `umwi build` runs it; see packages/umwi-transform/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _rss import peak_rss_mib  # bench/, on the path when a script here runs

START = datetime(2026, 1, 5, tzinfo=UTC)


def history_days(n: int) -> int:
    """The days `generate` spreads `n` departures over (about 33 000 a day)."""
    return int(np.ceil(n / 33_000))


LOCATIONS = {
    "paris-centre": (48.857, 2.352),
    "paris-nord": (48.900, 2.350),
    "paris-sud": (48.820, 2.340),
    "paris-est": (48.860, 2.420),
    "paris-ouest": (48.860, 2.270),
    "orly": (48.730, 2.370),
}
VARIABLES = [
    "precipitation_mm",
    "rain_mm",
    "snowfall_cm",
    "temperature_c",
    "wind_speed_kmh",
    "visibility_m",
]
R_KM = 6371.0088
THRESHOLD_S, EARLY_S, MAX_KM = 300, 60, 25.0
RAIN_EFFECT_S_PER_MM = 25.0


# --- input generation -------------------------------------------------------------------
def generate(n: int, folder: Path, seed: int = 1, start: datetime = START) -> dict[str, Any]:
    """Departures (5 % restated later with a newer as_of) and hourly weather as Parquet,
    from `start` (a Monday at midnight UTC)."""
    rng = np.random.default_rng(seed)
    days = max(14, history_days(n))
    hours = days * 24
    ids = sorted(LOCATIONS)
    lat = np.array([LOCATIONS[i][0] for i in ids])
    lon = np.array([LOCATIONS[i][1] for i in ids])
    wet = rng.random((len(ids), hours + 3)) < 0.3
    precipitation = np.where(wet, np.round(rng.gamma(1.2, 2.0, wet.shape), 1), 0.0)
    snow = np.where(rng.random(wet.shape) < 0.02, np.round(rng.random(wet.shape), 1), 0.0)
    hour_us = (np.arange(-3, hours) * 3_600_000_000 + int(start.timestamp() * 1e6)).astype("int64")
    weather = pa.table(
        {
            "location_id": np.repeat(ids, hours + 3),
            "latitude": np.repeat(lat, hours + 3),
            "longitude": np.repeat(lon, hours + 3),
            "hour": pa.array(np.tile(hour_us, len(ids)), pa.timestamp("us", tz="UTC")),
            "temperature_c": np.round(rng.normal(6, 5, wet.size), 1),
            "precipitation_mm": precipitation.ravel(),
            "rain_mm": precipitation.ravel(),
            "snowfall_cm": snow.ravel(),
            "wind_speed_kmh": np.round(rng.gamma(2, 7, wet.size), 1),
            "weather_code": pa.array(np.where(wet.ravel(), 61, 0), pa.int16()),
            "visibility_m": np.round(rng.uniform(2_000, 40_000, wet.size)),
            "as_of": pa.array(
                np.tile(hour_us, len(ids)) + 7_200_000_000, pa.timestamp("us", tz="UTC")
            ),
        }
    )
    pq.write_table(weather, folder / "weather.parquet")

    stops = 400
    stop_lat = rng.uniform(48.75, 48.95, stops)
    stop_lon = rng.uniform(2.22, 2.48, stops)
    d = (
        np.sin(np.radians(stop_lat[:, None] - lat) / 2) ** 2
        + np.cos(np.radians(stop_lat[:, None]))
        * np.cos(np.radians(lat))
        * np.sin(np.radians(stop_lon[:, None] - lon) / 2) ** 2
    )
    nearest = np.argmin(d, axis=1)
    lines = 40
    line_stops = rng.integers(0, stops, (lines, 12))
    base = int(n / 1.05)
    line = rng.integers(0, lines, base)
    stop = line_stops[line, rng.integers(0, 12, base)]
    offset_s = rng.integers(0, hours * 3600, base)
    hour_index = offset_s // 3600 + 3
    rain = precipitation[nearest[stop], hour_index]
    delay = np.round(rng.normal(60, 90, base) + RAIN_EFFECT_S_PER_MM * rain).astype("int32")
    cancelled = rng.random(base) < 0.02
    scheduled = offset_s.astype("int64") * 1_000_000 + int(start.timestamp() * 1e6)
    restated = rng.choice(base, n - base, replace=False)
    index = np.concatenate([np.arange(base), restated])
    as_of = (
        scheduled[index] + np.where(np.arange(n) < base, 3_600, 7_200).astype("int64") * 1_000_000
    )
    delay_all = delay[index] + np.where(np.arange(n) < base, 0, 30).astype("int32")
    departures = pa.table(
        {
            "network": pa.array(["bench"] * n),
            "line_id": pa.array(np.char.add("L", line[index].astype(str))),
            "stop_id": pa.array(np.char.add("S", stop[index].astype(str))),
            "trip_id": pa.array(index.astype("int64")).cast(pa.string()),
            "scheduled_at": pa.array(scheduled[index], pa.timestamp("us", tz="UTC")),
            "delay_s": pa.array(
                np.where(cancelled[index], 0, delay_all), pa.int32(), mask=cancelled[index]
            ),
            "cancelled": pa.array(cancelled[index]),
            "stop_lat": np.round(stop_lat[stop[index]], 6),
            "stop_lon": np.round(stop_lon[stop[index]], 6),
            "as_of": pa.array(as_of, pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(departures, folder / "departures.parquet", row_group_size=250_000)
    return {"departures": n, "days": days, "weather_rows": weather.num_rows}


# --- engines ----------------------------------------------------------------------------
def run_umwi_ingest(folder: Path) -> dict[str, Any]:
    """`umwi ingest file` of the weather, then of the departures (a fresh lake)."""
    import shutil

    from umwi_connectors import read_departures_file, read_weather_file
    from umwi_core import load_settings, make_lake, new_run_id
    from umwi_transform import ingest_batches

    shutil.rmtree(folder / "umwi-state", ignore_errors=True)
    settings = load_settings(state_dir=folder / "umwi-state")
    lake = make_lake(settings)
    started = time.perf_counter()
    run_id = new_run_id()
    ingest_batches(
        read_weather_file(folder / "weather.parquet", lake=lake, run_id=run_id),
        lake,
        settings,
        run_id,
        source="file",
        parameters={},
    )
    run_id = new_run_id()
    manifest = ingest_batches(
        read_departures_file(folder / "departures.parquet", lake=lake, run_id=run_id),
        lake,
        settings,
        run_id,
        source="file",
        parameters={},
    )
    return {
        "ingest_s": time.perf_counter() - started,
        "counts": manifest.counts["departures"].model_dump(),
    }


def run_umwi_build(folder: Path) -> dict[str, Any]:
    """`umwi build`: gold candidates, the quality gate that publishes them, then a no-op
    build (nothing new: no table version may change)."""
    from umwi_core import load_settings, make_lake, new_run_id
    from umwi_core.alerts import FileAlertSink
    from umwi_quality import run_gate
    from umwi_transform import build_gold

    settings = load_settings(state_dir=folder / "umwi-state")
    lake = make_lake(settings)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    candidates = build_gold(lake, settings, new_run_id())
    timings["build_s"] = time.perf_counter() - started
    started = time.perf_counter()
    alerts = FileAlertSink(folder / "umwi-state" / "alerts.jsonl")
    gate = run_gate(lake, settings, new_run_id(), candidates, alerts)
    timings["gate_s"] = time.perf_counter() - started
    if not gate.passed:
        raise SystemExit(f"the gate failed on generated data: {gate.blocking[:3]}")
    started = time.perf_counter()
    unchanged = build_gold(lake, settings, new_run_id())
    timings["noop_build_s"] = time.perf_counter() - started
    assert not any(c.changed for c in unchanged.values())
    return {**timings, "rows": {t: c.rows for t, c in candidates.items()}}


SQL_SCRIPT = """
SET TimeZone = 'UTC';
CREATE TABLE dep AS
  SELECT * EXCLUDE (file_row_number) FROM read_parquet('{folder}/departures.parquet', file_row_number = true)
  QUALIFY row_number() OVER (PARTITION BY network, trip_id, stop_id, scheduled_at
                             ORDER BY as_of DESC, file_row_number DESC) = 1;
CREATE TABLE w AS
  SELECT * EXCLUDE (file_row_number) FROM read_parquet('{folder}/weather.parquet', file_row_number = true)
  QUALIFY row_number() OVER (PARTITION BY location_id, hour ORDER BY as_of DESC, file_row_number DESC) = 1;
CREATE TABLE near AS
  WITH loc AS (SELECT location_id, arg_max(latitude, hour) AS lat, arg_max(longitude, hour) AS lon
               FROM w GROUP BY location_id),
       stops AS (SELECT DISTINCT network, stop_id, stop_lat, stop_lon FROM dep
                 WHERE stop_lat IS NOT NULL AND stop_lon IS NOT NULL),
       pairs AS (SELECT s.*, l.location_id,
                   round(2 * {r} * asin(sqrt(sin(radians(l.lat - s.stop_lat) / 2) ^ 2
                     + cos(radians(s.stop_lat)) * cos(radians(l.lat))
                       * sin(radians(l.lon - s.stop_lon) / 2) ^ 2)) * 1000) AS m
                 FROM stops s CROSS JOIN loc l)
  SELECT * FROM pairs WHERE m <= {max_m}
  QUALIFY row_number() OVER (PARTITION BY network, stop_id, stop_lat, stop_lon ORDER BY m, location_id) = 1;
CREATE TABLE e AS
  SELECT d.network, d.line_id, date_trunc('hour', d.scheduled_at) AS hour, d.cancelled, d.delay_s,
         CASE WHEN k.location_id IS NOT NULL THEN n.location_id END AS location_id,
         coalesce(NOT d.cancelled AND d.delay_s BETWEEN -{early} AND {threshold}, false) AS on_time
  FROM dep d
  LEFT JOIN near n ON n.network = d.network AND n.stop_id = d.stop_id
                  AND n.stop_lat = d.stop_lat AND n.stop_lon = d.stop_lon
  LEFT JOIN (SELECT location_id, hour FROM w WHERE precipitation_mm IS NOT NULL) k
         ON k.location_id = n.location_id AND k.hour = date_trunc('hour', d.scheduled_at);
CREATE TABLE ph AS
  SELECT network, line_id, location_id, hour, count(*) AS departures, sum(cancelled::INT) AS cancelled,
         sum(on_time::INT) AS on_time, avg(delay_s) AS mean_delay_s,
         quantile_cont(delay_s, 0.5) AS p50_delay_s, quantile_cont(delay_s, 0.9) AS p90_delay_s
  FROM e GROUP BY network, line_id, location_id, hour
  UNION ALL
  SELECT network, '*', location_id, hour, count(*), sum(cancelled::INT), sum(on_time::INT), avg(delay_s),
         quantile_cont(delay_s, 0.5), quantile_cont(delay_s, 0.9)
  FROM e GROUP BY network, location_id, hour;
CREATE TABLE mw AS
  SELECT ph.*, w.latitude, w.longitude, w.temperature_c, w.precipitation_mm, w.rain_mm, w.snowfall_cm,
         w.wind_speed_kmh, w.weather_code, w.visibility_m,
         CASE WHEN coalesce(w.snowfall_cm, 0) > 0 THEN 'snow' WHEN w.precipitation_mm = 0 THEN 'dry'
              WHEN w.precipitation_mm <= 2.5 THEN 'light_rain' WHEN w.precipitation_mm <= 7.6 THEN 'moderate_rain'
              ELSE 'heavy_rain' END AS weather_class
  FROM ph JOIN w USING (location_id, hour);
CREATE TABLE impact AS
  WITH r AS (
    SELECT network, line_id, hour, weather_class, 1 AS cells, departures, cancelled, on_time,
           departures - cancelled AS nonc, coalesce(mean_delay_s * (departures - cancelled), 0) AS dsum FROM mw
    UNION ALL
    SELECT network, line_id, hour, 'wet', 1, departures, cancelled, on_time, departures - cancelled,
           coalesce(mean_delay_s * (departures - cancelled), 0)
    FROM mw WHERE precipitation_mm > 0 OR coalesce(snowfall_cm, 0) > 0
    UNION ALL
    SELECT network, line_id, hour, 'unknown', NULL, departures, cancelled, on_time, departures - cancelled,
           coalesce(mean_delay_s * (departures - cancelled), 0)
    FROM ph WHERE location_id IS NULL),
  p AS (SELECT 'all' AS period, * FROM r UNION ALL SELECT strftime(hour, '%Y-%m'), * FROM r),
  s AS (SELECT network, line_id, period, weather_class, sum(cells) AS cells, sum(departures) AS departures,
               sum(cancelled) AS cancelled, sum(on_time) AS on_time, sum(nonc) AS nonc, sum(dsum) AS dsum
        FROM p GROUP BY ALL),
  m AS (SELECT *, cancelled / departures AS cancellation_rate,
               CASE WHEN nonc > 0 THEN on_time / nonc END AS on_time_rate,
               on_time / departures AS reliability_rate,
               CASE WHEN nonc > 0 THEN dsum / nonc END AS mean_delay_s FROM s)
  SELECT m.network, m.line_id, m.period, m.weather_class, m.cells, m.departures, m.cancellation_rate,
         m.on_time_rate, m.reliability_rate, m.mean_delay_s, m.mean_delay_s - d.mean_delay_s AS uplift_s,
         CASE WHEN d.mean_delay_s >= 30 THEN 100 * (m.mean_delay_s - d.mean_delay_s) / d.mean_delay_s END AS uplift_pct
  FROM m LEFT JOIN m d ON d.network = m.network AND d.line_id = m.line_id AND d.period = m.period
                       AND d.weather_class = 'dry';
CREATE TABLE cells AS
  SELECT network, line_id, location_id, hour, mean_delay_s AS y,
         mean_delay_s - avg(mean_delay_s) OVER (PARTITION BY network, line_id, location_id,
                                                isodow(hour), hour(hour)) AS ya
  FROM mw WHERE mean_delay_s IS NOT NULL;
CREATE TABLE sums (network VARCHAR, line_id VARCHAR, period VARCHAR, variable VARCHAR, lag_h INTEGER,
                   y_kind VARCHAR, n BIGINT, mean_x DOUBLE, var_x DOUBLE, var_rx DOUBLE, mean_y DOUBLE,
                   var_y DOUBLE, cov_xy DOUBLE, var_ry DOUBLE, cov_rxry DOUBLE);
"""


#: One variable at a time, so each sort holds a sixth of the pairs. Average ranks come
#: from tie counts: per distinct value, the running count up to it minus half its other
#: members (rank() of the tie's first member plus (ties - 1) / 2), sorting distinct values
#: rather than pairs, joined back by hash. The anomaly is ranked to the microsecond and
#: its moments are exact, as DESIGN.md §5 says. The lagged hour is a column before the
#: weather join: an expression over the cross join in the join condition makes DuckDB
#: plan it as a far slower join.
CORRELATION_SQL = """
CREATE OR REPLACE TEMP TABLE p AS
  WITH cl AS (SELECT c.network, c.line_id, c.location_id, c.hour, c.y, c.ya, l.lag_h,
                     c.hour - to_hours(l.lag_h) AS x_hour
              FROM cells c CROSS JOIN (SELECT unnest([0, 1, 2, 3]) AS lag_h) l),
  j AS (SELECT cl.network, cl.line_id, cl.lag_h, cl.hour, cl.y, cl.ya, round(cl.ya, 6) AS yk,
               w.{variable} AS x
        FROM cl JOIN w ON w.location_id = cl.location_id AND w.hour = cl.x_hour
        WHERE w.{variable} IS NOT NULL)
  SELECT network, line_id, lag_h, y, ya, yk, x, 'all' AS period FROM j
  UNION ALL
  SELECT network, line_id, lag_h, y, ya, yk, x, strftime(hour, '%Y-%m') FROM j;
CREATE OR REPLACE TEMP TABLE rank_x AS
  SELECT network, line_id, period, lag_h, x,
         sum(n) OVER (PARTITION BY network, line_id, period, lag_h ORDER BY x) - (n - 1) / 2 AS rx
  FROM (SELECT network, line_id, period, lag_h, x, count(*) AS n FROM p GROUP BY ALL);
CREATE OR REPLACE TEMP TABLE rank_y AS
  SELECT network, line_id, period, lag_h, y,
         sum(n) OVER (PARTITION BY network, line_id, period, lag_h ORDER BY y) - (n - 1) / 2 AS ry
  FROM (SELECT network, line_id, period, lag_h, y, count(*) AS n FROM p GROUP BY ALL);
CREATE OR REPLACE TEMP TABLE rank_a AS
  SELECT network, line_id, period, lag_h, yk,
         sum(n) OVER (PARTITION BY network, line_id, period, lag_h ORDER BY yk) - (n - 1) / 2 AS ra
  FROM (SELECT network, line_id, period, lag_h, yk, count(*) AS n FROM p GROUP BY ALL);
INSERT INTO sums
  SELECT network, line_id, period, '{variable}', lag_h, kind.y_kind, count(*), avg(x), var_pop(x), var_pop(rx),
         avg(CASE kind.y_kind WHEN 'raw' THEN y ELSE ya END),
         var_pop(CASE kind.y_kind WHEN 'raw' THEN y ELSE ya END),
         covar_pop(x, CASE kind.y_kind WHEN 'raw' THEN y ELSE ya END),
         var_pop(CASE kind.y_kind WHEN 'raw' THEN ry ELSE ra END),
         covar_pop(rx, CASE kind.y_kind WHEN 'raw' THEN ry ELSE ra END)
  FROM p JOIN rank_x USING (network, line_id, period, lag_h, x)
         JOIN rank_y USING (network, line_id, period, lag_h, y)
         JOIN rank_a USING (network, line_id, period, lag_h, yk)
         CROSS JOIN (SELECT unnest(['raw', 'anomaly']) AS y_kind) kind
  GROUP BY ALL;
"""


def _finish(sums: Any) -> Any:
    """Pearson, CI, p, Spearman, slope, intercept from the sums (pandas frame in and out)."""
    from scipy import stats

    s = sums
    ok = (s["n"] >= 4) & (s["var_x"] > 0) & (s["var_y"] > 0) & (s["var_rx"] > 0) & (s["var_ry"] > 0)
    r = (s["cov_xy"] / np.sqrt(s["var_x"] * s["var_y"])).clip(-1, 1).where(ok)
    with np.errstate(all="ignore"):
        z, half = np.arctanh(r), 1.959963984540054 / np.sqrt(s["n"] - 3)
        t = r * np.sqrt((s["n"] - 2) / (1 - r * r))
        s["pearson_r"] = r
        s["ci_low"], s["ci_high"] = np.tanh(z - half), np.tanh(z + half)
        s["p_value"] = np.where(r.abs() >= 1, 0.0, 2 * stats.t.sf(np.abs(t), s["n"] - 2))
        s["spearman_rho"] = (s["cov_rxry"] / np.sqrt(s["var_rx"] * s["var_ry"])).where(ok)
        s["slope"] = (s["cov_xy"] / s["var_x"]).where(ok)
        s["intercept"] = (s["mean_y"] - s["slope"] * s["mean_x"]).where(ok)
    return s


def run_sql(folder: Path) -> dict[str, Any]:
    import duckdb

    database = folder / "sql.duckdb"
    for stale in (database, database.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)  # a rerun on the same folder starts from nothing
    started = time.perf_counter()
    connection = duckdb.connect(str(database))
    connection.execute("SET memory_limit = '1GB'")
    connection.execute(
        SQL_SCRIPT.format(
            folder=folder, r=R_KM, max_m=MAX_KM * 1000, early=EARLY_S, threshold=THRESHOLD_S
        )
    )
    for variable in VARIABLES:
        connection.execute(CORRELATION_SQL.format(variable=variable))
    correlation = _finish(connection.execute("SELECT * FROM sums").df())
    connection.register("finished", correlation)
    connection.execute("CREATE TABLE correlation AS SELECT * FROM finished")
    rows = {
        t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("ph", "mw", "impact")
    }  # type: ignore[index]
    connection.close()
    return {
        "build_s": time.perf_counter() - started,
        "rows": {**rows, "correlation": len(correlation)},
    }


def run_pandas(folder: Path) -> dict[str, Any]:
    import pandas as pd

    started = time.perf_counter()
    dep = pd.read_parquet(folder / "departures.parquet")
    dep["_seq"] = np.arange(len(dep))
    dep = dep.sort_values(["as_of", "_seq"]).drop_duplicates(
        ["network", "trip_id", "stop_id", "scheduled_at"], keep="last"
    )
    w = pd.read_parquet(folder / "weather.parquet")
    w["_seq"] = np.arange(len(w))
    w = w.sort_values(["as_of", "_seq"]).drop_duplicates(["location_id", "hour"], keep="last")
    loc = (
        w.sort_values("hour").groupby("location_id")[["latitude", "longitude"]].last().sort_index()
    )
    stops = dep[["network", "stop_id", "stop_lat", "stop_lon"]].dropna().drop_duplicates()
    la, lo = (
        np.radians(stops["stop_lat"].to_numpy())[:, None],
        np.radians(stops["stop_lon"].to_numpy())[:, None],
    )
    la2, lo2 = np.radians(loc["latitude"].to_numpy()), np.radians(loc["longitude"].to_numpy())
    a = np.sin((la2 - la) / 2) ** 2 + np.cos(la) * np.cos(la2) * np.sin((lo2 - lo) / 2) ** 2
    metres = np.floor(2 * R_KM * np.arcsin(np.sqrt(a)) * 1000 + 0.5)
    best = np.argmin(metres, axis=1)  # locations are sorted, so ties go to the smallest id
    stops["near"] = np.where(
        metres[np.arange(len(stops)), best] <= MAX_KM * 1000, loc.index.to_numpy()[best], None
    )
    dep["hour"] = dep["scheduled_at"].dt.floor("h")
    e = dep.merge(stops, on=["network", "stop_id", "stop_lat", "stop_lon"], how="left")
    known = w.loc[w["precipitation_mm"].notna(), ["location_id", "hour"]].assign(k=True)
    e = e.merge(known, left_on=["near", "hour"], right_on=["location_id", "hour"], how="left")
    e["location_id"] = e["near"].where(e["k"].fillna(False).astype(bool))
    e["on_time"] = ~e["cancelled"] & e["delay_s"].between(-EARLY_S, THRESHOLD_S)
    e["location_id"] = e["location_id"].fillna("~")

    def hourly(frame: Any, keys: list[str]) -> Any:
        g = frame.groupby(keys, sort=False)
        out = g.agg(
            departures=("cancelled", "size"),
            cancelled=("cancelled", "sum"),
            on_time=("on_time", "sum"),
            mean_delay_s=("delay_s", "mean"),
        )
        q = g["delay_s"].quantile([0.5, 0.9]).unstack()
        out["p50_delay_s"], out["p90_delay_s"] = q[0.5], q[0.9]
        return out.reset_index()

    ph = pd.concat(
        [
            hourly(e, ["network", "line_id", "location_id", "hour"]),
            hourly(e, ["network", "location_id", "hour"]).assign(line_id="*"),
        ]
    )
    mw = ph.merge(w.drop(columns=["as_of", "_seq"]), on=["location_id", "hour"])
    p, s = mw["precipitation_mm"], mw["snowfall_cm"].fillna(0)
    mw["weather_class"] = np.select(
        [s > 0, p == 0, p <= 2.5, p <= 7.6],
        ["snow", "dry", "light_rain", "moderate_rain"],
        "heavy_rain",
    )
    unknown = ph[ph["location_id"] == "~"].assign(weather_class="unknown")
    wet = mw[(p > 0) | (s > 0)].assign(weather_class="wet")
    rows = pd.concat([mw.assign(cells=1), wet.assign(cells=1), unknown.assign(cells=np.nan)])
    rows["nonc"] = rows["departures"] - rows["cancelled"]
    rows["dsum"] = (rows["mean_delay_s"] * rows["nonc"]).fillna(0)
    rows["period"] = rows["hour"].dt.strftime("%Y-%m")
    both = pd.concat([rows, rows.assign(period="all")])
    impact = (
        both.groupby(["network", "line_id", "period", "weather_class"])
        .agg(
            cells=("cells", "sum"),
            departures=("departures", "sum"),
            cancelled=("cancelled", "sum"),
            on_time=("on_time", "sum"),
            nonc=("nonc", "sum"),
            dsum=("dsum", "sum"),
        )
        .reset_index()
    )
    impact["mean_delay_s"] = impact["dsum"] / impact["nonc"]
    dry = impact[impact["weather_class"] == "dry"].set_index(["network", "line_id", "period"])[
        "mean_delay_s"
    ]
    impact = impact.join(dry.rename("dry"), on=["network", "line_id", "period"])
    impact["uplift_s"] = impact["mean_delay_s"] - impact["dry"]
    impact["uplift_pct"] = (100 * impact["uplift_s"] / impact["dry"]).where(impact["dry"] >= 30)

    cells = mw.loc[
        mw["mean_delay_s"].notna(), ["network", "line_id", "location_id", "hour", "mean_delay_s"]
    ]
    cells = cells.rename(columns={"mean_delay_s": "y"})
    base = cells.groupby(
        [
            cells["network"],
            cells["line_id"],
            cells["location_id"],
            cells["hour"].dt.day_of_week,
            cells["hour"].dt.hour,
        ]
    )["y"].transform("mean")
    cells["anomaly"] = cells["y"] - base
    cells["month"] = cells["hour"].dt.strftime("%Y-%m")
    wx = w[["location_id", "hour", *VARIABLES]]
    parts = []
    for lag in range(4):
        joined = cells.assign(wh=cells["hour"] - pd.Timedelta(hours=lag)).merge(
            wx, left_on=["location_id", "wh"], right_on=["location_id", "hour"], suffixes=("", "_w")
        )
        for variable in VARIABLES:
            for y_kind, y in (("raw", "y"), ("anomaly", "anomaly")):
                for period_col in ("all", "month"):
                    f = joined[["network", "line_id", "month", variable, y]].dropna(
                        subset=[variable]
                    )
                    f = f.rename(columns={variable: "x", y: "yv"})
                    f["period"] = "all" if period_col == "all" else f["month"]
                    g = f.groupby(["network", "line_id", "period"])
                    f["rx"], f["ry"] = g["x"].rank(), g["yv"].rank()
                    g = f.groupby(["network", "line_id", "period"])
                    out = g.agg(n=("x", "size"), mean_x=("x", "mean"), mean_y=("yv", "mean"))
                    out["var_x"], out["var_y"] = g["x"].var(ddof=0), g["yv"].var(ddof=0)
                    out["var_rx"], out["var_ry"] = g["rx"].var(ddof=0), g["ry"].var(ddof=0)
                    f["pxy"] = (f["x"] - g["x"].transform("mean")) * (
                        f["yv"] - g["yv"].transform("mean")
                    )
                    f["prr"] = (f["rx"] - g["rx"].transform("mean")) * (
                        f["ry"] - g["ry"].transform("mean")
                    )
                    g = f.groupby(["network", "line_id", "period"])
                    out["cov_xy"], out["cov_rxry"] = g["pxy"].mean(), g["prr"].mean()
                    parts.append(
                        out.reset_index().assign(variable=variable, lag_h=lag, y_kind=y_kind)
                    )
    correlation = _finish(pd.concat(parts, ignore_index=True))
    return {
        "build_s": time.perf_counter() - started,
        "rows": {
            "ph": len(ph),
            "mw": len(mw),
            "impact": len(impact),
            "correlation": len(correlation),
        },
    }


#: The floor's table for each umwi gold table, and its key.
COMPARED = {
    "punctuality_hourly": ("ph", ("network", "line_id", "location_id", "hour")),
    "mobility_weather_hourly": ("mw", ("network", "line_id", "location_id", "hour")),
    "weather_impact": ("impact", ("network", "line_id", "period", "weather_class")),
    "correlation": ("correlation", ("network", "line_id", "period", "variable", "lag_h", "y_kind")),
}


def compare_with_umwi(folder: Path, relative: float = 1e-9) -> dict[str, Any]:
    """The floor's tables against umwi's published gold: rows on one side only, and per
    float column the values further apart than `relative` (or 1e-12 near zero) or null
    on one side only."""
    import duckdb
    from umwi_core import load_settings, make_lake
    from umwi_core.contracts import GOLD_CONTRACTS
    from umwi_transform import read_gold

    lake = make_lake(load_settings(state_dir=folder / "umwi-state"))
    connection = duckdb.connect()
    connection.execute(f"ATTACH '{folder / 'sql.duckdb'}' AS handmade (READ_ONLY)")
    report: dict[str, Any] = {}
    for table, (theirs, key) in COMPARED.items():
        connection.register("gold", read_gold(lake, table))
        on = " AND ".join(f"g.{k} IS NOT DISTINCT FROM f.{k}" for k in key)
        joined = f"FROM gold g FULL JOIN handmade.{theirs} f ON {on}"
        only = connection.execute(
            f"SELECT count(*) FILTER (WHERE f.{key[0]} IS NULL), "
            f"count(*) FILTER (WHERE g.{key[0]} IS NULL) {joined}"
        ).fetchone()
        assert only is not None
        differing = {}
        # The floor computes the textbook statistics only (not issue 19's n_eff columns).
        floor_columns = {
            row[0] for row in connection.execute(f"DESCRIBE handmade.{theirs}").fetchall()
        }
        not_in_floor = []
        for column in GOLD_CONTRACTS[table].columns:
            if column.type != "float64" or column.name in key:
                continue
            name = column.name
            if name not in floor_columns:
                not_in_floor.append(name)
                continue
            found = connection.execute(
                f"SELECT count(*) FILTER (WHERE (g.{name} IS NULL) <> (f.{name} IS NULL) "
                f"OR abs(g.{name} - f.{name}) > {relative} * abs(f.{name}) + 1e-12) "
                f"{joined} WHERE g.{key[0]} IS NOT NULL AND f.{key[0]} IS NOT NULL"
            ).fetchone()
            if found is not None and found[0]:
                differing[name] = int(found[0])
        connection.unregister("gold")
        report[table] = {
            "not_in_floor": not_in_floor,
            "umwi_only": int(only[0]),
            "floor_only": int(only[1]),
            "differing": differing,
        }
    connection.close()
    return report


CHILDREN = {
    "umwi-ingest": run_umwi_ingest,
    "umwi-build": run_umwi_build,
    "sql": run_sql,
    "pandas": run_pandas,
}
#: umwi runs as its two commands do, each in its own process; its peak RSS is the larger.
ENGINES = {"umwi": ("umwi-ingest", "umwi-build"), "sql": ("sql",), "pandas": ("pandas",)}


# --- driver -----------------------------------------------------------------------------
def measure_child(child_name: str, folder: Path) -> dict[str, Any]:
    """Run one step in a child process; wall time and the child's own peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", child_name, "--folder", str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    status = child.wait()
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{child_name} failed with status {status}")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def measure(engine: str, folder: Path) -> dict[str, Any]:
    """An engine's steps one after the other: summed wall time, the largest peak RSS."""
    result: dict[str, Any] = {"wall_s": 0.0, "peak_rss_mib": 0.0, "steps": {}}
    for step in ENGINES[engine]:
        got = measure_child(step, folder)
        result["steps"][step] = {"wall_s": got["wall_s"], "peak_rss_mib": got["peak_rss_mib"]}
        result["wall_s"] += got.pop("wall_s")
        result["peak_rss_mib"] = max(result["peak_rss_mib"], got.pop("peak_rss_mib"))
        result.update(got)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = CHILDREN[args.child](args.folder)
        result["peak_rss_mib"] = peak_rss_mib()
        print(json.dumps(result, default=str))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="umwi-bench-"))
    print(f"machine: {os.cpu_count()} cores; workdir {workdir}")
    for n in args.sizes:
        folder = workdir / f"n{n}"
        folder.mkdir(parents=True, exist_ok=True)
        shape = generate(n, folder)
        print(
            f"\n== {n:,} departure records ({shape['days']} days, {shape['weather_rows']:,} weather rows)"
        )
        results = {engine: measure(engine, folder) for engine in args.engines}
        for engine, result in results.items():
            extra = ""
            if engine == "umwi":
                steps = result["steps"]
                extra = (
                    f"  (ingest process {steps['umwi-ingest']['wall_s']:.1f} s / "
                    f"{steps['umwi-ingest']['peak_rss_mib']:.0f} MiB: ingest {result['ingest_s']:.1f} s; "
                    f"build process {steps['umwi-build']['wall_s']:.1f} s / "
                    f"{steps['umwi-build']['peak_rss_mib']:.0f} MiB: build {result['build_s']:.1f} s, "
                    f"gate {result['gate_s']:.1f} s, no-op build {result['noop_build_s']:.2f} s)"
                )
            print(
                f"{engine:>7}: wall {result['wall_s']:7.1f} s   peak RSS {result['peak_rss_mib']:7.0f} MiB{extra}"
            )
        if "umwi" in results:
            for other in (e for e in results if e != "umwi"):
                ratio = results["umwi"]["wall_s"] / results[other]["wall_s"]
                print(f"  umwi / {other}: {ratio:.2f}x wall time")
        print("  rows:", json.dumps({e: r["rows"] for e, r in results.items()}))
        if {"umwi", "sql"} <= set(results):
            print("  umwi gold vs the floor:", json.dumps(compare_with_umwi(folder)))


if __name__ == "__main__":
    main()
