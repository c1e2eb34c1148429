"""`umwi build --engine spark` on a Spark Connect server gives the DuckDB engine's gold (issue 21).

The server is pyspark's own (its jars include Spark Connect), started offline on
127.0.0.1; the build goes through the CLI, the build flow, the quality gate and
publication exactly as `umwi build` does with DuckDB.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from umwi.cli import main
from umwi_connectors import generate_sample
from umwi_core.contracts import HISTORY_TABLES
from umwi_core.publication import read_publication
from umwi_core.resources import make_lake
from umwi_core.runs import read_manifest
from umwi_core.settings import Settings
from umwi_transform import build_gold, ingest_batches, read_gold

from tests.packages.umwi_transform.test_spark_parity import _assert_same
from tests.support.spark_connect import spark_connect_server

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
]


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("pyspark.core", reason="the Connect server needs the full pyspark")
    pytest.importorskip("grpc_status", reason="the Connect client needs pyspark[connect]")
    with spark_connect_server(tmp_path_factory.mktemp("spark-connect")) as url:
        yield url


def _run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "argv", ["umwi", *args])
    with pytest.raises(SystemExit) as done:
        main()
    return int(done.value.code or 0)


def test_build_on_spark_connect_publishes_the_duckdb_gold(
    connect_url: str,
    fast_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Mutation: make `build_task` ignore its engine (always DuckDB) and the build manifest
    no longer says spark; break a builder on Spark only and the tables differ."""
    lake = make_lake(fast_settings)
    batches = generate_sample(lake=lake, run_id="r-sample", start=date(2026, 2, 27), days=2)
    ingest_batches(batches, lake, fast_settings, "r-sample", source="sample", parameters={})
    duckdb = {
        t: read_gold(lake, t, c.version) for t, c in build_gold(lake, fast_settings, "r").items()
    }

    monkeypatch.setenv("UMWI_SPARK_REMOTE", connect_url)
    code = _run_cli(monkeypatch, "build", "--engine", "spark")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "quality gate: passed; published: pub-" in captured.out

    found = read_publication(lake)
    assert found is not None
    publication = found[0]
    # Two days give each weekday-hour slot one day, so no wet hour has a dry baseline in
    # its slot: the class effects are empty on both engines (test_spark_parity fills them).
    empty_on_two_days = {"outlook_class_effect"}
    for table in HISTORY_TABLES:  # `outlook_hourly` is the outlook flow's, not the build's
        version = publication.tables[table].version
        assert version == 1, table  # the Spark build's candidate, on top of DuckDB's
        rows = _assert_same(table, read_gold(lake, table, version), duckdb[table])
        assert rows > 0 or table in empty_on_two_days, table

    builds = [
        read_manifest(lake, Path(key).stem)
        for key in lake.list("runs/")
        if json.loads(lake.read_bytes(key))["kind"] == "build"
    ]
    assert [m.parameters["engine"] for m in builds] == ["spark"]
    assert builds[0].status == "done"
