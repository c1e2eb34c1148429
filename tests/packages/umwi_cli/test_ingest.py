"""`umwi ingest …` end to end through the CLI, Prefect and the fake Open-Meteo/Navitia."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from umwi_core.resources import make_lake
from umwi_core.settings import Settings

from tests.packages.umwi_cli.in_process import run_cli
from tests.support.fake_servers import FakeResponse
from tests.support.flow_fixtures import write_small_city

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]


def test_ingest_weather_then_skip(
    fake_api: Any,
    fake_api_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start = (fake_api.today - timedelta(days=3)).isoformat()
    end = (fake_api.today - timedelta(days=1)).isoformat()
    args = ("ingest", "weather", "--location-id", "centre", "--latitude", "48.85",
            "--longitude", "2.35", "--start", start, "--end", end)  # fmt: skip
    assert run_cli(monkeypatch, *args, columns=200) == 0
    out = capsys.readouterr().out
    assert "open_meteo:centre" in out
    assert "weather_hourly" in out
    assert " 48 " in out  # read and inserted
    from umwi_transform import read_silver

    assert read_silver(make_lake(fake_api_settings), "weather_hourly").num_rows == 48

    assert run_cli(monkeypatch, *args, columns=200) == 0
    again = capsys.readouterr().out
    assert "skipped" in again


def test_ingest_navitia(
    fake_api: Any,
    fake_api_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_cli(monkeypatch, "ingest", "navitia", "--coverage", "fr-test",
                   "--stop-area", "stop_area:TEST:SA:central", columns=200)  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "navitia:fr-test:stop_area:TEST:SA:central" in captured.out
    from umwi_transform import read_silver

    departures = read_silver(make_lake(fake_api_settings), "departures")
    assert departures.num_rows > 0
    assert set(departures.column("source").to_pylist()) == {"navitia"}
    assert fake_api_settings.navitia_token is not None
    assert fake_api_settings.navitia_token.get_secret_value() not in captured.out + captured.err


def test_a_failed_ingest_exits_1_with_one_line(
    fake_api: Any,
    fake_api_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    attempts = (fake_api_settings.http_max_retries + 1) * (fake_api_settings.task_retries + 1)
    fake_api.inject("/v1/", *[FakeResponse(status=503)] * attempts)
    day = fake_api.today - timedelta(days=2)
    code = run_cli(monkeypatch, "ingest", "weather", "--location-id", "c", "--latitude", "1",
                   "--longitude", "1", "--start", day.isoformat(),
                   "--end", (day + timedelta(days=1)).isoformat(), columns=200)  # fmt: skip
    assert code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("umwi: ingest of open_meteo:c failed: ")
    assert "503" in last


def test_bad_options_are_one_line_errors(
    fast_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(monkeypatch, "ingest", "weather", "--location-id", "c", "--latitude", "1",
                   "--longitude", "1", "--start", "2026-13-01", "--end", "2026-01-02",
                   columns=200)  # fmt: skip
    assert code == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "umwi: --start: '2026-13-01' is not a date (YYYY-MM-DD)"
    )
    code = run_cli(monkeypatch, "ingest", "file", "--departures", "missing.csv", columns=200)
    assert code == 1
    assert "--departures: no such file" in capsys.readouterr().err


def test_ingest_gtfs_rt_files_once(
    fast_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import FIXTURES

    auckland = FIXTURES / "gtfs" / "auckland"
    snapshots = sorted((auckland / "realtime").glob("*.pb"))[:2]
    args = ["ingest", "gtfs-rt", "--network", "auckland", "--static", str(auckland / "gtfs.zip")]
    for snapshot in snapshots:
        args += ["--trip-updates", str(snapshot)]
    code = run_cli(monkeypatch, *args, columns=200)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "gtfs_rt:auckland" in out.out
    assert "quarantined gtfs_rt:auckland departures: " in out.out  # counted per cause
    assert " unknown_trip" in out.out
    lake = make_lake(fast_settings)
    from umwi_transform import read_quarantine, read_silver

    departures = read_silver(lake, "departures")
    assert departures.num_rows > 0
    assert set(departures.column("network").to_pylist()) == {"auckland"}
    assert read_quarantine(lake, "departures").num_rows > 0  # unknown trips, with reasons
    # The same snapshot files are the same window: a re-run skips them.
    assert run_cli(monkeypatch, *args, columns=200) == 0
    assert "skipped" in capsys.readouterr().out
    assert read_silver(lake, "departures").num_rows == departures.num_rows


def test_ingest_file_and_sample(
    tmp_path: Path,
    fast_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from umwi_transform import read_silver

    departures, weather = write_small_city(tmp_path, days=1)
    code = run_cli(monkeypatch, "ingest", "file", "--departures", str(departures),
                   "--weather", str(weather), columns=200)  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "│ file " in out
    lake = make_lake(fast_settings)
    assert read_silver(lake, "departures").num_rows == 24 * 4 * 3
    assert read_silver(lake, "weather_hourly").num_rows == 24
    trip = read_silver(lake, "departures").column("trip_id")[0].as_py()
    query = f"SELECT count(*) AS n FROM silver_departures WHERE trip_id = '{trip}'"
    assert run_cli(monkeypatch, "sql", query, "--format", "json", columns=200) == 0
    assert '"n": 3' in capsys.readouterr().out  # one trip, three stops

    code = run_cli(
        monkeypatch, "ingest", "sample", "--start", "2026-01-05", "--days", "1", columns=200
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "sample:7" in out
    sources = set(read_silver(lake, "departures").column("source").to_pylist())
    assert sources == {"file", "sample"}
