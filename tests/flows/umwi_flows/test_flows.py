"""The Prefect flows on a temporary Prefect server (one per session)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from umwi_core.alerts import FileAlertSink
from umwi_core.ledger import WindowStatus
from umwi_core.resources import make_lake, make_ledger
from umwi_core.runs import read_manifest
from umwi_core.settings import Settings

from tests.support.fake_servers import FakeResponse

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]

WEATHER = {
    "weather": {"locations": [{"location_id": "centre", "latitude": 48.85, "longitude": 2.35}]}
}


def test_ingest_flow_writes_its_manifest_and_skips_done_days(
    fake_api: Any, fake_api_settings: Settings
) -> None:
    from umwi_flows import ingest_flow

    start = fake_api.today - timedelta(days=4)
    end = fake_api.today - timedelta(days=1)
    summary = ingest_flow(sources=WEATHER, start=start.isoformat(), end=end.isoformat())
    assert summary.failed == {}
    (run,) = summary.ingest_runs
    assert run.status == "done"
    assert run.windows == 3
    assert run.counts["weather_hourly"].inserted == 72
    lake = make_lake(fake_api_settings)
    manifest = read_manifest(lake, summary.run_id)
    assert manifest.kind == "flow:ingest"
    assert manifest.status == "done"
    assert manifest.outputs["prefect_flow_run_id"]
    assert read_manifest(lake, run.run_id).counts["weather_hourly"].inserted == 72

    again = ingest_flow(sources=WEATHER, start=start.isoformat(), end=end.isoformat())
    assert again.ingest_runs[0].status == "skipped"
    assert again.ingest_runs[0].skipped == 3


def test_backfill_chunks_run_concurrently_one_run_per_day(
    fake_api: Any, fake_api_settings: Settings
) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from umwi_flows import ingest_flow

    start = fake_api.today - timedelta(days=4)
    end = fake_api.today - timedelta(days=1)
    chunked = ingest_flow.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    summary = chunked(sources=WEATHER, start=start.isoformat(), end=end.isoformat(), chunk_days=1)
    runs = summary.ingest_runs
    assert len(runs) == 3
    assert len({run.run_id for run in runs}) == 3
    assert sum(run.counts["weather_hourly"].inserted for run in runs) == 72
    ledger = make_ledger(fake_api_settings)
    assert [r.status for r in ledger.records("open_meteo:centre")] == [WindowStatus.DONE] * 3


def test_a_source_failing_with_500s_is_retried_then_alerted(
    fake_api: Any, fake_api_settings: Settings
) -> None:
    from umwi_flows import IngestFailed, ingest_flow

    settings = fake_api_settings
    day = fake_api.today - timedelta(days=3)
    per_task = settings.http_max_retries + 1
    tries = settings.task_retries + 1
    fake_api.inject(
        "/v1/", *[FakeResponse(status=500, body={"reason": "down"})] * (per_task * tries)
    )
    with pytest.raises(IngestFailed, match=r"ingest of open_meteo:centre failed: .*HTTP 500"):
        ingest_flow(
            sources=WEATHER, start=day.isoformat(), end=(day + timedelta(days=1)).isoformat()
        )
    weather_requests = [r for r in fake_api.requests if r.path.startswith("/v1/")]
    assert len(weather_requests) == per_task * tries  # the task was retried
    alerts = FileAlertSink(settings.state_dir.resolve() / "alerts.jsonl").read()
    assert len(alerts) == 1
    assert alerts[0].severity == "error"
    assert alerts[0].title == "ingest of open_meteo:centre failed"
    assert "HTTP 500" in alerts[0].summary
    lake = make_lake(settings)
    assert list(lake.list("silver/")) == []
    assert list(lake.list("bronze/")) == []
    record = make_ledger(settings).get("open_meteo:centre", day.isoformat())
    assert record is not None
    assert record.status == WindowStatus.FAILED
