"""Hand-computed cases for every KPI definition of DESIGN.md §4–5."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ibis
import pandas as pd
import pytest
from umwi_core.lake import Lake
from umwi_core.settings import Settings, load_settings
from umwi_transform import gold_expressions
from umwi_transform._engine import connect, to_arrow

from tests.packages.umwi_transform.factory import at, build, departure, one, weather


def test_weather_class_boundaries_and_snow_precedence(lake: Lake, settings: Settings) -> None:
    cases = [
        (0.0, 0.0, "dry"),
        (2.5, 0.0, "light_rain"),
        (2.51, 0.0, "moderate_rain"),
        (7.6, 0.0, "moderate_rain"),
        (7.61, 0.0, "heavy_rain"),
        (0.0, 0.1, "snow"),
        (10.0, 1.0, "snow"),
        (0.1, None, "light_rain"),
    ]
    weathers = [
        weather(hour=at(hours=h), precipitation=p, snowfall=s) for h, (p, s, _) in enumerate(cases)
    ]
    weathers.append(weather(hour=at(hours=len(cases)), precipitation=None))
    departures = [
        departure(trip=f"T{h}", scheduled=at(hours=h), delay=10) for h in range(len(cases) + 1)
    ]
    gold = build(lake, settings, departures, weathers)
    mobility = gold["mobility_weather_hourly"]
    for h, (_, _, expected) in enumerate(cases):
        assert one(mobility, line_id="L1", hour=at(hours=h))["weather_class"] == expected
    # Null precipitation: unknown weather, kept with a null location.
    unknown_hour = at(hours=len(cases))
    assert unknown_hour not in set(mobility["hour"])
    row = one(gold["punctuality_hourly"], line_id="L1", hour=unknown_hour)
    assert pd.isna(row["location_id"])
    assert row["departures"] == 1
    impact = gold["weather_impact"]
    assert one(impact, line_id="*", period="all", weather_class="wet")["cells"] == 7
    assert one(impact, line_id="*", period="all", weather_class="snow")["cells"] == 2
    unknown = one(impact, line_id="*", period="all", weather_class="unknown")
    assert unknown["departures"] == 1
    assert pd.isna(unknown["cells"])


def _on_time_case() -> list[dict[str, object]]:
    delays = [-61, -60, 0, 300, 301]
    rows = [departure(trip=f"T{d}", scheduled=at(seconds=i), delay=d) for i, d in enumerate(delays)]
    rows.append(departure(trip="C", cancelled=True, delay=None))
    return rows


def test_on_time_tolerances_cancelled_and_early(lake: Lake, settings: Settings) -> None:
    gold = build(lake, settings, _on_time_case(), [weather()])
    row = one(gold["punctuality_hourly"], line_id="L1")
    assert (row["departures"], row["cancelled"], row["on_time"]) == (6, 1, 3)
    assert row["mean_delay_s"] == pytest.approx(96.0)
    assert row["p50_delay_s"] == pytest.approx(0.0)
    assert row["p90_delay_s"] == pytest.approx(300.6)  # percentile_cont between 300 and 301
    dry = one(gold["weather_impact"], line_id="L1", period="all", weather_class="dry")
    assert dry["cancellation_rate"] == pytest.approx(1 / 6)
    assert dry["on_time_rate"] == pytest.approx(3 / 5)
    assert dry["reliability_rate"] == pytest.approx(3 / 6)
    assert dry["mean_delay_s"] == pytest.approx(96.0)
    assert dry["uplift_s"] == 0.0
    assert dry["uplift_pct"] == 0.0


def test_on_time_follows_the_settings(lake: Lake, tmp_path: Path) -> None:
    strict = load_settings(state_dir=tmp_path / "state", on_time_threshold_s=0, early_tolerance_s=0)
    gold = build(lake, strict, _on_time_case(), [weather()])
    assert one(gold["punctuality_hourly"], line_id="L1")["on_time"] == 1


def test_unknown_weather_is_kept_and_counted(lake: Lake, settings: Settings) -> None:
    departures = [
        departure(trip="no-coords", lat=None, lon=None),
        departure(trip="too-far", lat=48.3, lon=2.0),  # 33.4 km
        departure(trip="no-weather-hour", scheduled=at(hours=1)),
        departure(trip="near", lat=48.2, lon=2.0),  # 22.2 km
    ]
    gold = build(lake, settings, departures, [weather()])
    hourly = gold["punctuality_hourly"]
    assert one(hourly, line_id="L1", hour=at(), location_id=None)["departures"] == 2
    assert one(hourly, line_id="L1", hour=at(hours=1), location_id=None)["departures"] == 1
    assert one(hourly, line_id="L1", hour=at(), location_id="W1")["departures"] == 1
    unknown = one(gold["weather_impact"], line_id="*", period="all", weather_class="unknown")
    assert unknown["departures"] == 3
    assert gold["punctuality_hourly"]["departures"].sum() == 2 * 4  # per line + all lines


def test_distance_limit_setting(lake: Lake, tmp_path: Path) -> None:
    near = load_settings(state_dir=tmp_path / "state", max_weather_distance_km=20)
    gold = build(lake, near, [departure(trip="near", lat=48.2, lon=2.0)], [weather()])
    assert pd.isna(one(gold["punctuality_hourly"], line_id="L1")["location_id"])


def test_equidistant_locations_go_to_the_smallest_id(lake: Lake, settings: Settings) -> None:
    weathers = [
        weather(location="C", lat=0.1, lon=0.0),
        weather(location="B", lat=0.0, lon=0.1),
        weather(location="D", lat=0.0, lon=-0.1),
    ]
    gold = build(lake, settings, [departure(lat=0.0, lon=0.0)], weathers)
    assert one(gold["punctuality_hourly"], line_id="L1")["location_id"] == "B"


def test_haversine_is_rounded_to_the_metre() -> None:
    backend = connect("1GB")
    row = ibis.memtable({"a": [48.0], "b": [2.0], "c": [48.2], "d": [2.0]})
    expr = row.select(m=gold_expressions.haversine_m(row.a, row.b, row.c, row.d))
    expected = 2 * 6371.0088 * math.asin(math.sqrt(math.sin(math.radians(0.1)) ** 2)) * 1000
    assert backend.execute(expr)["m"][0] == round(expected)


def test_hours_and_months_are_utc_on_a_dst_day(
    lake: Lake, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        moments = [
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # 01:30 CET
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # 03:30 CEST: 02:xx never happened
            datetime(2026, 3, 31, 22, 30, tzinfo=UTC),  # already 1 April in Paris
        ]
        departures = [departure(trip=f"T{i}", scheduled=m) for i, m in enumerate(moments)]
        weathers = [weather(hour=m.replace(minute=0)) for m in moments]
        gold = build(lake, settings, departures, weathers)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    hours = sorted(gold["punctuality_hourly"].query("line_id == 'L1'")["hour"])
    assert hours == [m.replace(minute=0) for m in moments]
    assert set(gold["weather_impact"]["period"]) == {"all", "2026-03"}


def test_uplift_pct_is_null_under_a_30_s_dry_mean(lake: Lake, settings: Settings) -> None:
    departures = [
        departure(trip="a", line="L1", delay=20),
        departure(trip="b", line="L1", scheduled=at(hours=1), delay=50),
        departure(trip="c", line="L2", delay=40),
        departure(trip="d", line="L2", scheduled=at(hours=1), delay=50),
    ]
    weathers = [weather(precipitation=0.0), weather(hour=at(hours=1), precipitation=1.0)]
    impact = build(lake, settings, departures, weathers)["weather_impact"]
    l1 = one(impact, line_id="L1", period="all", weather_class="light_rain")
    assert l1["uplift_s"] == pytest.approx(30.0)
    assert pd.isna(l1["uplift_pct"])
    l2 = one(impact, line_id="L2", period="all", weather_class="light_rain")
    assert l2["uplift_s"] == pytest.approx(10.0)
    assert l2["uplift_pct"] == pytest.approx(25.0)
    both = one(impact, line_id="*", period="all", weather_class="light_rain")
    assert both["uplift_pct"] == pytest.approx(100 * 20 / 30)
    wet = one(impact, line_id="*", period="all", weather_class="wet")
    assert wet["mean_delay_s"] == pytest.approx(50.0)


def _lagged_case() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    precipitation = [0.0, 4.0, 1.0, 0.5, 6.0, 2.0, 0.0, 3.0, 9.0, 1.5]
    weathers = [weather(hour=at(hours=h), precipitation=p) for h, p in enumerate(precipitation)]
    departures = [
        departure(trip=f"T{h}", scheduled=at(hours=h), delay=int(10 * precipitation[h - 2] + 5))
        for h in range(3, 10)
    ]
    return departures, weathers


def test_lagged_correlation_and_regression(lake: Lake, settings: Settings) -> None:
    departures, weathers = _lagged_case()
    corr = build(lake, settings, departures, weathers)["correlation"]
    lag2 = one(corr, line_id="L1", period="all", variable="precipitation_mm", lag_h=2, y_kind="raw")
    assert lag2["n"] == 7
    assert lag2["pearson_r"] == pytest.approx(1.0)
    assert lag2["spearman_rho"] == pytest.approx(1.0)
    assert lag2["slope"] == pytest.approx(10.0)
    assert lag2["intercept"] == pytest.approx(5.0)
    assert lag2["p_value"] == pytest.approx(0.0, abs=1e-12)
    lag0 = one(corr, line_id="L1", period="all", variable="precipitation_mm", lag_h=0, y_kind="raw")
    assert lag0["n"] == 7
    assert lag0["pearson_r"] == pytest.approx(-0.7772075398, abs=1e-9)
    assert set(corr["lag_h"]) == {0, 1, 2, 3}
    assert set(corr["period"]) == {"all", "2026-03"}


def test_statistics_are_null_for_small_n_or_zero_variance(lake: Lake, settings: Settings) -> None:
    departures, weathers = _lagged_case()
    corr = build(lake, settings, departures[:3], weathers)["correlation"]
    small = one(
        corr, line_id="L1", period="all", variable="precipitation_mm", lag_h=2, y_kind="raw"
    )
    assert small["n"] == 3
    stats = ["pearson_r", "ci_low", "ci_high", "p_value", "spearman_rho", "slope", "intercept"]
    assert small[stats].isna().all()


def test_zero_variance_gives_null_statistics(lake: Lake, settings: Settings) -> None:
    departures, weathers = _lagged_case()
    corr = build(lake, settings, departures, weathers)["correlation"]
    constant = one(
        corr, line_id="L1", period="all", variable="temperature_c", lag_h=0, y_kind="raw"
    )
    assert constant["n"] == 7
    assert pd.isna(constant["pearson_r"])
    assert pd.isna(constant["slope"])


def test_anomaly_removes_the_weekday_hour_baseline() -> None:
    backend = connect("1GB")
    monday = datetime(2026, 3, 2, 8, tzinfo=UTC)
    cells = ibis.memtable(
        pd.DataFrame(
            {
                "network": ["n"] * 5,
                "line_id": ["L"] * 5,
                "location_id": ["W"] * 5,
                "hour": [
                    monday,
                    monday + timedelta(days=7),
                    monday + timedelta(hours=1),
                    monday + timedelta(days=1),
                    monday + timedelta(days=14),
                ],
                "mean_delay_s": [100.0, 140.0, 10.0, 50.0, None],
            }
        )
    )
    found = to_arrow(gold_expressions.correlation_cells(cells).order_by("hour")).to_pandas()
    assert len(found) == 4  # the cell without a non-cancelled departure has no y
    assert list(found["y_anomaly"]) == [-20.0, 0.0, 0.0, 20.0]
    del backend


def test_month_periods(lake: Lake, settings: Settings) -> None:
    april = datetime(2026, 4, 1, 0, tzinfo=UTC)
    departures = [
        departure(trip="m1", delay=10),
        departure(trip="m2", scheduled=at(hours=1), delay=20),
        departure(trip="a1", scheduled=april, delay=60),
    ]
    weathers = [weather(), weather(hour=at(hours=1)), weather(hour=april)]
    impact = build(lake, settings, departures, weathers)["weather_impact"]
    assert one(impact, line_id="*", period="2026-03", weather_class="dry")["departures"] == 2
    assert one(impact, line_id="*", period="2026-04", weather_class="dry")["departures"] == 1
    everything = one(impact, line_id="*", period="all", weather_class="dry")
    assert everything["departures"] == 3
    assert everything["mean_delay_s"] == pytest.approx(30.0)
