"""Incremental gold builds: no-op without input, only affected rows otherwise."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from umwi_core.contracts import GOLD_CONTRACTS
from umwi_core.lake import Lake
from umwi_core.publication import GOLD_TABLES
from umwi_core.resources import make_lake
from umwi_core.settings import Settings, load_settings
from umwi_transform import _gold as gold_module
from umwi_transform import build_gold, commit_batch, open_delta, read_gold

from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    weather,
    weather_batch,
)

KEYS = {name: list(contract.key) for name, contract in GOLD_CONTRACTS.items()}


def _day(day: int, line: str = "L1") -> list[dict[str, Any]]:
    base = at(hours=24 * day)
    return [
        departure(
            trip=f"{line}-{day}-{h}",
            line=line,
            scheduled=base + timedelta(hours=h),
            delay=7 * h + day,
        )
        for h in range(6)
    ]


def _weather(days: range, location: str = "W1", lat: float = 48.01) -> list[dict[str, Any]]:
    return [
        weather(location=location, lat=lat, hour=at(hours=h), precipitation=float(h % 5))
        for h in range(-3, 24 * days.stop)
    ]


def _table(lake: Lake, table: str) -> pd.DataFrame:
    frame = read_gold(lake, table).to_pandas()
    frame["location_id"] = frame.get("location_id", pd.Series(dtype=object))
    return frame.sort_values(KEYS[table]).reset_index(drop=True)


def _versions(lake: Lake) -> dict[str, int]:
    return {t: open_delta(lake, "gold", t).version() for t in GOLD_TABLES}  # type: ignore[union-attr]


def _fresh(tmp_path: Path, name: str, settings: Settings | None = None) -> tuple[Lake, Settings]:
    fresh = settings or load_settings(state_dir=tmp_path / name)
    if settings is not None:
        fresh = load_settings(
            state_dir=tmp_path / name,
            **{
                k: getattr(settings, k)
                for k in ("on_time_threshold_s", "early_tolerance_s", "max_weather_distance_km")
            },
        )
    return make_lake(fresh), fresh


def _assert_same_gold(lake: Lake, other: Lake) -> None:
    for table in GOLD_TABLES:
        pd.testing.assert_frame_equal(_table(lake, table), _table(other, table), check_like=True)


def test_build_without_new_input_is_a_no_op(lake: Lake, settings: Settings) -> None:
    commit_batch(departures_batch(_day(0)), lake, settings, "r1")
    commit_batch(weather_batch(_weather(range(1))), lake, settings, "r1")
    first = build_gold(lake, settings, "b1")
    assert all(c.changed for c in first.values())
    state = lake.read_bytes("gold/_build_state.json")
    second = build_gold(lake, settings, "b2")
    assert {t: c.version for t, c in second.items()} == {t: c.version for t, c in first.items()}
    assert not any(c.changed for c in second.values())
    assert {t: c.updated_at for t, c in second.items()} == {
        t: c.updated_at for t, c in first.items()
    }
    assert _versions(lake) == {t: c.version for t, c in first.items()}
    assert lake.read_bytes("gold/_build_state.json") == state
    # Re-ingesting the same input changes no silver row, so gold stays put too.
    commit_batch(departures_batch(_day(0)), lake, settings, "r2")
    assert not any(c.changed for c in build_gold(lake, settings, "b3").values())


@pytest.mark.slow
def test_new_day_rebuilds_only_its_rows(lake: Lake, settings: Settings, tmp_path: Path) -> None:
    commit_batch(weather_batch(_weather(range(3))), lake, settings, "r1")
    commit_batch(departures_batch(_day(0) + _day(1)), lake, settings, "r1")
    build_gold(lake, settings, "b1")
    before = _table(lake, "punctuality_hourly")
    commit_batch(departures_batch(_day(2) + _day(2, line="L2")), lake, settings, "r2")
    candidates = build_gold(lake, settings, "b2")
    assert all(c.changed for c in candidates.values())
    history = open_delta(lake, "gold", "punctuality_hourly").history(1)[0]  # type: ignore[union-attr]
    predicate = history["operationParameters"]["predicate"]
    assert "2026-03-04T00:00:00" in predicate  # day 2 only
    assert "2026-03-02" not in predicate
    assert "2026-03-03" not in predicate
    after = _table(lake, "punctuality_hourly")
    untouched = after[after["hour"] < at(hours=48)].reset_index(drop=True)
    pd.testing.assert_frame_equal(untouched, before)
    # The incremental result is exactly what a build from scratch gives.
    other, other_settings = _fresh(tmp_path, "fresh")
    commit_batch(weather_batch(_weather(range(3))), other, other_settings, "x")
    commit_batch(
        departures_batch(_day(0) + _day(1) + _day(2) + _day(2, line="L2")),
        other,
        other_settings,
        "x",
    )
    build_gold(other, other_settings, "x")
    _assert_same_gold(lake, other)


@pytest.mark.slow
def test_changed_weather_hour_updates_its_rows(
    lake: Lake, settings: Settings, tmp_path: Path
) -> None:
    commit_batch(weather_batch(_weather(range(2))), lake, settings, "r1")
    commit_batch(departures_batch(_day(0) + _day(1)), lake, settings, "r1")
    build_gold(lake, settings, "b1")
    fix = weather(hour=at(hours=26), precipitation=30.0, as_of=at(hours=500))
    commit_batch(weather_batch([fix]), lake, settings, "r2")
    build_gold(lake, settings, "b2")
    row = _table(lake, "mobility_weather_hourly").query("hour == @at(hours=26) and line_id == '*'")
    assert list(row["weather_class"]) == ["heavy_rain"]
    other, other_settings = _fresh(tmp_path, "fresh")
    commit_batch(weather_batch([*_weather(range(2)), fix]), other, other_settings, "x")
    commit_batch(departures_batch(_day(0) + _day(1)), other, other_settings, "x")
    build_gold(other, other_settings, "x")
    _assert_same_gold(lake, other)


@pytest.mark.slow
def test_new_location_or_settings_rebuild_everything(
    lake: Lake, settings: Settings, tmp_path: Path
) -> None:
    commit_batch(weather_batch(_weather(range(2))), lake, settings, "r1")
    commit_batch(departures_batch(_day(0) + _day(1)), lake, settings, "r1")
    build_gold(lake, settings, "b1")
    # A closer location appears: every departure may move to it, on every day.
    closer = _weather(range(2), location="W0", lat=48.0)
    commit_batch(weather_batch(closer), lake, settings, "r2")
    build_gold(lake, settings, "b2")
    assert set(_table(lake, "mobility_weather_hourly")["location_id"]) == {"W0"}
    strict = load_settings(state_dir=tmp_path / "state", on_time_threshold_s=10)
    candidates = build_gold(lake, strict, "b3")
    assert all(c.changed for c in candidates.values())
    other, other_settings = _fresh(tmp_path, "fresh", strict)
    commit_batch(weather_batch(_weather(range(2)) + closer), other, other_settings, "x")
    commit_batch(departures_batch(_day(0) + _day(1)), other, other_settings, "x")
    build_gold(other, other_settings, "x")
    _assert_same_gold(lake, other)


def test_empty_lake_builds_empty_tables(lake: Lake, settings: Settings) -> None:
    candidates = build_gold(lake, settings, "b1")
    assert {t: c.rows for t, c in candidates.items()} == dict.fromkeys(GOLD_TABLES, 0)
    assert not any(c.changed for c in build_gold(lake, settings, "b2").values())


def test_hourly_window(lake: Lake, settings: Settings) -> None:
    commit_batch(weather_batch(_weather(range(1))), lake, settings, "r1")
    commit_batch(departures_batch(_day(0)), lake, settings, "r1")
    build_gold(lake, settings, "b1")
    window = read_gold(lake, "punctuality_hourly", start=at(hours=1), end=at(hours=3))
    assert sorted(set(window.column("hour").to_pylist())) == [at(hours=1), at(hours=2)]


def test_correlation_in_chunks_of_lines_equals_one_pass(
    lake: Lake, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass takes a few lines at a time; one line per chunk gives the same table.

    Mutation: `_line_chunks` forgetting the last chunk drops its lines' rows: red."""
    rows = _day(0) + _day(0, line="L2") + _day(1) + _day(1, line="L3")
    commit_batch(weather_batch(_weather(range(2))), lake, settings, "r1")
    commit_batch(departures_batch(rows), lake, settings, "r1")
    build_gold(lake, settings, "b1")
    monkeypatch.setattr(gold_module, "CHUNK_CELLS", 1)
    other, other_settings = _fresh(tmp_path, "chunked")
    commit_batch(weather_batch(_weather(range(2))), other, other_settings, "x")
    commit_batch(departures_batch(rows), other, other_settings, "x")
    build_gold(other, other_settings, "x")
    chunked = _table(other, "correlation")
    assert set(chunked["line_id"]) == {"*", "L1", "L2", "L3"}
    pd.testing.assert_frame_equal(_table(lake, "correlation"), chunked, check_like=True)
