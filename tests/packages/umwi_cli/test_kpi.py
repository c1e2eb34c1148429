"""`umwi kpi`: the published gold rows, the same objects as the HTTP API returns."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from umwi_api import create_app
from umwi_core.lake import Lake
from umwi_core.resources import build_resources
from umwi_core.settings import Settings

from tests.api.gold_sample import write_sample_gold
from tests.packages.umwi_cli.in_process import kpi_json, run_cli, use_settings


@pytest.fixture(autouse=True)
def _settings_from_this_test(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(settings, monkeypatch)


@pytest.mark.parametrize(
    ("command", "path", "params"),
    [
        (
            ["weather-impact", "--line-id", "*", "--period", "all"],
            "/kpi/weather-impact",
            {"line_id": "*", "period": "all"},
        ),
        (
            ["punctuality", "--start", "2024-03-26", "--end", "2024-03-26T06:00:00Z"],
            "/kpi/punctuality",
            {"start": "2024-03-26", "end": "2024-03-26T06:00:00Z"},
        ),
        (
            [
                "hourly",
                "--network",
                "sample-city",
                "--line-id",
                "L2",
                "--limit",
                "30",
                "--offset",
                "10",
            ],
            "/kpi/hourly",
            {"network": "sample-city", "line_id": "L2", "limit": 30, "offset": 10},
        ),
        (
            ["hourly", "--grain", "day", "--line-id", "*", "--start", "2024-03-30"],
            "/kpi/hourly",
            {"grain": "day", "line_id": "*", "start": "2024-03-30"},
        ),
        (
            ["sensitivity", "--period", "all"],
            "/kpi/sensitivity",
            {"period": "all"},
        ),
        (
            ["outlook", "--line-id", "L1", "--start", "2024-04-08T06:00:00Z"],
            "/kpi/outlook",
            {"line_id": "L1", "start": "2024-04-08T06:00:00Z"},
        ),
        (
            ["correlation", "--variable", "rain_mm", "--lag-h", "2", "--y-kind", "anomaly"],
            "/correlation",
            {"variable": "rain_mm", "lag_h": 2, "y_kind": "anomaly"},
        ),
    ],
)
def test_json_equals_the_api_body(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    lake: Lake,
    command: list[str],
    path: str,
    params: dict[str, object],
) -> None:
    write_sample_gold(lake)
    assert run_cli(monkeypatch, "kpi", *command, "--format", "json") == 0
    printed = json.loads(capsys.readouterr().out)
    with TestClient(create_app(build_resources(settings))) as client:
        response = client.get(path, params=params)
    assert response.status_code == 200
    assert printed == response.json()
    assert printed, "the sample selection must not be empty"


def test_table_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lake: Lake
) -> None:
    write_sample_gold(lake)
    assert run_cli(monkeypatch, "kpi", "weather-impact", "--line-id", "L1", "--period", "all") == 0
    out = capsys.readouterr().out
    assert "weather_impact (5 rows)" in out  # dry, light, moderate and heavy rain, wet
    assert "dry" in out
    assert "wet" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["weather-impact", "--lag-h", "1"], "umwi: --lag-h: does not apply to weather_impact"),
        (["hourly", "--start", "2024-03-26T01:00"], "umwi: --start: '2024-03-26T01:00' has no UTC"),
        (["correlation", "--variable", "humidity"], "umwi: --variable: must be one of"),
        (["correlation", "--period", "2024-3"], "umwi: --period: '2024-3' is not 'all'"),
        (["hourly", "--limit", "0"], "umwi: --limit: must be at least 1"),
        (["hourly", "--offset", "-1"], "umwi: --offset: must be between 0 and"),
        (["punctuality", "--grain", "day"], "umwi: --grain: day applies to hourly only"),
    ],
)
def test_bad_options_fail_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lake: Lake,
    args: list[str],
    message: str,
) -> None:
    write_sample_gold(lake)
    assert run_cli(monkeypatch, "kpi", *args) == 1
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_before_any_publication(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "kpi", "weather-impact") == 1
    assert "no gold has been published yet" in capsys.readouterr().err


def test_unknown_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "kpi", "weather") == 2
    assert "weather-impact" in capsys.readouterr().err


def test_daily_rows_read_every_page_and_export_times_as_timestamps(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lake: Lake,
    tmp_path: Path,
) -> None:
    """`--grain day` pages like the hourly rows, and a Parquet export holds the same rows
    with real timestamps.

    Mutation: drop `_with_times` for Parquet → the export fails (ISO text is not a
    timestamp), red.
    """
    write_sample_gold(lake)
    whole = kpi_json(monkeypatch, capsys, "hourly", "--grain", "day")
    assert len(whole) == 84  # lines × locations × days
    monkeypatch.setenv("UMWI_API_MAX_LIMIT", "10")
    assert kpi_json(monkeypatch, capsys, "hourly", "--grain", "day") == whole
    monkeypatch.delenv("UMWI_API_MAX_LIMIT")
    for grain, time in (("day", "day"), ("hour", "hour")):
        rows = kpi_json(monkeypatch, capsys, "hourly", "--grain", grain)
        target = tmp_path / f"{grain}.parquet"
        args = ("kpi", "hourly", "--grain", grain, "--format", "parquet", "-o", str(target))
        assert run_cli(monkeypatch, *args) == 0
        table = pq.read_table(target)
        assert table.column_names == list(rows[0])
        assert str(table.schema.field(time).type) == "timestamp[us, tz=UTC]"
        stamps = [
            moment.strftime("%Y-%m-%dT%H:%M:%SZ") for moment in table.column(time).to_pylist()
        ]
        assert stamps == [row[time] for row in rows]
        assert table.column("departures").to_pylist() == [row["departures"] for row in rows]
