"""Realistic published gold for the API, CLI and dashboard tests.

Writes `gold/_serving/<publication>/<table>.parquet` with exactly the gold columns
(`umwi_core.contracts.GOLD_COLUMNS`) and then `gold/_published.json`, as the publisher
does. The KPI tables are computed from the generated hourly cells following DESIGN.md §5,
so numbers across tables agree (the dashboard test compares them).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats
from umwi_core.contracts import GOLD_COLUMNS
from umwi_core.lake import Lake
from umwi_core.publication import (
    Publication,
    PublishedTable,
    read_publication,
    serving_key,
    write_publication,
)

NETWORK = "sample-city"
LINES = {"L1": "Harbour Express", "L2": "Hill Loop"}
LOCATIONS = {"loc-centre": (-36.85, 174.76), "loc-hills": (-36.9, 174.8)}
START = datetime(2024, 3, 25, tzinfo=UTC)
HOURS = 24 * 14
TEXT_COLUMNS = frozenset(
    {"network", "line_id", "location_id", "period", "weather_class", "variable", "y_kind"}
)
VARIABLES = ("precipitation_mm", "rain_mm", "temperature_c", "wind_speed_kmh", "visibility_m")


def _weather_class(precipitation: float, snowfall: float) -> str:
    if snowfall > 0:
        return "snow"
    if precipitation == 0:
        return "dry"
    if precipitation <= 2.5:
        return "light_rain"
    if precipitation <= 7.6:
        return "moderate_rain"
    return "heavy_rain"


def _weather(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for location, (lat, lon) in LOCATIONS.items():
        wet = False
        for index in range(HOURS):
            hour = START + timedelta(hours=index)
            wet = rng.random() < (0.75 if wet else 0.12)  # rain comes in spells
            precipitation = round(float(rng.gamma(1.2, 2.5)), 1) if wet else 0.0
            rows.append(
                {
                    "location_id": location,
                    "latitude": lat,
                    "longitude": lon,
                    "hour": hour,
                    "temperature_c": round(16 + 5 * np.sin(index / 24 * 2 * np.pi), 1),
                    "precipitation_mm": precipitation,
                    "rain_mm": precipitation,
                    "snowfall_cm": 0.0,
                    "wind_speed_kmh": round(float(rng.gamma(3, 5)), 1),
                    "weather_code": 61 if precipitation > 0 else 1,
                    "visibility_m": 10_000.0 - 600 * precipitation,
                }
            )
    return pd.DataFrame(rows)


def _cells(rng: np.random.Generator, weather: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for line in LINES:
        for record in weather.itertuples(index=False):
            rush = record.hour.hour in (7, 8, 17, 18)
            departures = int(rng.poisson(14 if rush else 6)) + 1
            expected = 70 + 22 * record.precipitation_mm + (60 if rush else 0)
            delays = rng.normal(expected, 90, departures)
            cancelled = rng.random(departures) < 0.01 + 0.004 * record.precipitation_mm
            kept = delays[~cancelled]
            on_time = int(((kept >= -60) & (kept <= 300)).sum())
            rows.append(
                {
                    "network": NETWORK,
                    "line_id": line,
                    "location_id": record.location_id,
                    "hour": record.hour,
                    "departures": departures,
                    "cancelled": int(cancelled.sum()),
                    "on_time": on_time,
                    "_delay_sum": float(kept.sum()),
                    "_kept": len(kept),
                    "mean_delay_s": float(kept.mean()) if len(kept) else None,
                    "p50_delay_s": float(np.percentile(kept, 50)) if len(kept) else None,
                    "p90_delay_s": float(np.percentile(kept, 90)) if len(kept) else None,
                }
            )
    return pd.DataFrame(rows)


def _all_lines(cells: pd.DataFrame) -> pd.DataFrame:
    grouped = cells.groupby(["network", "location_id", "hour"], as_index=False, dropna=False).agg(
        departures=("departures", "sum"),
        cancelled=("cancelled", "sum"),
        on_time=("on_time", "sum"),
        _delay_sum=("_delay_sum", "sum"),
        _kept=("_kept", "sum"),
        p50_delay_s=("p50_delay_s", "median"),
        p90_delay_s=("p90_delay_s", "max"),
    )
    grouped["line_id"] = "*"
    grouped["mean_delay_s"] = grouped["_delay_sum"] / grouped["_kept"].where(grouped["_kept"] > 0)
    return pd.concat([cells, grouped], ignore_index=True)


def _impact(hourly: pd.DataFrame) -> pd.DataFrame:
    rows = []
    hourly = hourly.assign(month=hourly["hour"].dt.strftime("%Y-%m"))
    for (line,), by_line in hourly.groupby(["line_id"]):
        for period in ["all", *sorted(by_line["month"].unique())]:
            scope = by_line if period == "all" else by_line[by_line["month"] == period]
            groups = dict(tuple(scope.groupby("weather_class")))
            groups["wet"] = scope[scope["precipitation_mm"] > 0]
            figures = {}
            for weather_class, part in groups.items():
                departures = int(part["departures"].sum())
                kept = int(part["_kept"].sum())
                figures[weather_class] = {
                    "cells": len(part),
                    "departures": departures,
                    "cancellation_rate": part["cancelled"].sum() / departures,
                    "on_time_rate": part["on_time"].sum() / kept if kept else None,
                    "reliability_rate": part["on_time"].sum() / departures,
                    "mean_delay_s": part["_delay_sum"].sum() / kept if kept else None,
                }
            dry = figures.get("dry", {}).get("mean_delay_s")
            for weather_class, figure in figures.items():
                mean = figure["mean_delay_s"]
                uplift = None if dry is None or mean is None else mean - dry
                pct = None if uplift is None or dry is None or dry < 30 else 100 * uplift / dry
                rows.append(
                    {
                        "network": NETWORK,
                        "line_id": line,
                        "period": period,
                        "weather_class": weather_class,
                        **figure,
                        "uplift_s": uplift,
                        "uplift_pct": pct,
                    }
                )
    return pd.DataFrame(rows)


def _correlation(hourly: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    rows = []
    hourly = hourly[hourly["_kept"] > 0].assign(
        month=hourly["hour"].dt.strftime("%Y-%m"),
        slot=hourly["hour"].dt.weekday * 24 + hourly["hour"].dt.hour,
    )
    baseline = hourly.groupby(["line_id", "location_id", "slot"])["mean_delay_s"].transform("mean")
    hourly = hourly.assign(anomaly=hourly["mean_delay_s"] - baseline)
    indexed = weather.set_index(["location_id", "hour"])
    for lag in range(4):
        shifted = indexed.reindex(
            list(zip(hourly["location_id"], hourly["hour"] - timedelta(hours=lag), strict=True))
        )
        for variable in VARIABLES:
            frame = hourly.assign(x=shifted[variable].to_numpy()).dropna(subset=["x"])
            for (line,), by_line in frame.groupby(["line_id"]):
                for period in ["all", *sorted(by_line["month"].unique())]:
                    scope = by_line if period == "all" else by_line[by_line["month"] == period]
                    for y_kind, column in (("raw", "mean_delay_s"), ("anomaly", "anomaly")):
                        key = {"network": NETWORK, "line_id": line, "period": period,
                               "variable": variable, "lag_h": lag, "y_kind": y_kind}  # fmt: skip
                        x, y = scope["x"].to_numpy(), scope[column].to_numpy()
                        row = correlation_row(key, x, y)
                        if "pearson_r" in row:
                            row |= _adjusted(stats.pearsonr(x, y)[0], scope, x, y)
                        rows.append(row)
    return pd.DataFrame(rows)


def correlation_row(key: dict[str, object], x: np.ndarray, y: np.ndarray) -> dict[str, object]:
    """One `correlation` row: `key`, the pair count and, when both sides vary over at least
    four pairs, the statistics DESIGN.md §5 names (Fisher-z 95 % interval)."""
    row = key | {"n": len(x)}
    if len(x) >= 4 and x.std() > 0 and y.std() > 0:
        r, p = stats.pearsonr(x, y)
        z, half = np.arctanh(r), 1.959963984540054 / np.sqrt(len(x) - 3)
        fit = stats.linregress(x, y)
        row |= {
            "pearson_r": float(r),
            "ci_low": float(np.tanh(z - half)),
            "ci_high": float(np.tanh(z + half)),
            "p_value": float(p),
            "spearman_rho": float(stats.spearmanr(x, y)[0]),
            "slope": float(fit.slope),
            "intercept": float(fit.intercept),
        }
    return row


def _adjusted(r: float, scope: pd.DataFrame, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """n_eff and the adjusted interval and p, by the transform's own lag sums (this is a
    fixture for the API; their truth is tested in tests/packages/umwi_transform)."""
    from umwi_transform._autocorr import bartlett_excess, effective_n, lag_sums, neighbours

    places = pd.factorize(scope["location_id"])[0].astype(np.int64)
    months = pd.factorize(scope["month"])[0].astype(np.int64)
    hours = ((scope["hour"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(hours=1)).to_numpy()
    dx, dy = x - x.mean(), y - y.mean()
    # Month groups: pairs never cross a month end; the deviations are about the row's
    # own mean, so the months' sums add up to the row's.
    sums = lag_sums(
        neighbours(months, places, hours), months, int(months.max()) + 1, None, [dx, dy]
    )
    one = np.array([float(len(x))])
    excess = bartlett_excess(
        one,
        np.array([dx.var()]),
        np.array([dy.var()]),
        sums.gamma[0].sum(axis=1, keepdims=True),
        sums.gamma[1].sum(axis=1, keepdims=True),
        sums.pairs.sum(axis=1, keepdims=True),
        sums.weights,
    )
    n_eff = float(effective_n(one, excess)[0])
    z, half = np.arctanh(r), 1.959963984540054 / np.sqrt(n_eff - 3)
    t = r * np.sqrt((n_eff - 2) / (1 - r * r))
    return {
        "n_eff": n_eff,
        "ci_low_adj": float(np.tanh(z - half)),
        "ci_high_adj": float(np.tanh(z + half)),
        "p_value_adj": float(2 * stats.t.sf(abs(t), n_eff - 2)),
    }


def sensitivity_rows(hourly: pd.DataFrame) -> pd.DataFrame:
    """`line_sensitivity` by the transform's finisher from per-day sums made here."""
    from umwi_transform._sensitivity import line_sensitivity

    wet = (hourly["precipitation_mm"] > 0) | (hourly["snowfall_cm"].fillna(0) > 0)
    kept = hourly["departures"] - hourly["cancelled"]
    frame = pd.DataFrame(
        {
            "network": hourly["network"],
            "line_id": hourly["line_id"],
            "day": hourly["hour"].dt.floor("D"),
        }
    )
    for prefix, chosen in (("wet", wet), ("dry", ~wet)):
        frame[f"{prefix}_cells"] = chosen.astype("int64")
        frame[f"{prefix}_departures"] = hourly["departures"].where(chosen, 0).astype("int64")
        frame[f"{prefix}_on_time"] = hourly["on_time"].where(chosen, 0).astype("int64")
        frame[f"{prefix}_kept"] = kept.where(chosen, 0).astype("int64")
        frame[f"{prefix}_delay_sum"] = (
            (hourly["mean_delay_s"] * kept).fillna(0.0).where(chosen, 0.0)
        )
    days = frame.groupby(["network", "line_id", "day"], as_index=False).sum()
    table = pa.Table.from_pandas(days, preserve_index=False)
    return line_sensitivity(table, 30).to_pandas()


def to_parquet(frame: pd.DataFrame, table: str) -> bytes:
    """`frame` as the serving copy of gold `table`: exactly its columns, with gold's types."""
    from umwi_transform import GOLD_SCHEMAS

    columns = list(GOLD_COLUMNS[table])
    frame = frame.reindex(columns=columns)
    arrow = pa.Table.from_pandas(frame, schema=GOLD_SCHEMAS[table], preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(arrow, sink)
    return sink.getvalue()


def sample_tables(seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    weather = _weather(rng)
    cells = _all_lines(_cells(rng, weather))
    hourly = cells.merge(weather, on=["location_id", "hour"])
    hourly["weather_class"] = [
        _weather_class(p, s)
        for p, s in zip(hourly["precipitation_mm"], hourly["snowfall_cm"], strict=True)
    ]
    # A stop group without weather: punctuality keeps it (location_id null), KPIs count it.
    unknown = cells[cells["location_id"] == "loc-hills"].head(48).assign(location_id=None)
    punctuality = pd.concat([cells, unknown], ignore_index=True)
    return {
        "punctuality_hourly": punctuality,
        "mobility_weather_hourly": hourly,
        "weather_impact": _impact(hourly),
        "correlation": _correlation(hourly, weather),
        "line_sensitivity": sensitivity_rows(hourly),
        **_outlook(hourly, weather),
    }


def _outlook(hourly: pd.DataFrame, weather: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The outlook tables by the transform's own expressions (DESIGN.md §8), with the last
    two days' weather repeated as the forecast of the 48 h after the history."""
    import ibis
    from umwi_transform import outlook_expressions as ox

    backend = ibis.duckdb.connect()
    backend.raw_sql("SET TimeZone = 'UTC'")
    mobility = ibis.memtable(hourly.drop(columns=["_delay_sum", "_kept"]))
    baseline = backend.to_pyarrow(ox.outlook_baseline(mobility)).to_pandas()
    base = ibis.memtable(baseline)
    effects = backend.to_pyarrow(ox.outlook_class_effect(mobility, base, 24.0)).to_pandas()
    issued = START + timedelta(hours=HOURS)
    last = weather[weather["hour"] >= issued - timedelta(hours=48)].copy()
    last["hour"] = last["hour"] + timedelta(hours=48)
    last["issued_at"] = issued
    outlook = backend.to_pyarrow(
        ox.outlook_hourly(ibis.memtable(last), base, ibis.memtable(effects))
    ).to_pandas()
    return {
        "outlook_baseline": baseline,
        "outlook_class_effect": effects,
        "outlook_hourly": outlook,
    }


_CACHE: dict[int, dict[str, bytes]] = {}


def write_sample_gold(
    lake: Lake,
    *,
    publication_id: str = "pub-20240408T000000Z-sample",
    seed: int = 7,
    gate_status: str = "passed",
) -> Publication:
    """Publish the sample gold in `lake` and return the publication."""
    if seed not in _CACHE:
        _CACHE[seed] = {
            name: to_parquet(frame, name) for name, frame in sample_tables(seed).items()
        }
    updated = START + timedelta(hours=HOURS)
    return publish(
        lake,
        _CACHE[seed],
        publication_id=publication_id,
        updated_at=updated,
        published_at=updated + timedelta(minutes=5),
        gate_status=gate_status,
    )


def publish(
    lake: Lake,
    serving: dict[str, bytes],
    *,
    publication_id: str,
    updated_at: datetime,
    published_at: datetime,
    gate_status: str = "passed",
) -> Publication:
    """Write each table's serving copy (`to_parquet`), then `gold/_published.json` naming
    them, as the publisher does."""
    tables = {}
    for name, data in serving.items():
        key = serving_key(publication_id, name)
        lake.write_bytes(key, data)
        rows = pq.read_metadata(io.BytesIO(data)).num_rows
        tables[name] = PublishedTable(version=3, serving=key, rows=rows, updated_at=updated_at)
    publication = Publication(
        publication_id=publication_id,
        published_at=published_at,
        run_id="run-20240408T000000Z-sample",
        tables=tables,
        quality_report="quality/run-20240408T000000Z-sample/results.json",
        gate={"status": gate_status, "checks": 24, "failed": 0},
    )
    current = read_publication(lake)
    write_publication(lake, publication, None if current is None else current[1])
    return publication
