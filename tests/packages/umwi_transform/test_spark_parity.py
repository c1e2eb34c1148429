"""The gold builders on Spark local mode give the DuckDB driver's tables (issue 9).

pyspark is the optional `spark` dependency group: CI syncs every group, so these run there.
One Spark session serves the whole module (it takes ~10 s to start).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from umwi_connectors import generate_sample

# The Spark driver builds what `umwi build` computes from the history; `outlook_hourly`
# comes from a forecast, through `build_outlook` (issue 20).
from umwi_core.contracts import HISTORY_TABLES as GOLD_TABLES
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.resources import make_lake
from umwi_core.settings import Settings, load_settings
from umwi_transform import build_gold, commit_batch, ingest_batches, read_gold
from umwi_transform import spark as umwi_spark

from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    weather,
    weather_batch,
)

SAMPLE_START = date(2026, 2, 27)  # the days span a month end: `period` rows for two months
SAMPLE_DAYS = 3
TOLERANCE = 1e-9

# The sample city has weather for every stop and hour; a far-away network adds the
# unknown-weather and all-cancelled cases, whose nulls must match too.
EDGE_T0 = datetime(2026, 2, 28, 8, tzinfo=UTC)
EDGE_WEATHER = [
    weather(location="EDGE-W", lat=0.0, lon=0.0, hour=EDGE_T0, precipitation=0.0),
    weather(location="EDGE-W", lat=0.0, lon=0.0, hour=at(1, base=EDGE_T0), precipitation=None),
    weather(location="EDGE-W", lat=0.0, lon=0.0, hour=at(2, base=EDGE_T0), precipitation=3.0),
    # A week later, rain in the dry first hour's slot: the outlook's class effects.
    weather(location="EDGE-W", lat=0.0, lon=0.0, hour=at(168, base=EDGE_T0), precipitation=2.0),
]
_NEAR: dict[str, Any] = {"network": "edge", "line": "E1", "lat": 0.001, "lon": 0.001}
EDGE_DEPARTURES = [
    departure(trip="E-a", scheduled=at(0.1, base=EDGE_T0), delay=30, **_NEAR),
    departure(trip="E-b", scheduled=at(0.2, base=EDGE_T0), delay=400, **_NEAR),
    departure(trip="E-c", scheduled=at(0.3, base=EDGE_T0), delay=None, cancelled=True, **_NEAR),
    departure(trip="E-d", scheduled=at(1.1, base=EDGE_T0), delay=10, **_NEAR),  # null precip
    departure(trip="E-e", scheduled=at(2.1, base=EDGE_T0), delay=None, cancelled=True, **_NEAR),
    departure(trip="E-f", scheduled=at(5.1, base=EDGE_T0), delay=5, **_NEAR),  # no weather row
    departure(
        trip="E-g", stop="unplaced", scheduled=at(0.4, base=EDGE_T0), **{**_NEAR, "lat": None}
    ),
    departure(trip="E-h", stop="far", scheduled=at(0.5, base=EDGE_T0), **{**_NEAR, "lat": 5.0}),
    departure(trip="E-i", scheduled=at(168.1, base=EDGE_T0), delay=300, **_NEAR),
]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("pyspark")
    spark = umwi_spark.local_session(tmp_path_factory.mktemp("spark"))
    try:
        yield spark
    finally:
        spark.stop()


def test_local_mode_gets_the_driver_heap_of_the_settings(session: Any) -> None:
    """Spark's own 1g default runs out of heap on a 10 M history's correlation.

    Mutation: drop `.config("spark.driver.memory", memory)` from `local_session`: red."""
    assert session.sparkContext.getConf().get("spark.driver.memory") == (
        Settings.model_fields["spark_driver_memory"].default
    )


@pytest.fixture(scope="module")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, Settings]:
    """A few days of the sample city committed to silver, as `umwi ingest sample` does."""
    with pytest.MonkeyPatch.context() as patch:
        # Module fixtures start before the per-test environment isolation.
        for name in list(os.environ):
            if name.startswith(("UMWI_", "AWS_")):
                patch.delenv(name)
        settings = load_settings(state_dir=tmp_path_factory.mktemp("state"))
        lake = make_lake(settings)
        batches = generate_sample(
            lake=lake, run_id="r-sample", start=SAMPLE_START, days=SAMPLE_DAYS
        )
        ingest_batches(batches, lake, settings, "r-sample", source="sample", parameters={})
        commit_batch(weather_batch(EDGE_WEATHER), lake, settings, "r-edge")
        commit_batch(departures_batch(EDGE_DEPARTURES), lake, settings, "r-edge")
    return lake, settings


@pytest.fixture(scope="module")
def duckdb_gold(sample_lake: tuple[Lake, Settings]) -> dict[str, pa.Table]:
    lake, settings = sample_lake
    candidates = build_gold(lake, settings, "r-build")
    return {t: read_gold(lake, t, c.version) for t, c in candidates.items()}


@pytest.fixture(scope="module")
def spark_gold(session: Any, sample_lake: tuple[Lake, Settings]) -> umwi_spark.SparkGold:
    lake, settings = sample_lake
    return umwi_spark.build_gold_spark(session, lake, settings)


def _is_float(field: pa.Field) -> bool:
    return bool(pa.types.is_floating(field.type))


def _sorted_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows ordered by every exact (non-float) column, which include each table's key."""
    exact = [f.name for f in table.schema if not _is_float(f)]
    rows: list[dict[str, Any]] = table.sort_by([(n, "ascending") for n in exact]).to_pylist()
    return rows


def _assert_same(table: str, found: pa.Table, expected: pa.Table) -> int:
    assert found.schema == expected.schema, table
    assert found.num_rows == expected.num_rows, (table, found.num_rows, expected.num_rows)
    floats = {f.name for f in expected.schema if _is_float(f)}
    for index, (got, want) in enumerate(
        zip(_sorted_rows(found), _sorted_rows(expected), strict=True)
    ):
        for column, value in want.items():
            other = got[column]
            where = f"{table} row {index} column {column}: spark {other!r} duckdb {value!r}"
            if column in floats and value is not None and other is not None:
                # Absolute for small values, relative for large ones (sums of many delays).
                assert math.isclose(other, value, rel_tol=TOLERANCE, abs_tol=TOLERANCE), where
            else:
                assert other == value, where
    return int(expected.num_rows)


def test_public_api_is_pinned() -> None:
    assert umwi_spark.__all__ == [
        "SparkGold",
        "build_candidates",  # issue 21: what `umwi build --engine spark` runs
        "build_gold_spark",
        "build_gold_tables",
        "connect",
        "local_session",
        "register_silver",
        "register_silver_frames",
        "remote_session",  # issue 21: a Spark Connect client session
        "write_candidates",
    ]


def test_s3_files_are_read_through_hadoops_s3a() -> None:
    assert umwi_spark._spark_path("s3://lake/p/silver/x/part-0.parquet") == (
        "s3a://lake/p/silver/x/part-0.parquet"
    )
    assert umwi_spark._spark_path("/tmp/lake/silver/x.parquet") == "/tmp/lake/silver/x.parquet"


@pytest.mark.spark
@pytest.mark.slow
def test_every_gold_table_equals_duckdb(
    spark_gold: umwi_spark.SparkGold, duckdb_gold: dict[str, pa.Table]
) -> None:
    assert set(spark_gold.tables) == set(GOLD_TABLES)
    for table in GOLD_TABLES:
        rows = _assert_same(table, spark_gold.tables[table], duckdb_gold[table])
        assert rows > 0, f"{table} is empty: the sample should fill every gold table"
    # Nulls are compared too, so the input must actually produce them.
    impact = duckdb_gold["weather_impact"]
    assert impact.column("cells").null_count > 0  # the `unknown` rows
    punctuality = duckdb_gold["punctuality_hourly"]
    assert punctuality.column("location_id").null_count > 0
    assert punctuality.column("mean_delay_s").null_count > 0  # an all-cancelled hour
    correlation = duckdb_gold["correlation"]
    assert 0 < correlation.column("pearson_r").null_count < correlation.num_rows
    periods = set(correlation.column("period").to_pylist())
    assert {"all", "2026-02", "2026-03"} <= periods


@pytest.mark.spark
@pytest.mark.slow
def test_spark_tables_commit_as_gold_candidates(
    spark_gold: umwi_spark.SparkGold,
    duckdb_gold: dict[str, pa.Table],
    sample_lake: tuple[Lake, Settings],
) -> None:
    lake, settings = sample_lake
    candidates = umwi_spark.write_candidates(lake, spark_gold)
    for table, candidate in candidates.items():
        assert candidate.changed
        assert candidate.rows == spark_gold.tables[table].num_rows
        _assert_same(table, read_gold(lake, table, candidate.version), duckdb_gold[table])
    # The DuckDB driver sees gold moved behind its back and rebuilds in full.
    rebuilt = build_gold(lake, settings, "r-after-spark")
    assert all(c.changed for c in rebuilt.values())
    assert all(rebuilt[t].version == candidates[t].version + 1 for t in GOLD_TABLES)


@pytest.mark.spark
@pytest.mark.slow
def test_a_session_outside_utc_is_refused(session: Any) -> None:
    session.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        with pytest.raises(InputError, match=r"spark\.sql\.session\.timeZone is 'Europe/Paris'"):
            umwi_spark.connect(session)
    finally:
        session.conf.set("spark.sql.session.timeZone", "UTC")


@pytest.mark.spark
@pytest.mark.slow
def test_frames_missing_a_silver_column_are_refused(session: Any) -> None:
    backend = umwi_spark.connect(session)
    departures = session.createDataFrame([("net", "L1")], "network string, line_id string")
    weather = session.createDataFrame([("W1",)], "location_id string")
    with pytest.raises(InputError, match=r"silver_departures: .* lacks column\(s\) .*stop_id"):
        umwi_spark.register_silver_frames(backend, departures, weather)


@pytest.mark.spark
@pytest.mark.slow
def test_an_empty_lake_builds_empty_gold(session: Any, tmp_path: Path) -> None:
    settings = load_settings(state_dir=tmp_path / "empty")
    gold = umwi_spark.build_gold_spark(session, make_lake(settings), settings)
    for table in GOLD_TABLES:
        assert gold.tables[table].num_rows == 0, table
        assert gold.tables[table].schema == read_gold(make_lake(settings), table).schema


@pytest.mark.spark
@pytest.mark.slow
def test_collection_without_to_arrow_gives_the_same_table(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spark 3.5 (EMR 7) has no `DataFrame.toArrow`; the fallback keeps nulls as nulls."""
    from pyspark.sql import DataFrame

    frame = session.sql(
        "SELECT * FROM VALUES (1.5, TIMESTAMP '2026-03-01 10:00:00', 'a'), "
        "(CAST(NULL AS DOUBLE), TIMESTAMP '2026-03-01 11:00:00', NULL) AS t(x, hour, name)"
    )
    expected = umwi_spark._to_arrow(frame)
    monkeypatch.delattr(DataFrame, "toArrow")
    found = umwi_spark._to_arrow(frame)
    assert found.equals(expected)
    assert found.column("x").to_pylist() == [1.5, None]
    assert found.column("name").null_count == 1
