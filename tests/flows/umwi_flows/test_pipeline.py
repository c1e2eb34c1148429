"""The whole pipeline (ingest → build → gate → publish) through Prefect on a small city."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from umwi_core.alerts import FileAlertSink
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.publication import PUBLISHED_KEY, read_publication
from umwi_core.resources import make_lake
from umwi_core.runs import read_manifest
from umwi_core.settings import Settings, load_settings

from tests.support.flow_fixtures import write_small_city

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]

RANGE = {"start": "2026-03-02", "end": "2026-03-05"}
VOLATILE = ["as_of", "ingested_at", "run_id"]
KEYS = {
    "departures": ["network", "trip_id", "stop_id", "scheduled_at"],
    "weather_hourly": ["location_id", "hour"],
}


def _silver(lake: Lake, table: str) -> pa.Table:
    from umwi_transform import read_silver

    data = read_silver(lake, table).drop_columns(VOLATILE)
    return data.sort_by([(name, "ascending") for name in KEYS[table]])


def _published_gold(lake: Lake) -> dict[str, pa.Table]:
    found = read_publication(lake)
    assert found is not None
    tables = {}
    for name, entry in found[0].tables.items():
        data = pq.read_table(pa.BufferReader(lake.read_bytes(entry.serving)))
        # `updated_at` is when the row was built, not what it says.
        data = data.drop_columns([c for c in ("updated_at",) if c in data.column_names])
        tables[name] = data.sort_by([(c, "ascending") for c in data.column_names])
    return tables


def _assert_same(got: pa.Table, expected: pa.Table, name: str) -> None:
    """Equal tables; floats to 1e-9 relative (parallel sums may add in another order)."""
    assert got.schema == expected.schema, name
    assert got.num_rows == expected.num_rows, name
    for column in expected.column_names:
        left, right = got.column(column), expected.column(column)
        if pa.types.is_floating(right.type):
            a = left.to_numpy(zero_copy_only=False).astype(float)
            b = right.to_numpy(zero_copy_only=False).astype(float)
            assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True), (name, column)
        else:
            assert left.equals(right), (name, column)


def test_pipeline_end_to_end_and_again_gives_identical_silver_and_gold(
    small_city: dict[str, Any],
    fast_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from umwi_flows import pipeline_flow

    lake = make_lake(fast_settings)
    first = pipeline_flow(sources=small_city, **RANGE)
    assert first.build.gate_passed is True
    publication = first.build.publication_id
    assert publication is not None
    manifest = read_manifest(lake, first.run_id)
    assert manifest.kind == "pipeline"
    assert manifest.status == "done"
    assert manifest.timings_s["total"] > 0
    departures, weather = _silver(lake, "departures"), _silver(lake, "weather_hourly")
    assert departures.num_rows == 3 * 24 * 4 * 3
    assert weather.num_rows == 72
    gold = _published_gold(lake)
    assert set(gold) == {
        "punctuality_hourly",
        "mobility_weather_hourly",
        "weather_impact",
        "correlation",
        "line_sensitivity",
        "outlook_baseline",
        "outlook_class_effect",
        "outlook_hourly",
    }
    # The outlook needs a week of history and a forecast: test_outlook_flow.py covers it.
    assert all(table.num_rows > 0 for name, table in gold.items() if "outlook" not in name)

    # The same input again, forced through ingest: silver and gold stay as they are, and
    # the publication stays current (the gate has nothing new to guard).
    again = pipeline_flow(sources=small_city, force=True, **RANGE)
    (run,) = again.ingest.ingest_runs
    assert run.counts["departures"].unchanged == departures.num_rows
    assert _silver(lake, "departures").equals(departures)
    assert _silver(lake, "weather_hourly").equals(weather)
    assert again.build.gate == "skipped"
    assert again.build.publication_id == publication
    assert not any(c.changed for c in again.build.candidates.values())

    # Without --force the input is a done window: skipped. The run's engine overrides
    # UMWI_ENGINE (Spark is never started; mutation: `build_flow()` in pipeline_flow).
    monkeypatch.setenv("UMWI_ENGINE", "spark")
    skipped = pipeline_flow(sources=small_city, engine="duckdb", **RANGE)
    monkeypatch.delenv("UMWI_ENGINE")
    assert skipped.ingest.ingest_runs[0].status == "skipped"
    assert skipped.build.publication_id == publication
    assert read_manifest(lake, skipped.run_id).parameters["engine"] == "duckdb"
    assert read_manifest(lake, skipped.build.run_id).parameters == {
        "from_bronze": False,
        "engine": "duckdb",
    }

    # A second, fresh lake fed the same input publishes the same gold and silver.
    monkeypatch.setenv("UMWI_STATE_DIR", str(tmp_path / "second"))
    other = make_lake(load_settings())
    assert other.root != lake.root
    pipeline_flow(sources=small_city, **RANGE)
    assert _silver(other, "departures").equals(departures)
    assert _silver(other, "weather_hourly").equals(weather)
    regold = _published_gold(other)
    for name, table in gold.items():
        _assert_same(regold[name], table, name)


def test_an_unknown_engine_is_refused_before_anything_is_ingested(
    small_city: dict[str, Any], fast_settings: Settings
) -> None:
    from umwi_flows import build_flow, pipeline_flow

    with pytest.raises(
        InputError, match=r"^engine: 'polars' is not one of 'duckdb', 'spark', 'emr-serverless'$"
    ):
        pipeline_flow(sources=small_city, engine="polars", **RANGE)
    with pytest.raises(InputError, match=r"^engine: 'polars' is not one of"):
        build_flow(engine="polars")
    assert list(make_lake(fast_settings).list("silver/")) == []


def test_a_failed_gate_publishes_nothing_and_alerts_once(
    tmp_path: Path, fast_settings: Settings
) -> None:
    from umwi_flows import GateFailed, pipeline_flow

    departures, weather = write_small_city(tmp_path, no_realtime_share=0.5)
    sources = {"file": [{"departures": str(departures), "weather": str(weather)}]}
    lake = make_lake(fast_settings)
    with pytest.raises(GateFailed, match="quality gate failed: nothing published"):
        pipeline_flow(sources=sources, **RANGE)
    assert not lake.exists(PUBLISHED_KEY)
    assert list(lake.list("gold/_serving/")) == []
    # The gate guards gold only: silver and quarantine hold the ingested records.
    from umwi_transform import read_quarantine, read_silver

    assert read_silver(lake, "departures").num_rows > 0
    assert read_quarantine(lake, "departures").num_rows > 0
    alerts = FileAlertSink(fast_settings.state_dir.resolve() / "alerts.jsonl").read()
    assert [alert.severity for alert in alerts] == ["error"]
    builds = [
        read_manifest(lake, key.removeprefix("runs/").removesuffix(".json"))
        for key in lake.list("runs/")
    ]
    (build,) = [m for m in builds if m.kind == "build"]
    assert build.status == "gate_failed"
    assert build.outputs["gate_passed"] is False
    assert build.checks["passed"] is False
