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


def mobility_weather(hourly: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    """The punctuality rows of known weather (`hourly`, from `punctuality`), each with its
    location-hour's weather row and that row's class."""
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
    rows = []
    for lag in range(4):
        # The weather row of `lag` hours before each cell, where there is one.
        looked = pd.DataFrame(
            {"location_id": cells["location_id"], "hour": cells["hour"] - pd.Timedelta(hours=lag)}
        ).merge(weather, on=["location_id", "hour"], how="left", indicator=True, validate="m:1")
        present = (looked["_merge"] == "both").to_numpy()
        lagged = cells[present].copy()
        for variable in VARIABLES:
            lagged["x"] = looked.loc[present, variable].to_numpy()
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
                                    g[["location_id", "hour"]],
                                ),
                            }
                        )
    return pd.DataFrame(rows)


#: Hour distances of the n_eff sum (DESIGN.md §5), restated here.
NEFF_MAX_LAG_H = 24


def effective_n(x: np.ndarray, y: np.ndarray, where: pd.DataFrame) -> float:
    """Bartlett's n_eff over every ordered pair of distinct cells, listed: by (same
    place or not, hours apart k ≤ 24), within one calendar month; the class's
    correlation is its mean product of deviations over the variance, and
    n / n_eff = 1 + (1/n) Σ pairs · ρ̄x · ρ̄y, at most n."""
    n = len(x)
    dx, dy = x - x.mean(), y - y.mean()
    epoch = pd.Timestamp(0, tz="UTC")
    hours = ((where["hour"] - epoch) // pd.Timedelta(hours=1)).to_numpy()
    months = where["hour"].dt.strftime("%Y-%m").to_numpy()
    places = where["location_id"].to_numpy()
    distance = np.abs(hours[:, None] - hours[None, :])
    eligible = (months[:, None] == months[None, :]) & ~np.eye(n, dtype=bool)
    eligible &= distance <= NEFF_MAX_LAG_H
    same_place = places[:, None] == places[None, :]
    # Each eligible ordered pair's class: 2k + (same place), summed class by class.
    classes = np.where(eligible, 2 * distance + same_place, -1).ravel()
    kept = classes >= 0
    size = 2 * NEFF_MAX_LAG_H + 2
    pairs = np.bincount(classes[kept], minlength=size)
    sum_x = np.bincount(classes[kept], weights=np.outer(dx, dx).ravel()[kept], minlength=size)
    sum_y = np.bincount(classes[kept], weights=np.outer(dy, dy).ravel()[kept], minlength=size)
    total = 0.0
    for index in np.flatnonzero(pairs):
        rho_x = sum_x[index] / pairs[index] / dx.var()
        rho_y = sum_y[index] / pairs[index] / dy.var()
        total += pairs[index] * rho_x * rho_y
    return float(n / max(1.0, 1.0 + total / n))


def _statistics(
    x: np.ndarray, y: np.ndarray, y_key: np.ndarray, where: pd.DataFrame
) -> dict[str, float]:
    """`y_key` is what the ranks order (and what "y varies" is judged on); `where` holds
    each cell's location_id and hour."""
    n = len(x)
    nulls = dict.fromkeys(
        ["pearson_r", "ci_low", "ci_high", "p_value", "spearman_rho", "slope", "intercept"], np.nan
    )
    nulls.update(dict.fromkeys(["n_eff", "ci_low_adj", "ci_high_adj", "p_value_adj"], np.nan))
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
        **_adjusted(pearson.statistic, effective_n(x, y, where)),
    }


def _adjusted(r: float, n_eff: float) -> dict[str, float]:
    """Fisher-z interval with n_eff − 3, Student-t p with n_eff − 2 df; null at n_eff ≤ 3."""
    if n_eff <= 3:
        return {"n_eff": n_eff, "ci_low_adj": np.nan, "ci_high_adj": np.nan, "p_value_adj": np.nan}
    half = stats.norm.ppf(0.975) / np.sqrt(n_eff - 3)
    t = r * np.sqrt((n_eff - 2) / (1 - r * r)) if abs(r) < 1 else np.inf
    return {
        "n_eff": n_eff,
        "ci_low_adj": np.tanh(np.arctanh(r) - half),
        "ci_high_adj": np.tanh(np.arctanh(r) + half),
        "p_value_adj": 2 * stats.t.sf(abs(t), n_eff - 2),
    }


def _cluster_difference(
    value: np.ndarray, wet: np.ndarray, day: np.ndarray, days: int
) -> tuple[float, float]:
    """OLS of `value` on [1, wet] over departures, with the cluster-robust (by day)
    sandwich variance scaled by D / (D − 1): the wet-minus-dry difference of means and
    its standard error (NaN when a side is empty or D < 2)."""
    if not wet.any() or wet.all():
        return np.nan, np.nan
    x = np.column_stack([np.ones(len(value)), wet.astype(float)])
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ value
    residual = value - x @ beta
    meat = np.zeros((2, 2))
    for chosen in np.unique(day):
        score = x[day == chosen].T @ residual[day == chosen]
        meat += np.outer(score, score)
    if days < 2:
        return float(beta[1]), np.nan
    covariance = bread @ meat @ bread * days / (days - 1)
    return float(beta[1]), float(np.sqrt(covariance[1, 1]))


def line_sensitivity(d: pd.DataFrame, min_wet_hours: int) -> pd.DataFrame:
    """Per network, line and period: wet-minus-dry differences estimated as OLS
    coefficients on departure rows, with day-clustered standard errors; ranks by the
    uplift's lower bound among lines with enough wet location-hours."""
    known = _with_all_lines(d[d["location_id"].notna()])
    known = known.assign(day=known["hour"].dt.floor("D"))
    periods = pd.concat([known.assign(period="all"), known], ignore_index=True)
    z = stats.norm.ppf(0.975)
    rows = []
    for (network, line, period), g in periods.groupby(["network", "line_id", "period"]):
        cells = g.groupby(["location_id", "hour"])["wet"].first()
        days = g["day"].nunique()
        wet_days = g.loc[g["wet"], "day"].nunique()
        live = g[~g["cancelled"]]
        uplift, uplift_se = _cluster_difference(
            live["delay_s"].to_numpy(float),
            live["wet"].to_numpy(bool),
            live["day"].to_numpy(),
            days,
        )
        change, change_se = _cluster_difference(
            g["on_time"].to_numpy(float), g["wet"].to_numpy(bool), g["day"].to_numpy(), days
        )
        rows.append(
            {
                "network": network,
                "line_id": line,
                "period": period,
                "wet_hours": int(cells.sum()),
                "dry_hours": int((~cells).sum()),
                "wet_days": wet_days,
                "days": days,
                "uplift_s": uplift,
                "uplift_low_s": uplift - z * uplift_se,
                "uplift_high_s": uplift + z * uplift_se,
                "reliability_drop": -change,
                "reliability_drop_low": -change - z * change_se,
                "reliability_drop_high": -change + z * change_se,
            }
        )
    out = pd.DataFrame(rows)
    eligible = (
        (out["line_id"] != "*") & (out["wet_hours"] >= min_wet_hours) & out["uplift_low_s"].notna()
    )
    ranked = out[eligible].sort_values(
        ["network", "period", "uplift_low_s", "line_id"], ascending=[True, True, False, True]
    )
    out["rank"] = pd.Series(
        ranked.groupby(["network", "period"]).cumcount() + 1, index=ranked.index
    ).reindex(out.index)
    return out


# --- the outlook (DESIGN.md §8) ----------------------------------------------------------

OUTLOOK_MEASURES = ("mean_delay_s", "on_time_rate", "reliability_rate")
SLOT = ["network", "line_id", "location_id", "weekday", "hour_of_day"]
WET_CLASSES = ("light_rain", "moderate_rain", "heavy_rain", "snow")
Z_95 = float(stats.norm.ppf(0.975))


def _sd_column(measure: str) -> str:
    return "mean_delay_sd_s" if measure == "mean_delay_s" else f"{measure}_sd"


def _uplift_column(measure: str, part: str) -> str:
    stem, unit = ("mean_delay", "_s") if measure == "mean_delay_s" else (measure, "")
    return f"{stem}_uplift{part}{unit}"


def outlook_cells(mobility: pd.DataFrame) -> pd.DataFrame:
    """Hours with a non-cancelled departure, their slot and three measures."""
    kept = mobility["departures"] - mobility["cancelled"]
    cells = mobility[kept > 0].copy()
    kept = cells["departures"] - cells["cancelled"]
    cells["weekday"] = cells["hour"].dt.dayofweek + 1
    cells["hour_of_day"] = cells["hour"].dt.hour
    cells["on_time_rate"] = cells["on_time"] / kept
    cells["reliability_rate"] = cells["on_time"] / cells["departures"]
    return cells


def outlook_baseline(mobility: pd.DataFrame) -> pd.DataFrame:
    cells = outlook_cells(mobility)
    rows = []
    for slot, group in cells[cells["weather_class"] == "dry"].groupby(SLOT):
        row = dict(zip(SLOT, slot, strict=True)) | {"hours": len(group)}
        for measure in OUTLOOK_MEASURES:
            values = group[measure].to_numpy(dtype=float)
            row[measure] = values.mean()
            row[_sd_column(measure)] = values.std(ddof=1) if len(values) > 1 else np.nan
        rows.append(row)
    columns = [*SLOT, "hours"]
    columns += [c for m in OUTLOOK_MEASURES for c in (m, _sd_column(m))]
    return pd.DataFrame(rows, columns=columns)


def outlook_class_effect(
    mobility: pd.DataFrame, baseline: pd.DataFrame, shrinkage_hours: float
) -> pd.DataFrame:
    cells = outlook_cells(mobility)
    wet = cells[cells["weather_class"].isin(WET_CLASSES)].merge(
        baseline, on=SLOT, suffixes=("", "_base")
    )
    anomalies: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    for key, group in wet.groupby(["network", "line_id", "weather_class"]):
        anomalies[key] = {
            m: (group[m] - group[f"{m}_base"]).to_numpy(dtype=float) for m in OUTLOOK_MEASURES
        }
    rows = []
    lines = baseline[["network", "line_id"]].drop_duplicates().to_records(index=False)
    for network, line in lines:
        for klass in WET_CLASSES:
            prior = anomalies.get((network, "*", klass))
            if prior is None:
                continue
            own = anomalies.get((network, line, klass))
            n = 0 if own is None else len(own["mean_delay_s"])
            weight = 1.0 if line == "*" else n / (n + shrinkage_hours)
            row = {
                "network": network,
                "line_id": line,
                "weather_class": klass,
                "hours": n,
                "weight": weight,
            }
            for m in OUTLOOK_MEASURES:
                p = prior[m]
                p_var = p.var(ddof=1) if len(p) > 1 else np.nan
                raw = own[m].mean() if own is not None and n else np.nan
                own_var = own[m].var(ddof=1) if own is not None and n > 1 else p_var
                own_term = weight**2 * own_var / n if n else 0.0
                row[_uplift_column(m, "_raw")] = raw
                row[_uplift_column(m, "")] = (
                    weight * (0.0 if n == 0 else raw) + (1 - weight) * p.mean()
                )
                prior_term = (1 - weight) ** 2 * p_var / len(p)
                row[_uplift_column(m, "_se")] = np.sqrt(own_term + prior_term)
            rows.append(row)
    columns = ["network", "line_id", "weather_class", "hours", "weight"]
    columns += [_uplift_column(m, part) for m in OUTLOOK_MEASURES for part in ("_raw", "", "_se")]
    return pd.DataFrame(rows, columns=columns)


def outlook_hourly(
    forecast: pd.DataFrame, baseline: pd.DataFrame, effects: pd.DataFrame
) -> pd.DataFrame:
    latest = forecast.groupby("location_id")["issued_at"].transform("max")
    f = forecast[forecast["issued_at"] == latest]
    anchor = f["issued_at"].dt.floor("h")
    f = f[(f["hour"] >= anchor) & (f["hour"] < anchor + pd.Timedelta(hours=48))]
    base = baseline.set_index(["location_id", "weekday", "hour_of_day"]).sort_index()
    fx = effects.set_index(["network", "line_id", "weather_class"])
    rows = []
    for hour in f.to_dict("records"):
        precipitation = hour["precipitation_mm"]
        klass = (
            "unknown"
            if precipitation is None or np.isnan(precipitation)
            else _class(precipitation, hour["snowfall_cm"])
        )
        slot = (hour["location_id"], hour["hour"].dayofweek + 1, hour["hour"].hour)
        if slot not in base.index:
            continue
        for b in base.loc[[slot]].reset_index().to_dict("records"):
            effect = (
                fx.loc[(b["network"], b["line_id"], klass)]
                if (b["network"], b["line_id"], klass) in fx.index
                else None
            )
            row = {
                "network": b["network"],
                "line_id": b["line_id"],
                "location_id": hour["location_id"],
                "hour": hour["hour"],
                "issued_at": hour["issued_at"],
                **{c: hour[c] for c in WEATHER_COLUMNS if c not in ("latitude", "longitude")},
                "weather_class": klass,
                "baseline_hours": b["hours"],
                "class_hours": np.nan if klass == "dry" or effect is None else effect["hours"],
                "baseline_mean_delay_s": b["mean_delay_s"],
            }
            for m in OUTLOOK_MEASURES:
                if klass == "dry":
                    uplift, se = 0.0, 0.0
                elif effect is None:
                    uplift, se = np.nan, np.nan
                else:
                    uplift, se = effect[_uplift_column(m, "")], effect[_uplift_column(m, "_se")]
                expected = b[m] + uplift
                half = Z_95 * np.sqrt(b[_sd_column(m)] ** 2 / b["hours"] + se**2)
                low, high = expected - half, expected + half
                if m != "mean_delay_s":
                    expected, low, high = (float(np.clip(v, 0, 1)) for v in (expected, low, high))
                stem, unit = ("mean_delay", "_s") if m == "mean_delay_s" else (m, "")
                row[f"expected_{stem}{unit}"] = expected
                row[f"{stem}_low{unit}"] = low
                row[f"{stem}_high{unit}"] = high
                if m == "mean_delay_s":
                    row["uplift_s"] = uplift
            rows.append(row)
    return pd.DataFrame(rows, columns=OUTLOOK_HOURLY_COLUMNS)


OUTLOOK_HOURLY_COLUMNS = [
    *("network", "line_id", "location_id", "hour", "issued_at"),
    *(c for c in WEATHER_COLUMNS if c not in ("latitude", "longitude")),
    *("weather_class", "baseline_hours", "class_hours", "baseline_mean_delay_s", "uplift_s"),
    *(
        f"{prefix}{stem}{suffix}{unit}"
        for stem, unit in (("mean_delay", "_s"), ("on_time_rate", ""), ("reliability_rate", ""))
        for prefix, suffix in (("expected_", ""), ("", "_low"), ("", "_high"))
    ),
]
