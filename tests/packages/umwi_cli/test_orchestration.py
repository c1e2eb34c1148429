"""`umwi run`, `backfill`, `build [--from-bronze]`, `quality` and `maintain` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from umwi_core.ledger import WindowStatus
from umwi_core.publication import read_publication
from umwi_core.resources import make_lake, make_ledger
from umwi_core.settings import Settings

from tests.packages.umwi_cli.in_process import run_cli
from tests.support.flow_fixtures import write_small_city

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]


def test_run_reads_umwi_toml_and_publishes(
    tmp_path: Path,
    fast_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    departures, weather = write_small_city(tmp_path)
    (tmp_path / "umwi.toml").write_text(
        f'[[sources.file]]\ndepartures = "{departures}"\nweather = "{weather}"\n'
    )
    assert (
        run_cli(monkeypatch, "run", "--start", "2026-03-02", "--end", "2026-03-05", columns=200)
        == 0
    )
    out = capsys.readouterr().out
    assert "quality gate: passed; published: pub-" in out
    assert read_publication(make_lake(fast_settings)) is not None

    assert run_cli(monkeypatch, "run", "--source", "weather", "--start", "2026-03-02",
                   "--end", "2026-03-05", columns=200) == 1  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == "umwi: --source 'weather' is not configured in umwi.toml (configured: file)"

    assert run_cli(monkeypatch, "quality", "--format", "json", columns=200) in (0, 1)
    rows = json.loads(capsys.readouterr().out)
    assert rows
    assert set(rows[0]) == {"check", "table", "severity", "status", "observed", "threshold"}
    assert run_cli(monkeypatch, "quality", "--table", "silver_nothing", columns=200) == 1
    assert "silver_nothing" in capsys.readouterr().err

    assert run_cli(monkeypatch, "maintain", columns=200) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary


def test_backfill_by_day_resumes_and_build_from_bronze(
    tmp_path: Path,
    fast_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "umwi.toml").write_text(
        "[sources.sample]\nseed = 11\n\n[backfill]\nconcurrency = 2\n"
    )
    args = ("backfill", "--start", "2026-01-05", "--end", "2026-01-08")
    code = run_cli(monkeypatch, *args, columns=200)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "backfill" in captured.err  # the progress bar
    assert "3/3" in captured.err
    ledger = make_ledger(fast_settings)
    records = ledger.records("sample:11")
    assert [r.window for r in records] == ["2026-01-05", "2026-01-06", "2026-01-07"]
    assert all(r.status == WindowStatus.DONE for r in records)
    first_runs = [r.run_id for r in records]
    assert len(set(first_runs)) == 3  # one ingestion run per day chunk

    from umwi_transform import read_silver

    lake = make_lake(fast_settings)
    before = read_silver(lake, "departures").num_rows
    assert before > 0

    # Interrupted or not, a second backfill only does what is missing.
    assert run_cli(monkeypatch, *args[:3], "--end", "2026-01-09", columns=200) == 0
    records = make_ledger(fast_settings).records("sample:11")
    assert len(records) == 4
    assert [r.run_id for r in records[:3]] == first_runs  # done days were not redone
    capsys.readouterr()

    # Silver rebuilt from bronze alone changes no row.
    after_backfill = read_silver(lake, "departures").num_rows
    assert run_cli(monkeypatch, "build", "--from-bronze", columns=200) == 0
    out = capsys.readouterr().out
    assert "gold" in out
    assert read_silver(lake, "departures").num_rows == after_backfill
