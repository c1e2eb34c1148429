"""Incremental gold is exact: after any sequence of batches, every gold table equals a
build from scratch of the same silver (issue 17)."""

from __future__ import annotations

import logging
import math
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from umwi_core._local_lake import LocalLake
from umwi_core.contracts import GOLD_CONTRACTS
from umwi_core.lake import Lake
from umwi_core.settings import Settings
from umwi_transform import build_gold, commit_batch, land_forecast, read_gold

from tests.packages.umwi_transform.factory import (
    departure,
    departures_batch,
    forecast_table,
    weather,
    weather_batch,
)

#: Floats agree to 1e-9 relative; values that are zero up to rounding, to 1e-12.
RELATIVE, ABSOLUTE = 1e-9, 1e-12
LOCATIONS = {"W1": (48.00, 2.00), "W2": (48.06, 2.08)}
NEW_LOCATION = ("W3", 48.03, 2.01)
OLD_DAY = date(2025, 11, 12)  # "last year": a month of its own, restated late
FIRST_DAY = date(2026, 1, 27)  # the days below cross a month end
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _weather(
    rng: np.random.Generator,
    days: list[date],
    locations: dict[str, tuple[float, float]],
    as_of: datetime = AS_OF,
) -> list[dict[str, Any]]:
    rows = []
    for location, (lat, lon) in locations.items():
        for day in days:
            for h in range(-3, 24):
                wet = rng.random() < 0.4
                rows.append(
                    weather(
                        location=location,
                        lat=lat,
                        lon=lon,
                        hour=_midnight(day) + timedelta(hours=h),
                        precipitation=None
                        if rng.random() < 0.03
                        else (float(np.round(rng.gamma(1.3, 2.0), 1)) if wet else 0.0),
                        snowfall=float(np.round(rng.random(), 1)) if rng.random() < 0.05 else 0.0,
                        temperature_c=float(np.round(rng.normal(5, 4), 1)),
                        wind_speed_kmh=float(np.round(rng.gamma(2, 6), 1)),
                        visibility_m=None
                        if rng.random() < 0.1
                        else float(rng.integers(1, 40) * 500),
                        as_of=as_of,
                    )
                )
    return rows


def _departures(
    rng: np.random.Generator, day: date, network: str = "n1", count: int = 160
) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        lat, lon = LOCATIONS["W1" if i % 3 else "W2"]
        cancelled = bool(rng.random() < 0.05)
        rows.append(
            departure(
                network=network,
                trip=f"{network}-{day}-{i}",
                stop=f"S{i % 5}",
                line=f"L{i % 3}",
                scheduled=_midnight(day) + timedelta(seconds=int(rng.integers(0, 86_400))),
                delay=None if cancelled else int(rng.normal(60, 90)),
                cancelled=cancelled,
                lat=lat + 0.002 * (i % 5),
                lon=lon,
                as_of=AS_OF,
            )
        )
    return rows


def _restated(rows: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, Any]]:
    """A later `as_of` for a third of the rows, with other delays (one now cancelled)."""
    out = []
    for index, row in enumerate(rows[::3]):
        cancelled = index == 0
        out.append(
            {
                **row,
                "delay_s": None if cancelled else int(rng.normal(200, 90)),
                "cancelled": cancelled,
                "as_of": AS_OF + timedelta(days=30),
            }
        )
    return out


def _from_scratch(lake: Lake, settings: Settings, folder: Path) -> dict[str, pa.Table]:
    """A fresh build of a copy of the lake's silver."""
    assert isinstance(lake, LocalLake)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(Path(lake.root) / "silver", folder / "silver")
    fresh = LocalLake(folder)
    candidates = build_gold(fresh, settings, "scratch")
    return {t: read_gold(fresh, t, c.version) for t, c in candidates.items()}


def _sorted(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    return table.sort_by([(column, "ascending") for column in key])


def _assert_equal_gold(lake: Lake, expected: dict[str, pa.Table]) -> None:
    for name, contract in GOLD_CONTRACTS.items():
        found = _sorted(read_gold(lake, name), contract.key)
        wanted = _sorted(expected[name], contract.key)
        # Every contract column by name: a column added to a contract is compared too.
        assert set(found.column_names) == set(contract.column_names), name
        assert found.num_rows == wanted.num_rows, (name, found.num_rows, wanted.num_rows)
        assert found.num_rows > 0, name
        for column in contract.columns:
            left = found.column(column.name).to_pylist()
            right = wanted.column(column.name).to_pylist()
            assert [v is None for v in left] == [v is None for v in right], (name, column.name)
            if column.type == "float64":
                bad = [
                    (index, a, b)
                    for index, (a, b) in enumerate(zip(left, right, strict=True))
                    if a is not None
                    and b is not None
                    and not math.isclose(a, b, rel_tol=RELATIVE, abs_tol=ABSOLUTE)
                ]
                assert not bad, (name, column.name, bad[:5])
            else:
                assert left == right, (name, column.name)


def _build(lake: Lake, settings: Settings, caplog: pytest.LogCaptureFixture) -> str:
    """Build and say how: `full` or `N ranges`."""
    caplog.clear()
    build_gold(lake, settings, "b")
    kinds = [r.getMessage() for r in caplog.records if r.getMessage().startswith("gold: ")]
    assert kinds, "the build logged no kind"
    return kinds[-1].split(" build")[0].removeprefix("gold: ")


@pytest.mark.slow
def test_incremental_gold_equals_a_rebuild_from_scratch(
    lake: Lake, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Batches: days in order and out of order, last year's day and a recent day
    restated, a new network, a restated 23:00 weather hour, a new weather location; each
    built incrementally except the new location, then compared with a build from scratch.

    Mutation: `_with_next_days` returning `found` alone leaves the next day's cells with
    the old lagged x of the restated 23:00 hour, and `correlation` differs: red."""
    caplog.set_level(logging.INFO, logger="umwi.transform")
    rng = np.random.default_rng(17)
    days = [FIRST_DAY + timedelta(days=i) for i in range(12)]
    commit_batch(weather_batch(_weather(rng, [OLD_DAY, *days], LOCATIONS)), lake, settings, "w")
    # The 48 h after the history, at both locations: the outlook reads them (issue 20).
    issued = _midnight(days[-1] + timedelta(days=1))
    for location in LOCATIONS:
        hours = [
            (issued + timedelta(hours=h), float(rng.choice([0.0, 0.0, 1.2, 4.0])))
            for h in range(48)
        ]
        land_forecast(lake, forecast_table(issued, hours, location), "forecast")
    old = _departures(rng, OLD_DAY)
    first = [row for day in days[:4] for row in _departures(rng, day)]
    commit_batch(departures_batch(old + first), lake, settings, "d0")
    assert _build(lake, settings, caplog) == "full"

    steps: list[tuple[str, list[dict[str, Any]], str]] = [
        ("a new day, in order", _departures(rng, days[4]), "departures"),
        ("a day out of order", _departures(rng, days[9]), "departures"),
        ("the gap filled", _departures(rng, days[7]), "departures"),
        ("last year's day restated", _restated(old, rng), "departures"),
        ("a recent day restated", _restated(first[:160], rng), "departures"),
        ("a new network", _departures(rng, days[6], network="n2", count=90), "departures"),
    ]
    for label, rows, table in steps:
        batch = departures_batch(rows) if table == "departures" else weather_batch(rows)
        commit_batch(batch, lake, settings, label)
        assert _build(lake, settings, caplog).endswith("ranges"), label
    # A restated weather hour at 23:00: its lags reach the next day's first hours.
    late = _midnight(days[2]) + timedelta(hours=23)
    fix = weather(location="W1", lat=48.0, lon=2.0, hour=late, precipitation=9.5)
    commit_batch(
        weather_batch([{**fix, "temperature_c": -3.0, "as_of": AS_OF + timedelta(days=9)}]),
        lake,
        settings,
        "weather fix",
    )
    assert _build(lake, settings, caplog).endswith("ranges")
    _assert_equal_gold(lake, _from_scratch(lake, settings, tmp_path / "scratch-1"))

    # A new weather location: every stop may move, so the build starts over (and stays exact).
    name, lat, lon = NEW_LOCATION
    commit_batch(weather_batch(_weather(rng, days, {name: (lat, lon)})), lake, settings, "w3")
    assert _build(lake, settings, caplog) == "full"
    commit_batch(departures_batch(_departures(rng, days[10])), lake, settings, "after")
    assert _build(lake, settings, caplog).endswith("ranges")
    _assert_equal_gold(lake, _from_scratch(lake, settings, tmp_path / "scratch-2"))
