"""Good tables built by the real transform; the spoilers (one bad batch per rule) are in
`spoilers.py`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from umwi_core.lake import Lake
from umwi_core.settings import Settings
from umwi_quality._workspace import Workspace
from umwi_transform import build_gold, commit_batch, open_delta

from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    forecast_table,
    weather,
    weather_batch,
)

#: The engines' clock (`test_engines`): fixed, days after every record the factory makes.
NOW = datetime(2026, 3, 12, 12, tzinfo=UTC)
FUTURE = NOW + timedelta(days=3)
#: Silver's `ingested_at` as `read_tables` hands it to the engines.
INGESTED_AT = NOW - timedelta(hours=1)


def gate_clock() -> datetime:
    """The clock of a gate run on a lake the real transform filled (`test_gate`).

    The transform stamps `ingested_at` with the real clock and the publication its
    `published_at`, so the gate's clock is read when the gate runs: read once at import,
    it goes stale over a long suite and fresh rows then look ingested in the future.
    """
    return datetime.now(UTC)


def good_departures(day: int = 0, count: int = 12, delay: int = 30) -> list[dict[str, Any]]:
    return [
        departure(
            trip=f"T{day}-{i}",
            stop=f"S{i % 3}",
            line=f"L{i % 2}",
            scheduled=at(hours=24 * day + i % 4),
            delay=delay + 10 * i,
        )
        for i in range(count)
    ]


def good_weather(day: int = 0) -> list[dict[str, Any]]:
    return [weather(hour=at(hours=24 * day + h), precipitation=0.5 * (h % 3)) for h in range(5)]


def future_departures(count: int = 3) -> list[dict[str, Any]]:
    """Departures scheduled days ahead of `gate_clock()`: silver accepts them, the gate
    must not publish."""
    rows = good_departures(day=0, count=count)
    ahead = gate_clock() + timedelta(days=3)
    return [{**row, "scheduled_at": ahead, "trip_id": f"F{i}"} for i, row in enumerate(rows)]


def fill(
    lake: Lake, settings: Settings, days: range = range(1), extra: list[dict[str, Any]] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    """Commit good silver for `days` (plus `extra` departures) and build gold; returns the
    candidates."""
    for day in days:
        rows = good_departures(day) + (list(extra) if day == days[0] else [])
        commit_batch(departures_batch(rows), lake, settings, f"run-d{day}")
        commit_batch(weather_batch(good_weather(day)), lake, settings, f"run-w{day}")
    return build_gold(lake, settings, "run-b")


def fill_with_outlook(lake: Lake, settings: Settings) -> dict[str, Any]:
    """`fill`, then the same hours a week later in the rain and a forecast for that
    same Monday: every outlook table has rows (DESIGN.md §8)."""
    from umwi_transform import land_forecast

    fill(lake, settings)
    later = [{**row, "trip_id": f"W{row['trip_id']}", "scheduled_at": row["scheduled_at"]
              + timedelta(days=7)} for row in good_departures(0, delay=200)]  # fmt: skip
    rain = [{**row, "hour": row["hour"] + timedelta(days=7), "precipitation_mm": 1.5}
            for row in good_weather(0)]  # fmt: skip
    commit_batch(departures_batch(later), lake, settings, "run-later")
    commit_batch(weather_batch(rain), lake, settings, "run-rain")
    # Issued before the engines' clock `NOW`, for the rainy Monday's own hours.
    issued = at(hours=7 * 24 - 1)
    hours = [(at(hours=7 * 24 + h), 0.0 if h % 2 else 1.0) for h in range(4)]
    land_forecast(lake, forecast_table(issued, hours), "run-forecast")
    return build_gold(lake, settings, "run-b-outlook")


def read_tables(lake: Lake, candidates: dict[str, Any]) -> dict[str, pa.Table]:
    """Every checked view's data as the gate would see it (the whole silver tables), silver
    stamped as ingested at `INGESTED_AT` so the engines' fixed clock `NOW` fits it."""
    tables: dict[str, pa.Table] = {}
    for table in ("departures", "weather_hourly"):
        delta = open_delta(lake, "silver", table)
        assert delta is not None
        rows = delta.to_pyarrow_table()
        index = rows.schema.get_field_index("ingested_at")
        stamp = pa.array([INGESTED_AT] * rows.num_rows, rows.schema.field(index).type)
        tables[f"silver_{table}"] = rows.set_column(index, rows.schema.field(index), stamp)
    forecast = open_delta(lake, "silver", "weather_forecast")
    if forecast is not None:
        rows = forecast.to_pyarrow_table()
        index = rows.schema.get_field_index("ingested_at")
        stamp = pa.array([INGESTED_AT] * rows.num_rows, rows.schema.field(index).type)
        tables["silver_weather_forecast"] = rows.set_column(index, rows.schema.field(index), stamp)
    for table, candidate in candidates.items():
        delta = open_delta(lake, "gold", table, version=candidate.version)
        assert delta is not None
        tables[f"gold_{table}"] = delta.to_pyarrow_table()
    return tables


def workspace_of(
    tables: dict[str, pa.Table], whole: dict[str, pa.Table] | None = None
) -> Workspace:
    """A workspace whose views are these tables (silver also as `_all`, from `whole` when
    given, so a spoiled batch leaves the history the cross-table rules read alone; no
    quarantine)."""
    workspace = Workspace.open("1GB")
    for view, data in tables.items():
        workspace.register(view, data)
        if view.startswith("silver_"):
            workspace.register(f"{view}_all", (whole or tables)[view])
            rejects = pa.table(
                {
                    "source": pa.array([], pa.string()),
                    "ingested_at": pa.array([], pa.timestamp("us", tz="UTC")),
                }
            )
            workspace.register(view.replace("silver_", "quarantine_"), rejects)
    return workspace
