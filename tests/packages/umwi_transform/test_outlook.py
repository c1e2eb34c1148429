"""The outlook's model and `outlook_hourly` on a case small enough to compute by hand
(DESIGN.md §8). T0 is Monday 08:00 UTC; every departure is at stop S1 next to W1."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.settings import Settings
from umwi_transform import build_gold, land_forecast, read_gold
from umwi_transform._outlook import Z_95

from tests.packages.umwi_transform.factory import (
    at,
    build,
    departure,
    forecast_table,
    one,
    weather,
)

WEEK = 24 * 7
Z = Z_95


def _hour(week: int, hours: float = 0) -> datetime:
    return at(hours=WEEK * week + hours)


def _history() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Monday 08:00, weeks 0–2 dry, weeks 3–4 light rain; Tuesday 08:00 weeks 0–1 dry."""
    departures = []
    for week, (l1, l2) in enumerate([(60, 0), (120, 0), (180, 30), (400, 130), (240, None)]):
        departures.append(departure(trip=f"a{week}", line="L1", scheduled=_hour(week), delay=l1))
        if l2 is not None:
            departures.append(
                departure(trip=f"b{week}", line="L2", scheduled=_hour(week), delay=l2)
            )
    for week, delay in enumerate([30, 50]):
        departures.append(
            departure(trip=f"c{week}", line="L1", scheduled=_hour(week, 24), delay=delay)
        )
    weathers = [weather(hour=_hour(w), precipitation=1.0 if w >= 3 else 0.0) for w in range(5)]
    weathers += [weather(hour=_hour(w, 24)) for w in range(2)]
    return departures, weathers


@pytest.fixture
def gold(lake: Lake, settings: Settings) -> dict[str, Any]:
    issued = _hour(5, -0.5)  # Monday 07:30 of week 5: the outlook runs 07:00 + 48 h
    land_forecast(
        lake,
        forecast_table(
            issued,
            [
                (_hour(5, -1), 0.0),  # 07:00: no line runs then, so no row
                (_hour(5), 2.0),  # Monday 08:00: light rain
                (_hour(5, 24), 0.0),  # Tuesday 08:00: dry
                (_hour(5, 48), 5.0),  # Wednesday 08:00: beyond the 48 h
            ],
        ),
        "f1",
    )
    # An older issue of the same location: the latest one wins.
    land_forecast(lake, forecast_table(issued - timedelta(hours=2), [(_hour(5), 0.0)]), "f0")
    departures, weathers = _history()
    shrunk = settings.model_copy(update={"outlook_shrinkage_hours": 2.0})
    return build(lake, shrunk, departures, weathers)


def test_the_dry_baseline_is_the_mean_and_sd_over_dry_hours_of_the_slot(
    gold: dict[str, Any],
) -> None:
    """Mutation: drop the `weather_class == "dry"` filter in `outlook_baseline` → the rainy
    weeks join the slot's mean: red."""
    base = gold["outlook_baseline"]
    l1 = one(base, line_id="L1", weekday=1, hour_of_day=8)
    assert l1.hours == 3
    assert l1.mean_delay_s == pytest.approx(120.0)
    assert l1.mean_delay_sd_s == pytest.approx(60.0)
    assert l1.on_time_rate == 1.0
    assert l1.on_time_rate_sd == 0.0
    l2 = one(base, line_id="L2", weekday=1, hour_of_day=8)
    assert l2.mean_delay_s == pytest.approx(10.0)
    assert l2.mean_delay_sd_s == pytest.approx(math.sqrt(300.0))
    # All lines: the hours' means 30, 60, 105.
    every = one(base, line_id="*", weekday=1, hour_of_day=8)
    assert every.mean_delay_s == pytest.approx(65.0)
    assert every.mean_delay_sd_s == pytest.approx(math.sqrt(1425.0))
    tuesday = one(base, line_id="L1", weekday=2, hour_of_day=8)
    assert (tuesday.hours, tuesday.mean_delay_s) == (2, pytest.approx(40.0))
    assert len(base) == 5


def test_class_effects_shrink_towards_the_all_lines_uplift(gold: dict[str, Any]) -> None:
    """k = 2. All lines: anomalies 265 − 65 = 200 and 240 − 65 = 175. L1: 400 − 120 = 280
    and 240 − 120 = 120, weight 2/4. L2: one hour, 130 − 10 = 120, weight 1/3.

    Mutation: `weight` = 1 for every line (no shrinkage) → L2's uplift is 120: red."""
    effects = gold["outlook_class_effect"]
    assert set(effects.weather_class) == {"light_rain"}
    every = one(effects, line_id="*")
    assert (every.hours, every.weight) == (2, 1.0)
    assert every.mean_delay_uplift_raw_s == pytest.approx(187.5)
    assert every.mean_delay_uplift_s == pytest.approx(187.5)
    assert every.mean_delay_uplift_se_s == pytest.approx(math.sqrt(312.5 / 2))
    l1 = one(effects, line_id="L1")
    assert (l1.hours, l1.weight) == (2, 0.5)
    assert l1.mean_delay_uplift_raw_s == pytest.approx(200.0)
    assert l1.mean_delay_uplift_s == pytest.approx(0.5 * 200 + 0.5 * 187.5)
    assert l1.mean_delay_uplift_se_s == pytest.approx(
        math.sqrt(0.25 * 12_800 / 2 + 0.25 * 312.5 / 2)
    )
    # On time: L1's rainy hours were 0 and 1 (400 s is late); all lines 0.5 and 1.
    assert l1.on_time_rate_uplift_raw == pytest.approx(-0.5)
    assert l1.on_time_rate_uplift == pytest.approx(0.5 * -0.5 + 0.5 * -0.25)
    assert l1.on_time_rate_uplift_se == pytest.approx(math.sqrt(0.25 * 0.5 / 2 + 0.25 * 0.125 / 2))
    l2 = one(effects, line_id="L2")
    assert (l2.hours, l2.weight) == (1, pytest.approx(1 / 3))
    assert l2.mean_delay_uplift_s == pytest.approx(120 / 3 + 2 / 3 * 187.5)
    # One own hour has no variance: the all-lines variance stands in for it.
    assert l2.mean_delay_uplift_se_s == pytest.approx(
        math.sqrt((1 / 9) * 312.5 / 1 + (4 / 9) * 312.5 / 2)
    )
    assert l2.reliability_rate_uplift == pytest.approx(2 / 3 * -0.25)


def test_outlook_hours_add_the_class_uplift_to_the_slot_baseline(gold: dict[str, Any]) -> None:
    """Mutation: `uplift = dry.ifelse(0.0, …)` → `rows[…]` alone makes the dry Tuesday hour
    null (there is no `dry` effect row): red."""
    outlook = gold["outlook_hourly"]
    issued = pd_stamp(_hour(5, -0.5))
    assert set(outlook.issued_at) == {issued}
    assert len(outlook) == 5  # L1, L2 and * on Monday 08:00; L1 and * on Tuesday 08:00
    monday = pd_stamp(_hour(5))
    l1 = one(outlook, line_id="L1", hour=monday)
    assert l1.weather_class == "light_rain"
    assert l1.precipitation_mm == 2.0
    assert (l1.baseline_hours, l1.class_hours) == (3, 2)
    assert l1.baseline_mean_delay_s == pytest.approx(120.0)
    assert l1.uplift_s == pytest.approx(193.75)
    assert l1.expected_mean_delay_s == pytest.approx(313.75)
    half = Z * math.sqrt(60.0**2 / 3 + 0.25 * 12_800 / 2 + 0.25 * 312.5 / 2)
    assert l1.mean_delay_low_s == pytest.approx(313.75 - half)
    assert l1.mean_delay_high_s == pytest.approx(313.75 + half)
    assert l1.expected_on_time_rate == pytest.approx(0.625)
    on_time_half = Z * math.sqrt(0.0 + 0.25 * 0.5 / 2 + 0.25 * 0.125 / 2)
    assert l1.on_time_rate_low == pytest.approx(0.625 - on_time_half)
    assert l1.on_time_rate_high == 1.0  # clipped
    tuesday = one(outlook, line_id="L1", hour=pd_stamp(_hour(5, 24)))
    assert tuesday.weather_class == "dry"
    assert tuesday.uplift_s == 0.0
    assert math.isnan(tuesday.class_hours)
    assert tuesday.expected_mean_delay_s == pytest.approx(40.0)
    assert tuesday.mean_delay_high_s == pytest.approx(40.0 + Z * math.sqrt(200.0 / 2))


def pd_stamp(moment: datetime) -> Any:
    import pandas as pd

    return pd.Timestamp(moment)


def test_a_new_forecast_rebuilds_only_the_outlook(lake: Lake, settings: Settings) -> None:
    """Mutation: `refresh_outlook` returning the current table whatever the forecast version
    leaves the old issue in `outlook_hourly`: red."""
    departures, weathers = _history()
    first = build(lake, settings, departures, weathers)
    assert len(first["outlook_hourly"]) == 0
    before = build_gold(lake, settings, "again")
    land_forecast(lake, forecast_table(_hour(5, -0.5), [(_hour(5), 0.0)]), "f")
    after = build_gold(lake, settings, "with forecast")
    for table in ("punctuality_hourly", "correlation", "outlook_baseline"):
        assert after[table].version == before[table].version
        assert not after[table].changed
    assert after["outlook_hourly"].changed
    rows = read_gold(lake, "outlook_hourly", after["outlook_hourly"].version)
    assert rows.num_rows == 3  # L1, L2 and * run on Monday 08:00


def test_an_impossible_forecast_value_is_refused_naming_it(lake: Lake) -> None:
    """Mutation: skip `_validate` → the negative amount lands: red."""
    bad = forecast_table(_hour(5), [(_hour(5), -1.0)])
    with pytest.raises(InputError, match=r"precipitation_mm = -1.0 at W1 .* not negative"):
        land_forecast(lake, bad, "bad")


def test_landing_the_same_forecast_again_changes_nothing(lake: Lake) -> None:
    """Mutation: drop the `_already_landed` check → a second version: red."""
    table = forecast_table(_hour(5, -0.5), [(_hour(5), 1.0), (_hour(5, 1), 0.0)])
    first = land_forecast(lake, table, "f1")
    assert land_forecast(lake, table, "f2") == first
    changed = forecast_table(_hour(5, -0.5), [(_hour(5), 2.0), (_hour(5, 1), 0.0)])
    assert land_forecast(lake, changed, "f3") == first + 1
