"""Batch-level checks: each has a good batch that passes and a crafted bad one that trips it,
and each compares a network (or weather location) with its own history, not its source's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import DEPARTURES, QUARANTINE, WEATHER_HOURLY
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
    network: str = "net",
    delay: int = 60,
    run_id: str = "run-1",
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    return [
        {
            "network": network,
            "source": source,
            "line_id": "L1",
            "stop_id": "S1",
            "trip_id": f"{day:%m%d}-{source}-{network}-{i}",
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


def weather(data: list[dict[str, Any]] = ()) -> pa.Table:  # type: ignore[assignment]
    return pa.Table.from_pylist(list(data), schema=arrow_schema(WEATHER_HOURLY))


def hours(day: datetime, location: str, *, source: str = "open_meteo") -> list[dict[str, Any]]:
    """A whole day of one location's weather."""
    return [
        {
            "location_id": location,
            "latitude": 48.8,
            "longitude": 2.3,
            "hour": day + timedelta(hours=h),
            "source": source,
            "as_of": day + timedelta(days=1),
            "ingested_at": NOW,
            "run_id": "run-w",
        }
        for h in range(24)
    ]


def quarantine(sources: dict[str, int], network: str | None = "net") -> pa.Table:
    data = [
        {
            "record_hash": f"{source}-{network}-{i}",
            "source": source,
            "network": network,
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
    rejected: dict[str, int] | pa.Table | None = None,
    *,
    hourly: list[dict[str, Any]] = (),  # type: ignore[assignment]
    hourly_history: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> None:
    """Register the views the checks read: `batch` and `hourly` are the batch's departures
    and weather, the histories what came before."""
    workspace.register("silver_departures", departures(batch))
    workspace.register("silver_departures_all", departures([*history, *batch]))
    workspace.register("silver_weather_hourly", weather(hourly))
    workspace.register("silver_weather_hourly_all", weather([*hourly_history, *hourly]))
    rejects = rejected if isinstance(rejected, pa.Table) else quarantine(rejected or {})
    workspace.register("quarantine_departures", rejects)
    workspace.register("quarantine_weather_hourly", quarantine({}))


def history(
    days: int = 14,
    count: int = 100,
    delay: int = 60,
    *,
    source: str = "navitia",
    network: str = "net",
) -> list[dict[str, Any]]:
    return [
        row
        for back in range(1, days + 1)
        for row in rows(
            DAY0 - timedelta(days=back), count, delay=delay, source=source, network=network
        )
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
    assert result.observed == "19 rows of network net on 2026-03-20 vs its median 100"
    assert "network net 2026-03-20: 19 rows" in result.message


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
    assert result.observed == "1.0 h (network net)"


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
    assert result.observed == (
        "4.0% (4 of 100) of network net: 2 unknown_trip, 1 bad_time, 1 uncoded"
    )
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
    assert result.observed == "4.0% (4 of 100) of network net: 4 uncoded"


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
        == "100.0% (2 of 2) of network net: 1 uncoded, 1 unknown_trip"
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


# --- one source, many feeds: each judged against its own history ----------------------


def test_volume_of_a_small_network_is_its_own_not_the_sources(
    workspace: Workspace, settings: Settings
) -> None:
    """Ten networks of one file source, one of them small; the batch is an ordinary day of
    the small one.

    Mutation: drop `AND h.feed = b.feed` from the volume query (the other networks' days
    as its history), or group `daily` and `batch` by source only: red."""
    past = [
        row
        for n in range(10)
        for row in history(source="file", network=f"net-{n}", count=15 if n == 3 else 100)
    ]
    load(workspace, rows(DAY0, 15, source="file", network="net-3"), past)
    result = only(volume_checks(workspace, settings, NOW))
    assert result.status == "passed", result.observed
    assert result.observed == "15 rows of network net-3 on 2026-03-20 vs its median 15"


def test_volume_finds_one_network_dropping_inside_a_busy_source(
    workspace: Workspace, settings: Settings
) -> None:
    """The pooled day (1100 of 2000) looks normal; one network lost 90 % of its rows.

    Mutation: group `daily` and `batch` by source only (`{group}` -> `''`): red."""
    past = history(network="big", count=1000) + history(network="small", count=1000)
    batch = rows(DAY0, 1000, network="big") + rows(DAY0, 100, network="small")
    load(workspace, batch, past)
    result = only(volume_checks(workspace, settings, NOW))
    assert result.status == "failed"
    assert result.message == "network small 2026-03-20: 100 rows"
    assert result.details["days_by_network"]["big"] == {"2026-03-20": [1000, 1000]}


def test_volume_of_weather_is_per_location(workspace: Workspace, settings: Settings) -> None:
    """Ten weather locations of one source; the batch holds one location's day.

    Mutation: `GROUPS["weather_hourly"] = ("source", ...)` (pooled per source): red."""
    past = [
        row
        for back in range(1, 15)
        for n in range(10)
        for row in hours(DAY0 - timedelta(days=back), f"loc-{n}")
    ]
    load(workspace, [], hourly=hours(DAY0, "loc-7"), hourly_history=past)
    result = only(volume_checks(workspace, settings, NOW))
    assert (result.table, result.status) == ("silver_weather_hourly", "passed")
    assert result.observed == "24 rows of location loc-7 on 2026-03-20 vs its median 24"


def test_volume_leaves_out_a_new_network_but_judges_the_others(
    workspace: Workspace, settings: Settings
) -> None:
    """A network new to the source has no history of its own: it is not compared with the
    others', and the others are still judged.

    Mutation: drop `AND h.feed = b.feed` from the volume query (`new` judged against the
    days of `old`): red."""
    batch = rows(DAY0, 3, network="new") + rows(DAY0, 10, network="old")
    load(workspace, batch, history(network="old"))
    result = only(volume_checks(workspace, settings, NOW))
    assert result.status == "failed"  # old: 10 of 100
    assert result.details["no_history"] == ["new"]
    assert list(result.details["days_by_network"]) == ["old"]


def test_freshness_is_per_network_within_a_run(
    workspace: Workspace, settings: Settings, lake: Lake
) -> None:
    """One file run: a busy network is current, another stopped five days before.

    Mutation: drop `{group}` from the freshness query's select (the run's newest record
    of any network): red."""
    stated = DAY0 + timedelta(hours=2)
    current = rows(DAY0, 1, run_id="file-run", network="busy", as_of=stated)
    stopped = rows(DAY0 - timedelta(days=5), 1, run_id="file-run", network="stopped", as_of=stated)
    load(workspace, current + stopped)
    result = only(freshness_checks(workspace, lake, settings))
    assert result.status == "failed"
    assert result.observed == "122.0 h (network stopped)"
    assert result.details["lag_h_by_network"] == {"busy": 2.0, "stopped": 122.0}


def test_quarantine_share_of_a_small_feed_is_not_hidden_by_a_big_one(
    workspace: Workspace, settings: Settings
) -> None:
    """Two GTFS-RT cities: the small one rejects 90 % (0.9 % of the pooled source).

    Mutation: `feed = "''"` for departures too (the source pooled): red."""
    kept = rows(DAY0, 10_000, source="gtfs_rt", network="big") + rows(
        DAY0, 10, source="gtfs_rt", network="small"
    )
    rejects = pa.concat_tables(
        [quarantine({"gtfs_rt": 10}, network="big"), quarantine({"gtfs_rt": 90}, network="small")]
    )
    load(workspace, kept, rejected=rejects)
    result = only(quarantine_checks(workspace, settings))
    assert result.status == "failed"
    assert result.observed.startswith("90.0% (90 of 100) of network small: ")
    assert result.details["share_by_network"] == {"big": 0.000999, "small": 0.9}
    assert result.details["quarantined"] == 100


def test_rejects_without_a_network_are_a_share_of_the_whole_source(
    workspace: Workspace, settings: Settings
) -> None:
    """Two departures rejected for lacking their network are 2 % of the source's batch,
    not a "network" of their own that is 100 % rejected.

    Mutation: `whole = kept + rejected` whatever the name: red."""
    load(workspace, rows(DAY0, 98), rejected=quarantine({"navitia": 2}, network=None))
    result = only(quarantine_checks(workspace, settings))
    assert result.status == "passed"
    assert result.details["share_by_network"] == {"net": 0.0, "(no network)": 0.02}


def test_drift_compares_each_city_with_its_own_delays(
    workspace: Workspace, settings: Settings
) -> None:
    """Two GTFS-RT cities on one lake; the batch is a normal run of the one whose delays
    are always longer.

    Mutation: drop `AND h.network = b.network` from the drift query (the big city's
    delays as the history): red."""
    past = history(source="gtfs_rt", network="big", count=1000, delay=60) + history(
        source="gtfs_rt", network="small", count=50, delay=400
    )
    load(workspace, rows(DAY0, 50, source="gtfs_rt", network="small", delay=400), past)
    result = only(drift_checks(workspace, settings))
    assert result.status == "passed", result.observed
    assert result.details["shift_s_by_network"] == {"small": 0.0}


def test_volume_counts_whole_utc_days(workspace: Workspace, settings: Settings) -> None:
    """Departures in the afternoon belong to their UTC day, not the next one.

    Mutation: `_DAY = "CAST(epoch({ts}) // 86400 AS BIGINT)"` (DuckDB divides the DOUBLE
    exactly and the cast rounds, so days turn at noon): red."""
    load(workspace, rows(DAY0 + timedelta(hours=13), 100), history())
    result = only(volume_checks(workspace, settings, NOW))
    assert result.observed == "100 rows of network net on 2026-03-20 vs its median 100"
