"""Batch-level checks: each has a good batch that passes and a crafted bad one that trips it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import DEPARTURES, QUARANTINE
from umwi_core.lake import Lake
from umwi_core.runs import RunManifest, write_manifest
from umwi_core.settings import Settings, load_settings
from umwi_quality._batch import drift_checks, freshness_checks, quarantine_checks, volume_checks
from umwi_quality._workspace import Workspace

DAY0 = datetime(2026, 3, 20, tzinfo=UTC)
NOW = DAY0 + timedelta(days=3)


def rows(
    day: datetime,
    count: int,
    *,
    source: str = "navitia",
    delay: int = 60,
    run_id: str = "run-1",
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    return [
        {
            "network": "net",
            "source": source,
            "line_id": "L1",
            "stop_id": "S1",
            "trip_id": f"{day:%m%d}-{source}-{i}",
            "scheduled_at": day + timedelta(minutes=i % 1_400),
            "observed_at": day + timedelta(minutes=i % 1_400, seconds=delay),
            "delay_s": delay,
            "cancelled": False,
            "as_of": as_of or day + timedelta(days=1),
            "ingested_at": NOW,
            "run_id": run_id,
        }
        for i in range(count)
    ]


def departures(data: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(data, schema=arrow_schema(DEPARTURES))


def empty_weather() -> pa.Table:
    from umwi_core.contracts import WEATHER_HOURLY

    return arrow_schema(WEATHER_HOURLY).empty_table()


def quarantine(sources: dict[str, int]) -> pa.Table:
    data = [
        {
            "record_hash": f"{source}-{i}",
            "source": source,
            "reason": "unknown trip",
            "raw": "{}",
            "ingested_at": NOW,
            "run_id": "run-1",
            # The first of a source's rejects is an old row that `maintain` has not coded.
            "reason_code": None if i == 0 else "unknown_trip" if i % 3 else "bad_time",
        }
        for source, count in sources.items()
        for i in range(count)
    ]
    return pa.Table.from_pylist(data, schema=arrow_schema(QUARANTINE))


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    opened = Workspace.open("1GB")
    yield opened
    opened.close()


def load(
    workspace: Workspace,
    batch: list[dict[str, Any]],
    history: list[dict[str, Any]] = (),  # type: ignore[assignment]
    rejected: dict[str, int] | None = None,
) -> None:
    workspace.register("silver_departures", departures(batch))
    workspace.register("silver_departures_all", departures([*history, *batch]))
    workspace.register("silver_weather_hourly", empty_weather())
    workspace.register("silver_weather_hourly_all", empty_weather())
    workspace.register("quarantine_departures", quarantine(rejected or {}))
    workspace.register("quarantine_weather_hourly", quarantine({}))


def history(days: int = 14, count: int = 100, delay: int = 60) -> list[dict[str, Any]]:
    return [
        row
        for back in range(1, days + 1)
        for row in rows(DAY0 - timedelta(days=back), count, delay=delay)
    ]


def only(results: list[Any]) -> Any:
    assert len(results) == 1, results
    return results[0]


# --- volume --------------------------------------------------------------------------


def test_volume_passes_on_a_normal_day(workspace: Workspace, settings: Settings) -> None:
    load(workspace, rows(DAY0, 90), history())
    result = only(volume_checks(workspace, settings, NOW))
    assert (result.status, result.check, result.severity) == ("passed", "volume (navitia)", "error")


def test_volume_fails_on_a_day_80_percent_below_the_median(
    workspace: Workspace, settings: Settings
) -> None:
    load(workspace, rows(DAY0, 19), history())
    result = only(volume_checks(workspace, settings, NOW))
    assert result.status == "failed"
    assert result.observed == "19 rows on 2026-03-20 vs median 100"
    assert "2026-03-20: 19 rows" in result.message


def test_volume_severity_and_threshold_are_settings(workspace: Workspace, tmp_path: Any) -> None:
    settings = load_settings(
        state_dir=tmp_path, quality_volume_drop_pct=90, quality_volume_severity="warn"
    )
    load(workspace, rows(DAY0, 19), history())
    result = only(volume_checks(workspace, settings, NOW))
    assert (result.status, result.severity) == ("passed", "warn")


def test_volume_is_skipped_without_history(
    workspace: Workspace, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    load(workspace, rows(DAY0, 5))
    result = only(volume_checks(workspace, settings, NOW))
    assert result.status == "skipped"
    assert not result.blocking
    assert "no history" in caplog.text


def test_volume_ignores_the_day_still_in_progress(workspace: Workspace, settings: Settings) -> None:
    load(workspace, rows(DAY0, 3), history())
    assert volume_checks(workspace, settings, DAY0 + timedelta(hours=5)) == []


# --- freshness -----------------------------------------------------------------------


def _manifest(lake: Lake, run_id: str, windows: list[str], started: datetime) -> None:
    write_manifest(
        lake,
        RunManifest(
            run_id=run_id,
            kind="ingest",
            source="navitia",
            started_at=started,
            parameters={"windows": windows},
        ),
    )


def test_freshness_is_measured_from_the_window_end(
    workspace: Workspace, settings: Settings, lake: Lake
) -> None:
    # A backfill of an old day is fresh: its newest record is right before the window end.
    _manifest(lake, "run-old", ["2026-03-20"], started=NOW + timedelta(days=200))
    load(workspace, rows(DAY0 + timedelta(hours=23), 1, run_id="run-old"))
    result = only(freshness_checks(workspace, lake, settings))
    assert result.status == "passed"
    assert result.observed == "1.0 h"


def test_freshness_fails_when_the_newest_record_is_far_before_the_window_end(
    workspace: Workspace, settings: Settings, lake: Lake
) -> None:
    _manifest(lake, "run-late", ["2026-03-20", "2026-03-23"], started=NOW + timedelta(days=1))
    load(workspace, rows(DAY0, 1, run_id="run-late"))
    result = only(freshness_checks(workspace, lake, settings))
    assert (result.status, result.severity) == ("failed", "warn")
    assert result.details["run_id"] == "run-late"
    assert result.details["lag_h"] == 96.0


def test_freshness_without_day_windows_uses_the_source_time(
    workspace: Workspace, settings: Settings, lake: Lake
) -> None:
    stale = rows(DAY0, 1, run_id="file-run", as_of=DAY0 + timedelta(days=5))
    load(workspace, stale)
    assert only(freshness_checks(workspace, lake, settings)).status == "failed"
    fresh = rows(DAY0, 1, run_id="file-run", as_of=DAY0 + timedelta(hours=2))
    load(workspace, fresh)
    assert only(freshness_checks(workspace, lake, settings)).status == "passed"


# --- quarantine share ----------------------------------------------------------------


def test_quarantine_share_within_the_expected_share_passes(
    workspace: Workspace, settings: Settings
) -> None:
    load(workspace, rows(DAY0, 96), rejected={"navitia": 4})
    result = only(quarantine_checks(workspace, settings))
    assert result.status == "passed"
    assert result.observed == "4.0% (4 of 100): 2 unknown_trip, 1 bad_time, 1 uncoded"
    assert result.details["by_reason_code"] == {"unknown_trip": 2, "bad_time": 1, "uncoded": 1}


def test_quarantine_causes_of_a_table_from_before_codes(
    workspace: Workspace, settings: Settings
) -> None:
    """A quarantine table that never gained `reason_code` counts its rows as uncoded.

    Mutation: select `reason_code` unconditionally in `_causes` and the check errors.
    """
    load(workspace, rows(DAY0, 96), rejected={"navitia": 4})
    workspace.register("quarantine_departures", quarantine({"navitia": 4}).drop(["reason_code"]))
    result = only(quarantine_checks(workspace, settings))
    assert result.observed == "4.0% (4 of 100): 4 uncoded"


def test_quarantine_share_above_the_expected_share_fails(
    workspace: Workspace, settings: Settings
) -> None:
    load(workspace, rows(DAY0, 3, source="gtfs_rt"), rejected={"gtfs_rt": 97})
    result = only(quarantine_checks(workspace, settings))
    assert (result.status, result.severity) == ("failed", "error")
    assert result.threshold == "<= 5.0%"


def test_gtfs_rt_can_pass_by_configuration(workspace: Workspace, tmp_path: Any) -> None:
    settings = load_settings(state_dir=tmp_path, quality_quarantine_share_by_source="gtfs_rt=0.99")
    load(workspace, rows(DAY0, 3, source="gtfs_rt"), rejected={"gtfs_rt": 97})
    assert only(quarantine_checks(workspace, settings)).status == "passed"


def test_a_source_with_only_rejects_is_judged(workspace: Workspace, settings: Settings) -> None:
    load(workspace, rows(DAY0, 10), rejected={"navitia": 0, "file": 2})
    by_source = {r.check: r for r in quarantine_checks(workspace, settings)}
    assert by_source["quarantine share (file)"].status == "failed"
    assert (
        by_source["quarantine share (file)"].observed
        == "100.0% (2 of 2): 1 uncoded, 1 unknown_trip"
    )


# --- drift ---------------------------------------------------------------------------


def test_drift_within_the_limit_passes(workspace: Workspace, settings: Settings) -> None:
    load(workspace, rows(DAY0, 50, delay=150), history(delay=60))
    result = only(drift_checks(workspace, settings))
    assert result.status == "passed"


def test_drift_beyond_the_limit_warns_only(workspace: Workspace, settings: Settings) -> None:
    load(workspace, rows(DAY0, 50, delay=400), history(delay=60))
    result = only(drift_checks(workspace, settings))
    assert (result.status, result.severity) == ("failed", "warn")
    assert result.warning
    assert not result.blocking
    assert result.observed.startswith("+340 s")


def test_drift_is_skipped_without_history(workspace: Workspace, settings: Settings) -> None:
    load(workspace, rows(DAY0, 50, delay=400))
    assert only(drift_checks(workspace, settings)).status == "skipped"
