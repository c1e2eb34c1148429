"""A year of published gold, written directly (no ingest, no build), for the dashboard.

Two networks: `harbour-city` has a year of service hours (05:00–22:00 UTC) at two weather
locations, plus one early hour whose stop group has no weather (so its departures span starts
an hour before its weather span); `valley-town` has ten days at one location. Gold was
published weeks after the last hour, so a header that showed the publication time as the
data's end would be visibly wrong. The KPI tables follow DESIGN.md §5 closely enough for the
dashboard to draw them; their exact statistics are tested on the sample gold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from umwi_core.contracts import CORRELATION_VARIABLES
from umwi_core.lake import Lake
from umwi_core.publication import Publication

from tests.api.gold_sample import correlation_row, publish, sensitivity_rows, to_parquet

YEAR = "harbour-city"
SHORT = "valley-town"
PUBLISHED_AT = datetime(2026, 1, 20, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Network:
    name: str
    first_day: datetime
    days: int
    service_hours: range
    locations: dict[str, tuple[float, float]]
    lines: tuple[str, ...]


NETWORKS = (
    Network(
        YEAR,
        datetime(2025, 1, 1, tzinfo=UTC),
        365,
        range(5, 23),
        {"hc-port": (-41.28, 174.77), "hc-hill": (-41.3, 174.75)},
        ("L1", "L2"),
    ),
    Network(
        SHORT,
        datetime(2025, 6, 1, tzinfo=UTC),
        10,
        range(6, 22),
        {"vt-centre": (45.0, 7.0)},
        ("A",),
    ),
)


def _weather(rng: np.random.Generator, network: Network) -> pd.DataFrame:
    days = pd.date_range(network.first_day, periods=network.days, freq="D")
    hours = pd.DatetimeIndex(
        [day + pd.Timedelta(hours=hour) for day in days for hour in network.service_hours]
    )
    frames = []
    for location, (lat, lon) in network.locations.items():
        wet = rng.random(len(hours)) < 0.15
        precipitation = np.where(wet, np.round(rng.gamma(1.2, 2.5, len(hours)), 1), 0.0)
        frames.append(
            pd.DataFrame(
                {
                    "location_id": location,
                    "latitude": lat,
                    "longitude": lon,
                    "hour": hours,
                    "temperature_c": np.round(12 + 8 * np.sin(np.arange(len(hours)) / 400), 1),
                    "precipitation_mm": precipitation,
                    "rain_mm": precipitation,
                    "snowfall_cm": 0.0,
                    "wind_speed_kmh": np.round(rng.gamma(3, 5, len(hours)), 1),
                    "weather_code": np.where(precipitation > 0, 61, 1),
                    "visibility_m": 10_000.0 - 600 * precipitation,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


#: Additive cell columns: the `*` line and the KPI groups sum them (`_sum`: delay x kept).
_SUMS = {name: (name, "sum") for name in ("departures", "cancelled", "on_time", "_kept", "_sum")}


def _cells(rng: np.random.Generator, network: Network, weather: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for line in network.lines:
        size = len(weather)
        departures = rng.integers(3, 12, size)
        cancelled = rng.binomial(departures, 0.02)
        kept = departures - cancelled
        on_time = rng.binomial(kept, 0.85)
        mean = np.where(
            kept > 0, rng.normal(100 + 15 * weather["precipitation_mm"].to_numpy(), 30), np.nan
        )
        frames.append(
            pd.DataFrame(
                {
                    "network": network.name,
                    "line_id": line,
                    "location_id": weather["location_id"].to_numpy(),
                    "hour": weather["hour"].to_numpy(),
                    "departures": departures,
                    "cancelled": cancelled,
                    "on_time": on_time,
                    "mean_delay_s": mean,
                    "p50_delay_s": mean - 10,
                    "p90_delay_s": mean + 120,
                }
            )
        )
    cells = pd.concat(frames, ignore_index=True)
    weighted = cells.assign(
        _kept=cells["departures"] - cells["cancelled"],
        _sum=cells["mean_delay_s"].fillna(0) * (cells["departures"] - cells["cancelled"]),
    )
    everything = weighted.groupby(["network", "location_id", "hour"], as_index=False).agg(
        **_SUMS,
        p50_delay_s=("p50_delay_s", "median"),
        p90_delay_s=("p90_delay_s", "max"),
    )
    everything["mean_delay_s"] = everything["_sum"] / everything["_kept"].where(
        everything["_kept"] > 0
    )
    everything["line_id"] = "*"
    return pd.concat([cells, everything.drop(columns=["_kept", "_sum"])], ignore_index=True)


def _weather_class(frame: pd.DataFrame) -> pd.Series:
    precipitation = frame["precipitation_mm"]
    return pd.Series(
        np.select(
            [precipitation == 0, precipitation <= 2.5, precipitation <= 7.6],
            ["dry", "light_rain", "moderate_rain"],
            "heavy_rain",
        ),
        index=frame.index,
    )


def _impact(hourly: pd.DataFrame) -> pd.DataFrame:
    kept = hourly["departures"] - hourly["cancelled"]
    frame = hourly.assign(
        _kept=kept,
        _sum=hourly["mean_delay_s"].fillna(0) * kept,
        month=hourly["hour"].dt.strftime("%Y-%m"),
    )
    wet = frame[frame["precipitation_mm"] > 0].assign(weather_class="wet")
    both = pd.concat([frame, wet], ignore_index=True)
    rows = []
    for period in ("all", "month"):
        keys = ["network", "line_id", "weather_class"] + ([] if period == "all" else ["month"])
        grouped = both.groupby(keys, as_index=False).agg(cells=("hour", "size"), **_SUMS)
        grouped["period"] = "all" if period == "all" else grouped["month"]
        rows.append(grouped)
    impact = pd.concat(rows, ignore_index=True)
    impact["cancellation_rate"] = impact["cancelled"] / impact["departures"]
    impact["on_time_rate"] = impact["on_time"] / impact["_kept"]
    impact["reliability_rate"] = impact["on_time"] / impact["departures"]
    impact["mean_delay_s"] = impact["_sum"] / impact["_kept"]
    dry = impact[impact["weather_class"] == "dry"].set_index(["network", "line_id", "period"])
    baseline = dry["mean_delay_s"].reindex(
        pd.MultiIndex.from_frame(impact[["network", "line_id", "period"]])
    )
    impact["uplift_s"] = impact["mean_delay_s"].to_numpy() - baseline.to_numpy()
    impact["uplift_pct"] = np.where(
        baseline.to_numpy() >= 30, 100 * impact["uplift_s"] / baseline.to_numpy(), np.nan
    )
    return impact


def _correlation(hourly: pd.DataFrame) -> pd.DataFrame:
    """Lag 0, raw delay, whole history: what the dashboard asks for by default."""
    rows = []
    usable = hourly.dropna(subset=["mean_delay_s"])
    for (network, line), part in usable.groupby(["network", "line_id"]):
        for variable in CORRELATION_VARIABLES:
            key = {"network": network, "line_id": line, "period": "all",
                   "variable": variable, "lag_h": 0, "y_kind": "raw"}  # fmt: skip
            x = part[variable].to_numpy(dtype=float)
            rows.append(correlation_row(key, x, part["mean_delay_s"].to_numpy()))
    return pd.DataFrame(rows)


def year_tables(seed: int = 11) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    punctuality, hourly = [], []
    for network in NETWORKS:
        weather = _weather(rng, network)
        cells = _cells(rng, network, weather)
        merged = cells.merge(weather, on=["location_id", "hour"])
        hourly.append(merged.assign(weather_class=_weather_class(merged)))
        punctuality.append(cells)
    # Departures at a stop group without weather, an hour before the first weather hour.
    first = NETWORKS[0]
    early = first.first_day + timedelta(hours=first.service_hours.start - 1)
    unknown = pd.DataFrame(
        {
            "network": [first.name, first.name],
            "line_id": ["L1", "*"],
            "location_id": [None, None],
            "hour": [early, early],
            "departures": [4, 4],
            "cancelled": [0, 0],
            "on_time": [3, 3],
            "mean_delay_s": [80.0, 80.0],
            "p50_delay_s": [70.0, 70.0],
            "p90_delay_s": [200.0, 200.0],
        }
    )
    mobility = pd.concat(hourly, ignore_index=True)
    return {
        "punctuality_hourly": pd.concat([*punctuality, unknown], ignore_index=True),
        "mobility_weather_hourly": mobility,
        "weather_impact": _impact(mobility),
        "correlation": _correlation(mobility),
        "line_sensitivity": sensitivity_rows(mobility),
    }


def write_year_gold(lake: Lake) -> tuple[Publication, dict[str, pd.DataFrame]]:
    """Publish the year in `lake`; the publication and the frames it was written from."""
    tables = year_tables()
    publication = publish(
        lake,
        {name: to_parquet(frame, name) for name, frame in tables.items()},
        publication_id="pub-20260120T060000Z-year",
        updated_at=PUBLISHED_AT - timedelta(minutes=3),
        published_at=PUBLISHED_AT,
    )
    return publication, tables
