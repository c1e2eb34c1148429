"""Ingestion runs without Prefect: windows, idempotence, failures, manifests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from umwi_connectors import get_source
from umwi_core.errors import SourceError
from umwi_core.ledger import WindowStatus
from umwi_core.resources import make_lake, make_ledger
from umwi_core.runs import read_manifest
from umwi_core.settings import Settings
from umwi_flows import ingest_job

from tests.support.fake_servers import FakeResponse

WEATHER = get_source("weather")
JOB = WEATHER.job(WEATHER.options(location_id="centre", latitude=48.85, longitude=2.35))


def _silver(settings: Settings, table: str) -> Any:
    from umwi_transform import read_silver

    return read_silver(make_lake(settings), table).sort_by(
        [("location_id", "ascending"), ("hour", "ascending")]
    )


def test_weather_days_are_ingested_once(fake_api: Any, fake_api_settings: Settings) -> None:
    settings = fake_api_settings
    lake, ledger = make_lake(settings), make_ledger(settings)
    today = fake_api.today
    start, end = today - timedelta(days=3), today - timedelta(days=1)
    first = ingest_job(JOB, settings, lake, ledger, start=start, end=end)
    assert first.status == "done"
    assert first.windows == [start.isoformat(), (start + timedelta(days=1)).isoformat()]
    counts = first.counts["weather_hourly"]
    assert counts.inserted == 48
    assert counts.balanced
    records = ledger.records("open_meteo:centre")
    assert [r.status for r in records] == [WindowStatus.DONE, WindowStatus.DONE]
    manifest = read_manifest(lake, first.run_id)
    assert manifest.status == "done"
    assert manifest.kind == "ingest"
    assert manifest.source == "open_meteo"
    assert manifest.counts["weather_hourly"].inserted == 48
    assert all(key.startswith("bronze/open_meteo/") for key in manifest.inputs)
    rows = _silver(settings, "weather_hourly")

    requests = len(fake_api.requests)
    again = ingest_job(JOB, settings, lake, ledger, start=start, end=end)
    assert again.status == "skipped"
    assert again.skipped == first.windows
    assert len(fake_api.requests) == requests  # nothing fetched

    forced = ingest_job(JOB, settings, lake, ledger, start=start, end=end, force=True)
    assert forced.counts["weather_hourly"].unchanged == 48
    after = _silver(settings, "weather_hourly")
    assert after.drop_columns(["as_of", "ingested_at", "run_id"]).equals(
        rows.drop_columns(["as_of", "ingested_at", "run_id"])
    )


def test_today_is_stored_but_left_open(fake_api: Any, fake_api_settings: Settings) -> None:
    settings = fake_api_settings
    lake, ledger = make_lake(settings), make_ledger(settings)
    today = fake_api.today
    now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=12)
    outcome = ingest_job(
        JOB,
        settings,
        lake,
        ledger,
        start=today - timedelta(days=1),
        end=today + timedelta(days=1),
        now=now,
    )
    assert outcome.open_windows == [today.isoformat()]
    record = ledger.get("open_meteo:centre", today.isoformat())
    assert record is not None
    assert record.status == WindowStatus.FAILED  # claimable by the next run
    yesterday = ledger.get("open_meteo:centre", (today - timedelta(days=1)).isoformat())
    assert yesterday is not None
    assert yesterday.status == WindowStatus.DONE


def test_a_failing_source_fails_its_windows_and_changes_nothing(
    fake_api: Any, fake_api_settings: Settings
) -> None:
    settings = fake_api_settings
    lake, ledger = make_lake(settings), make_ledger(settings)
    today = fake_api.today
    start, end = today - timedelta(days=3), today - timedelta(days=2)
    attempts = settings.http_max_retries + 1
    fake_api.inject("/v1/", *[FakeResponse(status=500, body={"reason": "boom"})] * attempts)
    with pytest.raises(SourceError):
        ingest_job(JOB, settings, lake, ledger, start=start, end=end)
    record = ledger.get("open_meteo:centre", start.isoformat())
    assert record is not None
    assert record.status == WindowStatus.FAILED
    manifests = list(lake.list("runs/"))
    assert len(manifests) == 1
    failed = read_manifest(lake, manifests[0].removeprefix("runs/").removesuffix(".json"))
    assert failed.status == "failed"
    assert failed.error is not None
    assert "500" in failed.error
    assert not lake.exists("silver/weather_hourly/_delta_log/00000000000000000000.json")
    assert list(lake.list("bronze/")) == []

    # The next run retries the failed window and succeeds.
    retried = ingest_job(JOB, settings, lake, ledger, start=start, end=end)
    assert retried.status == "done"
    assert retried.counts["weather_hourly"].inserted == 24


def test_a_crashed_runs_days_are_resumed_after_its_lease(
    fake_api: Any, fake_api_settings: Settings
) -> None:
    settings = fake_api_settings
    lake, ledger = make_lake(settings), make_ledger(settings)
    day = fake_api.today - timedelta(days=3)
    # A run that died holding the day: its claim is still `running`, its lease over.
    assert ledger.claim("open_meteo:centre", day.isoformat(), "crashed-run", lease_s=0)
    outcome = ingest_job(JOB, settings, lake, ledger, start=day, end=day + timedelta(days=1))
    assert outcome.status == "done"
    assert outcome.windows == [day.isoformat()]
    record = ledger.get("open_meteo:centre", day.isoformat())
    assert record is not None
    assert record.status == WindowStatus.DONE
    assert record.run_id == outcome.run_id


def test_a_live_claim_of_another_run_is_left_alone(
    fake_api: Any, fake_api_settings: Settings
) -> None:
    settings = fake_api_settings
    lake, ledger = make_lake(settings), make_ledger(settings)
    day = fake_api.today - timedelta(days=3)
    assert ledger.claim("open_meteo:centre", day.isoformat(), "other-run", lease_s=900)
    outcome = ingest_job(JOB, settings, lake, ledger, start=day, end=day + timedelta(days=1))
    assert outcome.status == "skipped"
    assert outcome.held_by_others == [day.isoformat()]
    assert list(lake.list("bronze/")) == []
