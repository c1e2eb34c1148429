"""Daily rows of `mobility_weather_hourly` (`grain=day`): the hourly rows aggregated as
DESIGN.md §7 says, checked against an independent pandas/numpy computation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from umwi_api._daily import MOBILITY_WEATHER_DAILY
from umwi_api.queries import GoldReader, KpiFilters, QueryError
from umwi_core.contracts import MOBILITY_WEATHER_HOURLY
from umwi_core.publication import Publication
from umwi_core.resources import build_resources
from umwi_core.settings import Settings

KEY = ["network", "line_id", "location_id", "day"]
ORDER = ["network", "line_id", "day", "location_id"]


def _all_rows(reader: GoldReader, filters: KpiFilters, grain: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = reader.page("hourly", filters, grain=grain, limit=500, offset=len(rows))
        rows += page.rows
        if len(rows) >= page.total:
            return rows


def _weighted(values: pd.Series, weights: pd.Series) -> float | None:
    known = values.notna() & (weights > 0)
    if not known.any():
        return None
    return float(np.average(values[known], weights=weights[known]))


def _expected_days(hourly: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each day's figures from its hourly rows: the hourly rates and mean delays averaged
    with departure weights (not the SQL's sums over sums), weather summed or averaged."""
    frame = pd.DataFrame(hourly)
    frame["day"] = pd.to_datetime(frame["hour"]).dt.strftime("%Y-%m-%dT00:00:00Z")
    expected = []
    for key, day in frame.groupby(KEY, sort=True):
        kept = day["departures"] - day["cancelled"]
        wet = (day["precipitation_mm"] > 0) | (day["snowfall_cm"] > 0)
        expected.append(
            dict(zip(KEY, key, strict=True))
            | {
                "hours": len(day),
                "departures": int(day["departures"].sum()),
                "cancelled": int(day["cancelled"].sum()),
                "on_time": int(day["on_time"].sum()),
                "cancellation_rate": _weighted(
                    day["cancelled"] / day["departures"], day["departures"]
                ),
                "on_time_rate": _weighted(day["on_time"] / kept.where(kept > 0), kept),
                "reliability_rate": _weighted(
                    day["on_time"] / day["departures"], day["departures"]
                ),
                "mean_delay_s": _weighted(day["mean_delay_s"], kept),
                "latitude": day["latitude"].iloc[0],
                "longitude": day["longitude"].iloc[0],
                "temperature_c": day["temperature_c"].mean(),
                "temperature_min_c": day["temperature_c"].min(),
                "temperature_max_c": day["temperature_c"].max(),
                "precipitation_mm": day["precipitation_mm"].sum(),
                "rain_mm": day["rain_mm"].sum(),
                "snowfall_cm": day["snowfall_cm"].sum(),
                "wind_speed_kmh": day["wind_speed_kmh"].mean(),
                "wind_speed_max_kmh": day["wind_speed_kmh"].max(),
                "weather_code": int(day["weather_code"].max()),
                "visibility_m": day["visibility_m"].mean(),
                "visibility_min_m": day["visibility_m"].min(),
                "wet_hours": int(wet.sum()),
            }
        )
    # The API's row order: the table's order with the day for the hour.
    return sorted(expected, key=lambda row: [row[k] for k in ORDER])


def _assert_rows_equal(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert [[row[k] for k in ORDER] for row in got] == [[row[k] for k in ORDER] for row in expected]
    for row, wanted in zip(got, expected, strict=True):
        assert list(row) == list(MOBILITY_WEATHER_DAILY.column_names)
        for name, value in wanted.items():
            if isinstance(value, str) or value is None:
                assert row[name] == value, (row["day"], name)
            else:
                assert row[name] == pytest.approx(value, rel=1e-12), (row["day"], name)


def test_daily_rows_equal_the_hourly_rows_aggregated(settings: Settings, gold: Publication) -> None:
    """Mutations: weight mean_delay_s by departures instead of departures − cancelled, or
    average precipitation instead of summing it, in `_daily.py` → red."""
    reader = GoldReader(build_resources(settings))
    hourly = _all_rows(reader, KpiFilters(), "hour")
    daily = _all_rows(reader, KpiFilters(), "day")
    # The sample has cancelled departures and wet hours, so the weighting and sums matter.
    assert sum(row["cancelled"] for row in hourly) > 0
    assert any(row["precipitation_mm"] > 0 for row in hourly)
    assert len(daily) == 3 * 2 * 14  # lines (L1, L2, *) × locations × days
    _assert_rows_equal(daily, _expected_days(hourly))


def test_start_and_end_bound_the_hours_of_each_day(settings: Settings, gold: Publication) -> None:
    """A day cut by start/end is aggregated over its hours in range only.

    Mutation: apply the filters after grouping (on the day) → the first day has 24 hours, red.
    """
    reader = GoldReader(build_resources(settings))
    filters = KpiFilters(
        line_id="L1",
        start=datetime(2024, 3, 26, 5, tzinfo=UTC),
        end=datetime(2024, 3, 28, 13, tzinfo=UTC),
    )
    daily = _all_rows(reader, filters, "day")
    assert [row["hours"] for row in daily] == [19, 19, 24, 24, 13, 13]
    _assert_rows_equal(daily, _expected_days(_all_rows(reader, filters, "hour")))


def test_grain_is_checked_by_the_query_layer(settings: Settings, gold: Publication) -> None:
    reader = GoldReader(build_resources(settings))
    with pytest.raises(QueryError, match=r"^grain: 'week' is not one of hour, day") as caught:
        reader.page("hourly", KpiFilters(), grain="week")
    assert caught.value.parameter == "grain"
    with pytest.raises(QueryError, match=r"^grain: day applies to hourly only"):
        reader.page("weather-impact", KpiFilters(), grain="day")


def test_hourly_and_daily_pages_are_cached_apart(settings: Settings, gold: Publication) -> None:
    reader = GoldReader(build_resources(settings))
    hour = reader.page("hourly", KpiFilters(line_id="*"), limit=5)
    day = reader.page("hourly", KpiFilters(line_id="*"), grain="day", limit=5)
    assert "day" in day.rows[0]
    assert "hour" in hour.rows[0]
    assert reader.page("hourly", KpiFilters(line_id="*"), limit=5).body == hour.body


def test_daily_columns_keep_the_hourly_contract_where_their_meaning_is_the_same() -> None:
    """Identity and location columns are the gold contract's own; the key is the hourly
    key with the day for the hour."""
    for name in ("network", "line_id", "location_id", "latitude", "longitude"):
        assert MOBILITY_WEATHER_DAILY.column(name) == MOBILITY_WEATHER_HOURLY.column(name)
    assert MOBILITY_WEATHER_DAILY.key == ("network", "line_id", "location_id", "day")
    for name in ("departures", "precipitation_mm", "weather_code"):
        daily, hourly = MOBILITY_WEATHER_DAILY.column(name), MOBILITY_WEATHER_HOURLY.column(name)
        assert (daily.type, daily.nullable) == (hourly.type, hourly.nullable)
