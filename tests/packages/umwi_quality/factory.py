"""Good tables built by the real transform, and crafted bad copies that trip every check."""

from __future__ import annotations

from collections.abc import Callable
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
    for table, candidate in candidates.items():
        delta = open_delta(lake, "gold", table, version=candidate.version)
        assert delta is not None
        tables[f"gold_{table}"] = delta.to_pyarrow_table()
    return tables


def workspace_of(tables: dict[str, pa.Table]) -> Workspace:
    """A workspace whose views are these tables (silver also as `_all`, no quarantine)."""
    workspace = Workspace.open("1GB")
    for view, data in tables.items():
        workspace.register(view, data)
        if view.startswith("silver_"):
            workspace.register(f"{view}_all", data)
            rejects = pa.table(
                {
                    "source": pa.array([], pa.string()),
                    "ingested_at": pa.array([], pa.timestamp("us", tz="UTC")),
                }
            )
            workspace.register(view.replace("silver_", "quarantine_"), rejects)
    return workspace


Row = dict[str, Any]
Mutation = Callable[[Row], Row]


def _set(**values: Any) -> Mutation:
    return lambda row: {**row, **values}


def _spoil(
    table: pa.Table,
    mutations: list[Mutation],
    *,
    nulls: tuple[str, ...],
    retype: tuple[str, pa.DataType],
) -> pa.Table:
    """The good rows, a duplicate of the first, one row per mutation, one row per column
    in `nulls` set to null; then one column cast to a wrong type and an extra column."""
    rows = table.to_pylist()
    first = rows[0]
    rows += [dict(first)]
    rows += [mutate(dict(first)) for mutate in mutations]
    rows += [{**first, column: None} for column in nulls]
    schema = pa.schema([field.with_nullable(True) for field in table.schema])
    spoiled = pa.Table.from_pylist(rows, schema=schema)
    column, kind = retype
    index = spoiled.schema.get_field_index(column)
    spoiled = spoiled.set_column(index, column, spoiled.column(column).cast(kind))
    return spoiled.append_column("unexpected", pa.array(["x"] * spoiled.num_rows))


def spoil_all(good: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """A bad copy of every view: each GE expectation and Soda check has a row that trips it."""
    from umwi_core.contracts import (
        CORRELATION,
        DEPARTURES,
        MOBILITY_WEATHER_HOURLY,
        PUNCTUALITY_HOURLY,
        WEATHER_HOURLY,
        WEATHER_IMPACT,
    )

    later = timedelta(seconds=100)
    departures = _spoil(
        good["silver_departures"],
        [
            _set(source="bogus", trip_id="x1"),
            _set(delay_s=200_000, trip_id="x2"),
            _set(stop_lat=95.0, stop_lon=190.0, trip_id="x3"),
            _set(scheduled_at=FUTURE, trip_id="x4"),
            _set(ingested_at=FUTURE, trip_id="x5"),
            _set(cancelled=True, trip_id="x6"),
            lambda row: {**row, "observed_at": row["scheduled_at"] + later, "trip_id": "x7"},
        ],
        nulls=DEPARTURES.required,
        retype=("delay_s", pa.int64()),
    )
    weathers = _spoil(
        good["silver_weather_hourly"],
        [
            _set(source="bogus", location_id="x1"),
            _set(weather_code=150, location_id="x2"),
            _set(temperature_c=70.0, location_id="x3"),
            _set(
                precipitation_mm=-1.0,
                rain_mm=-1.0,
                snowfall_cm=-1.0,
                wind_speed_kmh=-1.0,
                visibility_m=-1.0,
                location_id="x4",
            ),
            _set(latitude=95.0, longitude=190.0, location_id="x5"),
            lambda row: {**row, "hour": row["hour"] + timedelta(minutes=30), "location_id": "x6"},
            _set(hour=FUTURE, location_id="x7"),
        ],
        nulls=WEATHER_HOURLY.required,
        retype=("weather_code", pa.int32()),
    )
    hourly: list[Mutation] = [
        _set(departures=0, line_id="x1"),
        _set(cancelled=-1, on_time=-1, line_id="x2"),
        lambda row: {**row, "cancelled": row["departures"] + 1, "line_id": "x3"},
        _set(p50_delay_s=100.0, p90_delay_s=10.0, line_id="x4"),
        _set(hour=FUTURE, line_id="x5"),
    ]
    punctuality = _spoil(
        good["gold_punctuality_hourly"],
        [
            *hourly,
            _set(location_id="NOWHERE", line_id="x6"),
            # Inflates the '*' totals of that hour: gold no longer equals silver.
            lambda row: {**row, "line_id": "*", "location_id": "extra-location"},
        ],
        nulls=PUNCTUALITY_HOURLY.required,
        retype=("departures", pa.float64()),
    )
    mobility = _spoil(
        good["gold_mobility_weather_hourly"],
        [
            *hourly,
            _set(weather_class="unknown", line_id="x6"),
            _set(weather_code=150, line_id="x7"),
            _set(precipitation_mm=-1.0, line_id="x8"),
        ],
        nulls=MOBILITY_WEATHER_HOURLY.required,
        retype=("weather_code", pa.int32()),
    )
    impact = _spoil(
        good["gold_weather_impact"],
        [
            _set(weather_class="bogus", line_id="x1"),
            _set(
                cancellation_rate=1.5,
                on_time_rate=-0.1,
                reliability_rate=2.0,
                line_id="x2",
            ),
            _set(departures=-1, cells=-1, line_id="x3"),
            _set(period="2026-13", line_id="x4"),
        ],
        nulls=WEATHER_IMPACT.required,
        retype=("cells", pa.int32()),
    )
    correlation = _spoil(
        good["gold_correlation"],
        [
            _set(variable="bogus", line_id="x1"),
            _set(y_kind="bogus", line_id="x2"),
            _set(lag_h=5, line_id="x3"),
            _set(n=-1, line_id="x4"),
            _set(pearson_r=1.5, spearman_rho=-1.5, p_value=2.0, line_id="x5"),
            _set(pearson_r=0.9, ci_low=-0.1, ci_high=0.1, line_id="x6"),
        ],
        nulls=CORRELATION.required,
        retype=("lag_h", pa.int64()),
    )
    return {
        "silver_departures": departures,
        "silver_weather_hourly": weathers,
        "gold_punctuality_hourly": punctuality,
        "gold_mobility_weather_hourly": mobility,
        "gold_weather_impact": impact,
        "gold_correlation": correlation,
    }
