from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from deltalake import write_deltalake
from umwi_core.resources import make_lake
from umwi_core.settings import load_settings

from tests.packages.umwi_cli.in_process import run_cli


def test_select_prints_json_objects(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "sql", "SELECT 42 AS answer, 'x' AS s", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == [{"answer": 42, "s": "x"}]


def test_lake_tables_are_views(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = make_lake(load_settings())
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    write_deltalake(
        lake.uri("silver/weather_hourly"),
        pa.table({"location_id": ["a", "b"], "hour": [moment, moment]}),
    )
    assert (
        run_cli(
            monkeypatch,
            "sql",
            "SELECT location_id, hour FROM silver_weather_hourly ORDER BY 1",
            "--format",
            "json",
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == [
        {"location_id": "a", "hour": "2026-01-01T00:00:00Z"},
        {"location_id": "b", "hour": "2026-01-01T00:00:00Z"},
    ]


def test_a_string_filter_on_merged_silver(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's query: `=` on a string column of a table written by MERGE.

    Mutation: register `delta.to_pyarrow_dataset()` for every table in
    `register_lake_views` and it exits 1 (`no kernel matching input types`).
    """
    from umwi_transform import commit_batch

    from tests.packages.umwi_transform.factory import departure, departures_batch

    settings = load_settings()
    rows = [departure(trip="T1", delay=30), departure(trip="T2", delay=60)]
    commit_batch(departures_batch(rows), make_lake(settings), settings, "r1")
    query = "SELECT delay_s FROM silver_departures WHERE trip_id = 'T1'"
    assert run_cli(monkeypatch, "sql", query, "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == [{"delay_s": 30}]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DROP TABLE x", "only SELECT queries are allowed, got DROP"),
        ("SELECT 1; SELECT 2", "expected one SQL statement, got 2"),
        ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
        ("SELECT * FROM silver_departures", "silver_departures"),
        ("SELEC 1", "Parser Error"),
    ],
)
def test_refused_queries_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], query: str, message: str
) -> None:
    assert run_cli(monkeypatch, "sql", query) == 1
    err = capsys.readouterr().err
    assert err.startswith("umwi: ")
    assert message in err
    assert err.count("\n") == 1
