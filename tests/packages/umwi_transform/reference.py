"""An independent pandas/numpy/scipy implementation of DESIGN.md §4–5 for comparison.

Written straight from the definitions, row by row where that is clearer; it shares no
code with umwi_transform.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from umwi_core.contracts import MOBILITY_WEATHER_HOURLY, PUNCTUALITY_HOURLY

R_KM = 6371.0088
VARIABLES = [
    "precipitation_mm",
    "rain_mm",
    "snowfall_cm",
    "temperature_c",
    "wind_speed_kmh",
    "visibility_m",
]


def _nearest(departures: pd.DataFrame, weather: pd.DataFrame, max_km: float) -> pd.Series:
    locations = weather.groupby("location_id")[["latitude", "longitude"]].first().sort_index()
    ids = locations.index.to_numpy()
    lat2 = np.radians(locations["latitude"].to_numpy())
    lon2 = np.radians(locations["longitude"].to_numpy())
    chosen: dict[tuple[float, float], Any] = {}
    for lat, lon in departures[["stop_lat", "stop_lon"]].drop_duplicates().itertuples(index=False):
        if pd.isna(lat) or pd.isna(lon):
            continue
        p1, l1 = np.radians(lat), np.radians(lon)
        a = np.sin((lat2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(lat2) * np.sin((lon2 - l1) / 2) ** 2
        metres = np.floor(2 * R_KM * np.arcsin(np.sqrt(a)) * 1000 + 0.5)
        best = None
        for metre, location in sorted(zip(metres, ids, strict=True)):
            if metre <= max_km * 1000:
                best = location
            break
        chosen[(lat, lon)] = best
    return pd.Series(
        [
            chosen.get((la, lo))
            for la, lo in zip(departures["stop_lat"], departures["stop_lon"], strict=True)
        ],
        index=departures.index,
        dtype=object,
    )


def _class(precipitation: float, snowfall: float) -> str:
    if not pd.isna(snowfall) and snowfall > 0:
        return "snow"
    if precipitation == 0:
        return "dry"
    if precipitation <= 2.5:
        return "light_rain"
    if precipitation <= 7.6:
        return "moderate_rain"
    return "heavy_rain"


def enrich(departures: pd.DataFrame, weather: pd.DataFrame, settings: Any) -> pd.DataFrame:
    d = departures.copy()
    d["hour"] = d["scheduled_at"].dt.floor("h")
    d["near"] = _nearest(d, weather, settings.max_weather_distance_km)
    w = weather.set_index(["location_id", "hour"])
    precip, snow = [], []
    for near, hour in zip(d["near"], d["hour"], strict=True):
        if near is None or (near, hour) not in w.index:
            precip.append(np.nan)
            snow.append(np.nan)
        else:
            precip.append(w.loc[(near, hour), "precipitation_mm"])
            snow.append(w.loc[(near, hour), "snowfall_cm"])
    d["precip"] = precip
    d["snow"] = snow
    known = d["precip"].notna()
    d["location_id"] = np.where(known, d["near"], None)
    d["weather_class"] = [
        _class(p, s) if k else "unknown"
        for p, s, k in zip(d["precip"], d["snow"], known, strict=True)
    ]
    d["wet"] = known & ((d["precip"] > 0) | (d["snow"].fillna(0) > 0))
    d["on_time"] = (
        ~d["cancelled"]
        & (d["delay_s"] >= -settings.early_tolerance_s)
        & (d["delay_s"] <= settings.on_time_threshold_s)
    )
    d["period"] = d["hour"].dt.strftime("%Y-%m")
    return d


def _with_all_lines(d: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([d, d.assign(line_id="*")], ignore_index=True)


def punctuality(d: pd.DataFrame) -> pd.DataFrame:
    rows = []
    both = _with_all_lines(d)
    both["loc"] = both["location_id"].fillna("~")
    for (network, line, loc, hour), g in both.groupby(["network", "line_id", "loc", "hour"]):
        delays = g.loc[~g["cancelled"], "delay_s"].to_numpy(dtype=float)
        rows.append(
            {
                "network": network,
                "line_id": line,
                "location_id": loc,
                "hour": hour,
                "departures": len(g),
                "cancelled": int(g["cancelled"].sum()),
                "on_time": int(g["on_time"].sum()),
                "mean_delay_s": delays.mean() if len(delays) else np.nan,
                "p50_delay_s": np.percentile(delays, 50) if len(delays) else np.nan,
                "p90_delay_s": np.percentile(delays, 90) if len(delays) else np.nan,
            }
        )
    return pd.DataFrame(rows)


#: The weather row's columns `mobility_weather_hourly` carries beside the punctuality (its
#: contract's, in order; the class is computed here, not read from the weather row).
WEATHER_COLUMNS = [
    name
    for name in MOBILITY_WEATHER_HOURLY.column_names
    if name not in PUNCTUALITY_HOURLY.column_names and name != "weather_class"
]


def mobility_weather(d: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    """The punctuality rows of known weather, each with its location-hour's weather row
    and that row's class."""
    hourly = punctuality(d)
    known = hourly[hourly["location_id"] != "~"].reset_index(drop=True)
    w = weather.set_index(["location_id", "hour"])
    rows = []
    for row in known.to_dict("records"):
        found = w.loc[(row["location_id"], row["hour"])]
        values = {column: found[column] for column in WEATHER_COLUMNS}
        klass = _class(values["precipitation_mm"], values["snowfall_cm"])
        rows.append({**row, **values, "weather_class": klass})
    return pd.DataFrame(rows)


def weather_impact(d: pd.DataFrame) -> pd.DataFrame:
    both = _with_all_lines(d)
    periods = pd.concat([both.assign(period="all"), both], ignore_index=True)
    wet = periods[periods["wet"]].assign(weather_class="wet")
    rows = []
    for (network, line, period, klass), g in pd.concat([periods, wet]).groupby(
        ["network", "line_id", "period", "weather_class"]
    ):
        live = g[~g["cancelled"]]
        rows.append(
            {
                "network": network,
                "line_id": line,
                "period": period,
                "weather_class": klass,
                "cells": np.nan if klass == "unknown" else len(g.groupby(["location_id", "hour"])),
                "departures": len(g),
                "cancellation_rate": g["cancelled"].mean(),
                "on_time_rate": live["on_time"].mean() if len(live) else np.nan,
                "reliability_rate": g["on_time"].sum() / len(g),
                "mean_delay_s": live["delay_s"].mean() if len(live) else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    dry = out[out["weather_class"] == "dry"].set_index(["network", "line_id", "period"])[
        "mean_delay_s"
    ]
    keys = list(zip(out["network"], out["line_id"], out["period"], strict=True))
    dry_mean = np.array([dry.get(k, np.nan) for k in keys], dtype=float)
    out["uplift_s"] = out["mean_delay_s"] - dry_mean
    with np.errstate(invalid="ignore", divide="ignore"):
        out["uplift_pct"] = np.where(dry_mean >= 30, 100 * out["uplift_s"] / dry_mean, np.nan)
    return out


def correlation(d: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    known = _with_all_lines(d[d["location_id"].notna()])
    live = known[~known["cancelled"]]
    cells = live.groupby(["network", "line_id", "location_id", "hour"], as_index=False)[
        "delay_s"
    ].mean()
    cells = cells.rename(columns={"delay_s": "y"})
    cells["dow"] = cells["hour"].dt.dayofweek
    cells["hod"] = cells["hour"].dt.hour
    baseline = cells.groupby(["network", "line_id", "location_id", "dow", "hod"])["y"].transform(
        "mean"
    )
    cells["anomaly"] = cells["y"] - baseline
    cells["anomaly_key"] = cells["anomaly"].round(6)  # Spearman ranks it to the microsecond
    cells["period"] = cells["hour"].dt.strftime("%Y-%m")
    w = weather.set_index(["location_id", "hour"])
    rows = []
    for lag in range(4):
        looked = [
            (loc, hour - pd.Timedelta(hours=lag))
            for loc, hour in zip(cells["location_id"], cells["hour"], strict=True)
        ]
        present = [key in w.index for key in looked]
        lagged = cells[present].copy()
        for variable in VARIABLES:
            lagged["x"] = [
                w.loc[key, variable] for key, ok in zip(looked, present, strict=True) if ok
            ]
            usable = lagged[lagged["x"].notna()]
            for period_rows in (usable.assign(period="all"), usable):
                for (network, line, period), g in period_rows.groupby(
                    ["network", "line_id", "period"]
                ):
                    for y_kind, y_column, key in (
                        ("raw", "y", "y"),
                        ("anomaly", "anomaly", "anomaly_key"),
                    ):
                        rows.append(
                            {
                                "network": network,
                                "line_id": line,
                                "period": period,
                                "variable": variable,
                                "lag_h": lag,
                                "y_kind": y_kind,
                                **_statistics(
                                    g["x"].to_numpy(float),
                                    g[y_column].to_numpy(float),
                                    g[key].to_numpy(float),
                                ),
                            }
                        )
    return pd.DataFrame(rows)


def _statistics(x: np.ndarray, y: np.ndarray, y_key: np.ndarray) -> dict[str, float]:
    """`y_key` is what the ranks order (and what "y varies" is judged on)."""
    n = len(x)
    nulls = dict.fromkeys(
        ["pearson_r", "ci_low", "ci_high", "p_value", "spearman_rho", "slope", "intercept"], np.nan
    )
    if n < 4 or np.ptp(x) == 0 or np.ptp(y_key) == 0:
        return {"n": n, **nulls}
    pearson = stats.pearsonr(x, y)
    z = np.arctanh(pearson.statistic)
    half = stats.norm.ppf(0.975) / np.sqrt(n - 3)
    fit = stats.linregress(x, y)
    return {
        "n": n,
        "pearson_r": pearson.statistic,
        "ci_low": np.tanh(z - half),
        "ci_high": np.tanh(z + half),
        "p_value": pearson.pvalue,
        "spearman_rho": stats.spearmanr(x, y_key).statistic,
        "slope": fit.slope,
        "intercept": fit.intercept,
    }
