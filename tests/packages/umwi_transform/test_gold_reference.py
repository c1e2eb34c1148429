"""The gold tables agree with an independent pandas/scipy computation on generated data,
on every column of every gold contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from umwi_core.contracts import GOLD_CONTRACTS
from umwi_core.lake import Lake
from umwi_core.settings import Settings
from umwi_transform import land_forecast, open_delta

from tests.packages.umwi_transform import reference
from tests.packages.umwi_transform.factory import build

START = datetime(2026, 3, 29, 0, tzinfo=UTC)  # spans a month end and a DST weekend
LOCATIONS = {"W1": (48.85, 2.35), "W2": (48.95, 2.25), "W3": (48.80, 2.55)}


def _generate(
    seed: int, *, gaps: bool = True, days: int = 5
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`gaps`: some weather hours and values missing (Spearman then ranks each (variable,
    lag) group on its own); without, every group ranks y as its whole line does. Over
    more than a week, the anomaly y (against the weekday-hour mean) is not all zeros."""
    rng = np.random.default_rng(seed)
    hours = days * 24
    missing = 1.0 if gaps else 0.0
    weathers = []
    for location, (lat, lon) in LOCATIONS.items():
        for h in range(-3, hours):
            if rng.random() < 0.04 * missing:
                continue  # a missing weather hour
            wet = rng.random() < 0.4
            precipitation = float(np.round(rng.gamma(1.2, 2.5), 1)) if wet else 0.0
            snow = float(np.round(rng.random() * 0.5, 1)) if rng.random() < 0.05 else 0.0
            weathers.append(
                {
                    "location_id": location,
                    "latitude": lat,
                    "longitude": lon,
                    "hour": START + timedelta(hours=h),
                    "precipitation_mm": None if rng.random() < 0.02 * missing else precipitation,
                    "rain_mm": precipitation,
                    "snowfall_cm": snow,
                    "temperature_c": float(np.round(rng.normal(8, 4), 1)),
                    "wind_speed_kmh": float(np.round(rng.gamma(2, 6), 1)),
                    "visibility_m": None
                    if rng.random() < 0.1 * missing
                    else float(rng.integers(1000, 30000)),
                    "weather_code": int(rng.integers(0, 99)),
                }
            )
    stops = [(48.85 + rng.normal(0, 0.05), 2.35 + rng.normal(0, 0.08)) for _ in range(10)]
    stops += [(49.5, 2.35), (None, None)]  # one too far from every location, one unplaced
    departures = []
    for i in range(2500):
        stop = int(rng.integers(0, len(stops)))
        lat, lon = stops[stop]
        scheduled = START + timedelta(seconds=int(rng.integers(0, hours * 3600)))
        cancelled = bool(rng.random() < 0.04)
        delay = None if cancelled else int(rng.normal(90, 120))
        departures.append(
            {
                "network": "net" if i % 7 else "other",
                "line_id": f"L{i % 3}",
                "stop_id": f"S{stop}",
                "trip_id": f"T{i}",
                "scheduled_at": scheduled,
                "delay_s": delay,
                "cancelled": cancelled,
                "stop_lat": None if lat is None else round(lat, 5),
                "stop_lon": None if lon is None else round(lon, 5),
            }
        )
    return departures, weathers


def _land_forecasts(lake: Lake, days: int) -> None:
    """Two issues per location at the end of the history (the later one counts): 48 h
    of every class, a missing precipitation and hours beyond the 48 included."""
    rng = np.random.default_rng(11)
    end = START + timedelta(days=days)
    for issued in (end - timedelta(hours=3), end + timedelta(minutes=20)):
        rows = []
        for location, (lat, lon) in LOCATIONS.items():
            for h in range(-2, 52):
                draw = rng.random()
                precipitation = (
                    None
                    if draw < 0.05
                    else 0.0
                    if draw < 0.5
                    else float(rng.choice([1.0, 4.0, 9.0]))
                )
                rows.append(
                    {
                        "location_id": location,
                        "latitude": lat,
                        "longitude": lon,
                        "issued_at": issued,
                        "hour": end + timedelta(hours=h),
                        "temperature_c": float(np.round(rng.normal(3, 3), 1)),
                        "precipitation_mm": precipitation,
                        "rain_mm": precipitation,
                        "snowfall_cm": 0.4 if draw > 0.95 else 0.0,
                        "wind_speed_kmh": 12.0,
                        "weather_code": 61,
                        "visibility_m": None if draw > 0.9 else 9000.0,
                    }
                )
        land_forecast(lake, pa.Table.from_pylist(rows), "forecast")


def _frames(
    departures: list[dict[str, Any]], weathers: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = pd.DataFrame(departures)
    d["scheduled_at"] = pd.to_datetime(d["scheduled_at"], utc=True)
    d["delay_s"] = d["delay_s"].astype("float64")
    w = pd.DataFrame(weathers)
    w["hour"] = pd.to_datetime(w["hour"], utc=True)
    for column in reference.VARIABLES:
        w[column] = w[column].astype("float64")
    return d, w


def _compare(
    found: pd.DataFrame, expected: pd.DataFrame, key: list[str], compared: dict[str, set[str]]
) -> None:
    """`found` equals `expected` on every column `expected` has; records them in
    `compared` under the table's name (`found.attrs["table"]`)."""
    compared[found.attrs["table"]] = set(expected.columns)
    assert len(found) == len(expected), (len(found), len(expected))
    found = found.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    for column in expected.columns:
        left, right = found[column], expected[column]
        if pd.api.types.is_float_dtype(right) or pd.api.types.is_float_dtype(left):
            np.testing.assert_allclose(
                left.astype(float), right.astype(float), rtol=1e-7, atol=1e-9, err_msg=column
            )
        else:
            assert list(left) == list(right), column


@pytest.mark.slow
@pytest.mark.parametrize(
    ("gaps", "days"), [(True, 5), (False, 16)], ids=["weather-gaps", "complete-weather"]
)
def test_gold_matches_the_independent_reference(
    lake: Lake, settings: Settings, gaps: bool, days: int
) -> None:
    """Mutations: the weather class's light-rain bound `<= 2.5` as `< 2.5` in
    `_gold_exprs.weather_class` (mobility_weather_hourly's weather_class); joining the
    weather row of the next hour; a gold column the reference does not compute (the
    coverage assertion at the end)."""
    departures, weathers = _generate(7, gaps=gaps, days=days)
    _land_forecasts(lake, days)
    gold = build(lake, settings, departures, weathers)
    for table, frame in gold.items():
        frame.attrs["table"] = table
    compared: dict[str, set[str]] = {}
    d, w = _frames(departures, weathers)
    enriched = reference.enrich(d, w, settings)
    assert enriched["location_id"].isna().any()  # the generated data exercise unknown weather

    hourly_key = ["network", "line_id", "location_id", "hour"]
    hourly = gold["punctuality_hourly"].copy()
    hourly["location_id"] = hourly["location_id"].fillna("~")
    expected_hourly = reference.punctuality(enriched)
    _compare(hourly, expected_hourly, hourly_key, compared)

    mobility = gold["mobility_weather_hourly"]
    expected_mobility = reference.mobility_weather(expected_hourly, w)
    assert {"dry", "light_rain", "snow"} <= set(expected_mobility["weather_class"])
    _compare(mobility, expected_mobility, hourly_key, compared)

    impact = gold["weather_impact"]
    assert {"wet", "unknown", "dry", "snow"} <= set(impact["weather_class"])
    assert {"all", "2026-03", "2026-04"} == set(impact["period"])
    _compare(
        impact,
        reference.weather_impact(enriched),
        ["network", "line_id", "period", "weather_class"],
        compared,
    )

    sensitivity = gold["line_sensitivity"]
    expected_sensitivity = reference.line_sensitivity(enriched, settings.sensitivity_min_wet_hours)
    assert expected_sensitivity["rank"].notna().any()
    assert expected_sensitivity["uplift_low_s"].notna().any()
    _compare(sensitivity, expected_sensitivity, ["network", "line_id", "period"], compared)

    correlation = gold["correlation"]
    expected = reference.correlation(enriched, w)
    _compare(
        correlation,
        expected,
        ["network", "line_id", "period", "variable", "lag_h", "y_kind"],
        compared,
    )
    assert correlation["pearson_r"].notna().sum() > 100
    if days > 7:  # the anomaly ranks are exercised too
        anomaly = correlation[correlation["y_kind"] == "anomaly"]
        assert anomaly["spearman_rho"].notna().sum() > 100

    # The outlook (DESIGN.md §8), from the reference's own hourly rows.
    baseline = reference.outlook_baseline(expected_mobility)
    slot = ["network", "line_id", "location_id", "weekday", "hour_of_day"]
    _compare(gold["outlook_baseline"], baseline, slot, compared)
    effects = reference.outlook_class_effect(
        expected_mobility, baseline, settings.outlook_shrinkage_hours
    )
    _compare(
        gold["outlook_class_effect"], effects, ["network", "line_id", "weather_class"], compared
    )
    landed = open_delta(lake, "silver", "weather_forecast")
    assert landed is not None
    forecast = landed.to_pyarrow_dataset().to_table().to_pandas()
    outlook = reference.outlook_hourly(forecast, baseline, effects)
    _compare(gold["outlook_hourly"], outlook, hourly_key, compared)
    if days > 7:  # wet hours in slots with dry ones: the class effects are exercised
        assert set(effects["weather_class"]) >= {"light_rain", "moderate_rain"}
        assert {"dry", "unknown", "light_rain"} <= set(outlook["weather_class"])
        assert outlook["mean_delay_low_s"].notna().sum() > 10

    # Every gold column of every gold table has its independent value, so a new column
    # (or table) fails here until the reference computes it.
    uncovered = {
        table: sorted(set(contract.column_names) - compared.get(table, set()))
        for table, contract in GOLD_CONTRACTS.items()
    }
    assert uncovered == {table: [] for table in GOLD_CONTRACTS}
