"""`backtest`: rolling origin, observed weather as a perfect forecast, MAE against the
naive weekday-hour mean (DESIGN.md §8)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from umwi_connectors import generate_sample
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.settings import Settings
from umwi_transform import backtest, build_gold, ingest_batches, publish_gold

from tests.packages.umwi_transform.factory import T0, at, build, departure, weather

WEEK = 24 * 7


def _publish(lake: Lake, settings: Settings) -> None:
    candidates = build_gold(lake, settings, "b")
    publish_gold(lake, candidates, run_id="b", gate={}, quality_report=None)


def test_each_day_is_predicted_from_the_days_before_it_only(lake: Lake, settings: Settings) -> None:
    """Mondays 08:00 on L1: dry 60 s and 120 s (weeks 0, 1), light rain 300 s (week 2) and
    280 s (week 3). Week 3 from weeks 0-2: dry baseline 90 + rain uplift 300 − 90 = 210 →
    300, error 20; naive mean (60 + 120 + 300) / 3 = 160, error 120. Week 2 from weeks
    0-1 has no rain uplift yet, so it is not scored.

    Mutation: fit on `mobility.hour < high` (the day itself included) → week 2 is scored
    too and the errors change: red."""
    delays = [60, 120, 300, 280]
    build(
        lake,
        settings,
        [
            departure(trip=f"t{w}", scheduled=at(hours=WEEK * w), delay=d)
            for w, d in enumerate(delays)
        ],
        [weather(hour=at(hours=WEEK * w), precipitation=1.0 if w >= 2 else 0.0) for w in range(4)],
    )
    _publish(lake, settings)
    monday = T0.date()
    found = backtest(lake, settings, monday + timedelta(days=14), monday + timedelta(days=22))
    rows = {row["line_id"]: row for row in found.to_pylist()}
    assert set(rows) == {"*", "L1"}
    for row in rows.values():
        assert row["hours"] == 1
        assert row["model_mae_s"] == pytest.approx(20.0)
        assert row["naive_mae_s"] == pytest.approx(120.0)
        assert row["improvement_pct"] == pytest.approx(100 * (1 - 20 / 120))


def test_a_backtest_refuses_an_empty_range_and_an_unpublished_lake(
    lake: Lake, settings: Settings
) -> None:
    """Mutation: drop the `end <= start` check → the first call reaches the lake: red."""
    day = date(2026, 3, 2)
    with pytest.raises(InputError, match="--end 2026-03-02 must be after --start 2026-03-02"):
        backtest(lake, settings, day, day)
    with pytest.raises(InputError, match="nothing published yet"):
        backtest(lake, settings, day, day + timedelta(days=1))


@pytest.mark.slow
def test_the_model_beats_the_naive_baseline_on_the_sample_city(
    lake: Lake, settings: Settings
) -> None:
    """The sample city's injected effect (delay grows per mm of rain) is what the outlook
    models and the weekday-hour mean ignores.

    Mutation: `expected = rows[m] + uplift` → `rows[m]` (no weather) in `outlook_hourly` →
    the model is the dry-only mean, which ties the naive mean on these days: red."""
    start = date(2026, 1, 5)
    batches = generate_sample(lake=lake, run_id="s", start=start, days=14)
    ingest_batches(batches, lake, settings, "s", source="sample", parameters={})
    _publish(lake, settings)
    found = backtest(lake, settings, start + timedelta(days=9), start + timedelta(days=14))
    rows = found.to_pylist()
    assert {row["line_id"] for row in rows} >= {"*", "B1", "T1", "M1", "R1"}
    for row in rows:
        assert row["hours"] > 50, row
        assert row["model_mae_s"] < row["naive_mae_s"], row
