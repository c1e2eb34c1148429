"""`open_read_only_catalog`: every view answers filters, joins, aggregates and ORDER BY on
every column type, on a local lake and on an S3 one (moto), with file access disabled.

The lake is written by the real code paths (silver and quarantine by MERGE, gold by the
build and publication), so its Parquet files carry the string types those writers use.
The expected answers are computed in Python from the whole table, read without a filter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from umwi_core.contracts import QUARANTINE, SILVER_TABLES, WEATHER_FORECAST
from umwi_core.lake import Lake
from umwi_core.resources import make_lake
from umwi_core.settings import load_settings
from umwi_transform import (
    GOLD_SCHEMAS,
    build_gold,
    commit_batch,
    land_forecast,
    open_read_only_catalog,
    publish_gold,
)
from umwi_transform._engine import sql_string
from umwi_transform.catalog import lake_tables

from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    forecast_table,
    weather,
    weather_batch,
)

VIEWS = (
    "silver_departures",
    "silver_weather_hourly",
    "quarantine_departures",
    "quarantine_weather_hourly",
    "gold_punctuality_hourly",
    "gold_mobility_weather_hourly",
    "gold_weather_impact",
    "gold_correlation",
    "gold_line_sensitivity",
    "gold_outlook_baseline",
    "gold_outlook_class_effect",
    "gold_outlook_hourly",
    "silver_weather_forecast",
)


def _fill(lake: Lake, settings: Any) -> None:
    """A few departures on two lines over eight hours and four of the next day (two days:
    line_sensitivity's day-clustered intervals), their weather, some rejects, and
    published gold (ranks from one wet hour on)."""
    settings = settings.model_copy(update={"sensitivity_min_wet_hours": 1})
    rows = [
        departure(
            trip=f"{line}-{h}",
            line=line,
            stop="S'1" if h % 2 else "S2",  # a quote: literals must be escaped
            scheduled=at(hours=h),
            delay=None if h == 3 else 20 * h - 10 * (h % 2),
            cancelled=h == 3,
            lat=None if (line, h) == ("L2", 5) else 48.0,
            line_name=None if line == "L2" else "Line one",
            mode=None if line == "L2" else "bus",
            stop_name="Gare d'Est" if h % 2 else "Halle",
        )
        for line in ("L1", "L2")
        for h in (*range(8), *range(24, 28))
    ]
    # Weeks 1-3 of the same hours (dry in weeks 1 and 3, light rain in week 2): enough for
    # every column of the outlook's tables to hold values.
    later = [
        departure(
            trip=f"{line}-{week}-{h}",
            line=line,
            stop="S2",
            scheduled=at(hours=168 * week + h),
            delay=20 * h + 15 * week * (line == "L1"),
        )
        for week in (1, 2, 3)
        for line in ("L1", "L2")
        for h in range(8)
    ]
    rows += later
    rejects = [departure(trip="", delay=5), departure(trip="T9", delay=None, cancelled=False)]
    commit_batch(departures_batch([*rows, *rejects]), lake, settings, "run-d")
    hours = [
        weather(
            hour=at(hours=h),
            precipitation=float(h % 3),
            temperature_c=None if h == 2 else 5.0 + h,
        )
        for h in (*range(-1, 9), *range(23, 29))
    ]
    hours += [
        weather(hour=at(hours=168 * week + h), precipitation=float(week == 2) * (1 + h % 2))
        for week in (1, 2, 3)
        for h in range(8)
    ]
    commit_batch(
        weather_batch([*hours, weather(location="W2", precipitation=-1.0)]), lake, settings, "w"
    )
    # Week 4's forecast: the outlook's slots are those Mondays'.
    land_forecast(
        lake,
        forecast_table(at(hours=4 * 168 - 1), [(at(hours=4 * 168 + h), h % 2) for h in range(8)]),
        "f",
    )
    candidates = build_gold(lake, settings, "run-b")
    publish_gold(lake, candidates, run_id="run-b", gate={}, quality_report=None)


@pytest.fixture(scope="module", params=["local", pytest.param("s3", marks=pytest.mark.slow)])
def filled_lake(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lake]:
    """One filled lake per kind for the whole module (building gold is the slow part)."""
    folder = tmp_path_factory.mktemp(f"catalog-{request.param}")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(folder)
        if request.param == "local":
            settings = load_settings(state_dir=folder / "state")
        else:
            from tests.support.aws import create_resources

            # The suite's per-test credentials are not set yet at module scope.
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            endpoint = request.getfixturevalue("moto_server")
            settings = create_resources(endpoint, folder, monkeypatch).settings
        lake = make_lake(settings)
        _fill(lake, settings)
        yield lake


@pytest.fixture(scope="module")
def catalog(filled_lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    """The read-only catalog over `filled_lake`, shared: no test can write through it."""
    connection, _ = open_read_only_catalog(filled_lake)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def tables(filled_lake: Lake) -> dict[str, pa.Table]:
    """Every view's whole table, read without a filter: what the answers are checked against."""
    return {
        view: delta.to_pyarrow_dataset().to_table()
        for view, delta in lake_tables(filled_lake).items()
    }


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return sql_string(value)
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ {sql_string(value.isoformat())}"
    if isinstance(value, float):
        return f"CAST({sql_string(repr(value))} AS DOUBLE)"
    return str(value)


def _category(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind):
        return "float"
    if pa.types.is_boolean(kind):
        return "boolean"
    raise AssertionError(f"no check for columns of type {kind}")


def test_the_lake_has_every_view_and_column_type(
    filled_lake: Lake, tables: dict[str, pa.Table]
) -> None:
    """The per-column test below covers what the issue asks; this pins that the data does.

    Mutation: drop the rejects from `_fill` and the quarantine views are missing.
    """
    connection, names = open_read_only_catalog(filled_lake)
    connection.close()
    assert sorted(names) == sorted(VIEWS)
    categories: Counter[str] = Counter()
    nulls = 0
    for view in VIEWS:
        table = tables[view]
        assert table.num_rows > 0, view
        categories.update(_category(field.type) for field in table.schema)
        nulls += sum(column.null_count for column in table.columns)
    assert set(categories) == {"string", "timestamp", "integer", "float", "boolean"}
    assert nulls > 0


def _columns(view: str) -> list[str]:
    # From the contracts, so the parametrisation is known before any lake exists.
    layer, table = view.split("_", 1)
    if layer == "gold":
        return list(GOLD_SCHEMAS[table].names)
    if layer == "quarantine":
        return list(QUARANTINE.column_names)
    return list({**SILVER_TABLES, WEATHER_FORECAST.name: WEATHER_FORECAST}[table].column_names)


CASES = [(view, column) for view in VIEWS for column in _columns(view)]


@pytest.mark.parametrize(("view", "column"), CASES, ids=[f"{v}.{c}" for v, c in CASES])
def test_every_column_filters_joins_aggregates_and_sorts(
    tables: dict[str, pa.Table], catalog: duckdb.DuckDBPyConnection, view: str, column: str
) -> None:
    """=, <, IN, IS NULL, a self-join, count/min/max and ORDER BY agree with Python.

    Mutation: register `delta.to_pyarrow_dataset()` instead of `arrow_scan(delta)` in
    `register_lake_views` and the S3 string cases fail (`no kernel matching input types
    (string, string_view)`); drop its `SET allowed_paths` and every local case fails.
    """
    values = tables[view].column(column).to_pylist()

    def rows(query: str) -> list[tuple[Any, ...]]:
        return catalog.sql(query).fetchall()

    def count(condition: str) -> int:
        return int(rows(f'SELECT count(*) FROM {view} WHERE "{column}" {condition}')[0][0])

    assert count("IS NULL") == values.count(None)
    present = sorted({value for value in values if value is not None})
    if not present:  # a column this lake never fills: weather rejects have no network, and
        # a sensitivity rank needs UMWI_SENSITIVITY_MIN_WET_HOURS wet hours, more than it has
        assert (view, column) in {
            ("quarantine_weather_hourly", "network"),
            ("gold_line_sensitivity", "rank"),
        }
        return
    pick, other = present[len(present) // 2], present[0]
    assert count(f"= {_literal(pick)}") == values.count(pick)
    assert count(f"< {_literal(pick)}") == sum(v is not None and v < pick for v in values)
    assert count(f"IN ({_literal(pick)}, {_literal(other)})") == sum(
        v in (pick, other) for v in values
    )
    assert [row[0] for row in rows(f'SELECT "{column}" FROM {view} ORDER BY 1 NULLS LAST')] == [
        *sorted(v for v in values if v is not None),
        *[None] * values.count(None),
    ]
    aggregates = rows(
        f'SELECT count("{column}"), count(DISTINCT "{column}"), min("{column}"), '
        f'max("{column}") FROM {view}'
    )[0]
    assert aggregates == (len(values) - values.count(None), len(present), present[0],
                          present[-1])  # fmt: skip
    pairs = rows(
        f'SELECT count(*) FROM {view} a JOIN {view} b ON a."{column}" = b."{column}" '
        f'WHERE a."{column}" = {_literal(pick)}'
    )[0][0]
    assert pairs == values.count(pick) ** 2


def test_views_join_each_other(
    tables: dict[str, pa.Table], catalog: duckdb.DuckDBPyConnection
) -> None:
    """A gold table joins silver weather on a string and a timestamp column.

    Mutation: register `delta.to_pyarrow_dataset()` in `register_lake_views`: the S3 case fails.
    """
    gold = tables["gold_punctuality_hourly"].to_pylist()
    weather_rows = tables["silver_weather_hourly"].to_pylist()
    temperatures = {(w["location_id"], w["hour"]): w["temperature_c"] for w in weather_rows}
    expected = sorted(
        (g["line_id"], g["hour"], temperatures[(g["location_id"], g["hour"])])
        for g in gold
        if g["location_id"] == "W1" and g["line_id"] == "L2"
    )
    found = catalog.sql(
        "SELECT g.line_id, g.hour, w.temperature_c FROM gold_punctuality_hourly g "
        "JOIN silver_weather_hourly w ON g.location_id = w.location_id AND g.hour = w.hour "
        "WHERE g.location_id = 'W1' AND g.line_id = 'L2' ORDER BY 1, 2"
    ).fetchall()
    assert expected
    assert found == expected


def test_file_access_stays_disabled(catalog: duckdb.DuckDBPyConnection) -> None:
    """Only the views' own files are readable; nothing else, and the setting is locked.

    Mutation: drop `SET lock_configuration = true` and re-enabling access succeeds.
    """
    for query in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET allowed_paths = ['/etc/passwd']",
    ):
        with pytest.raises(duckdb.Error):
            catalog.execute(query)


def test_a_silver_hour_filter_matches_gold(catalog: duckdb.DuckDBPyConnection) -> None:
    """A timestamp range on silver agrees with the published gold counts for that hour.

    Mutation: none in the catalog turns only this red; it guards the timestamp literal's
    zone (a naive literal read in local time would shift the hour).
    """
    hour = at(hours=4)
    silver = catalog.sql(
        "SELECT count(*) FROM silver_departures WHERE scheduled_at >= "
        f"{_literal(hour)} AND scheduled_at < {_literal(hour + timedelta(hours=1))}"
    ).fetchall()[0][0]
    gold = catalog.sql(
        "SELECT sum(departures) FROM gold_punctuality_hourly "
        f"WHERE hour = {_literal(hour)} AND line_id = '*'"
    ).fetchall()[0][0]
    assert silver == gold == 2
