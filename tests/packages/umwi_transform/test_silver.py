"""Silver MERGE rules, counts, quarantine and the run manifest (DESIGN.md §3)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from umwi_core.lake import Lake
from umwi_core.runs import read_manifest
from umwi_core.settings import Settings
from umwi_transform import (
    _silver,
    commit_batch,
    ingest_batches,
    open_delta,
    read_quarantine,
    read_silver,
)

from tests.packages.umwi_transform.factory import (
    AS_OF,
    departure,
    departures_batch,
    weather,
    weather_batch,
)


def _delays(lake: Lake) -> dict[str, int | None]:
    rows = read_silver(lake, "departures").to_pylist()
    return {row["trip_id"]: row["delay_s"] for row in rows}


def test_latest_as_of_wins_across_runs(lake: Lake, settings: Settings) -> None:
    first = commit_batch(departures_batch([departure(delay=10)]), lake, settings, "r1")
    assert (first.read, first.inserted) == (1, 1)
    older = departure(delay=99, as_of=AS_OF - timedelta(hours=1))
    stale = commit_batch(departures_batch([older]), lake, settings, "r2")
    assert (stale.superseded, stale.inserted, stale.replaced) == (1, 0, 0)
    assert _delays(lake) == {"T1": 10}
    newer = departure(delay=20, as_of=AS_OF + timedelta(hours=1))
    replaced = commit_batch(departures_batch([newer]), lake, settings, "r3")
    assert replaced.replaced == 1
    stored = read_silver(lake, "departures").to_pylist()
    assert stored[0]["delay_s"] == 20
    assert stored[0]["run_id"] == "r3"


def test_equal_as_of_later_record_of_the_input_wins(lake: Lake, settings: Settings) -> None:
    # Rows out of order on purpose: `_seq`, not the row position, says which came later.
    batch = departures_batch([departure(delay=20, _seq=7), departure(delay=10, _seq=3)])
    counts = commit_batch(batch, lake, settings, "r1")
    assert (counts.inserted, counts.superseded) == (1, 1)
    assert _delays(lake) == {"T1": 20}


def test_equal_as_of_in_a_later_run_replaces(lake: Lake, settings: Settings) -> None:
    commit_batch(departures_batch([departure(delay=10)]), lake, settings, "r1")
    counts = commit_batch(departures_batch([departure(delay=30)]), lake, settings, "r2")
    assert counts.replaced == 1
    assert _delays(lake) == {"T1": 30}


def test_replacing_a_range_matches_rows_at_both_ends(lake: Lake, settings: Settings) -> None:
    # The MERGE carries the batch's time range as literal bounds (file pruning): rows at
    # the first and last instant must still match, never be inserted a second time.
    base = departure().get("scheduled_at")
    times = [base + timedelta(minutes=m) for m in (0, 7, 90)]
    first = [departure(trip=f"T{i}", scheduled=t, delay=i) for i, t in enumerate(times)]
    commit_batch(departures_batch(first), lake, settings, "r1")
    later = AS_OF + timedelta(hours=1)
    second = [
        departure(trip=f"T{i}", scheduled=t, delay=100 + i, as_of=later)
        for i, t in enumerate(times)
    ]
    counts = commit_batch(departures_batch(second), lake, settings, "r2")
    assert (counts.replaced, counts.inserted) == (3, 0)
    assert _delays(lake) == {"T0": 100, "T1": 101, "T2": 102}


def test_reingest_leaves_rows_as_stored(lake: Lake, settings: Settings) -> None:
    rows = [departure(trip=f"T{i}", delay=i) for i in range(5)]
    commit_batch(departures_batch(rows), lake, settings, "r1")
    version = open_delta(lake, "silver", "departures").version()  # type: ignore[union-attr]
    later = [{**row, "as_of": AS_OF + timedelta(days=1)} for row in rows]
    counts = commit_batch(departures_batch(later), lake, settings, "r2")
    assert (counts.read, counts.unchanged, counts.inserted, counts.replaced) == (5, 5, 0, 0)
    assert open_delta(lake, "silver", "departures").version() == version  # type: ignore[union-attr]
    stored = read_silver(lake, "departures")
    assert set(stored.column("run_id").to_pylist()) == {"r1"}
    assert set(stored.column("as_of").to_pylist()) == {AS_OF}


def test_counts_balance_on_a_mixed_batch(lake: Lake, settings: Settings) -> None:
    commit_batch(departures_batch([departure(trip="A", delay=1)]), lake, settings, "r1")
    batch = departures_batch(
        [
            departure(trip="A", delay=1),  # unchanged
            departure(trip="B", delay=2),  # inserted, then superseded within the input
            departure(trip="B", delay=3),
            departure(trip="C", delay=None),  # quarantined: no real-time value
            departure(trip="D", delay=None, cancelled=True),  # inserted, cancelled
        ]
    )
    counts = commit_batch(batch, lake, settings, "r2")
    assert counts.model_dump() == {
        "read": 5,
        "inserted": 2,
        "replaced": 0,
        "unchanged": 1,
        "superseded": 1,
        "quarantined": 1,
        "quarantined_by_code": {"no_realtime": 1},
    }
    assert counts.balanced


def test_quarantine_is_idempotent(lake: Lake, settings: Settings) -> None:
    batch = departures_batch([departure(trip="bad", delay=None), departure(network=None)])
    for run in ("r1", "r2"):
        assert commit_batch(batch, lake, settings, run).quarantined == 2
    rows = read_quarantine(lake, "departures").to_pylist()
    assert sorted(row["reason"] for row in rows) == ["missing network", "no real-time value"]
    assert {row["run_id"] for row in rows} == {"r1"}
    assert all(row["source"] == "file" and row["raw"] for row in rows)
    assert read_silver(lake, "departures").num_rows == 0


def test_weather_merge_on_location_and_hour(lake: Lake, settings: Settings) -> None:
    counts = commit_batch(
        weather_batch([weather(), weather(location="W2"), weather(precipitation=-1.0)]),
        lake,
        settings,
        "r1",
    )
    assert (counts.inserted, counts.quarantined) == (2, 1)
    assert read_quarantine(lake, "weather_hourly").column("reason").to_pylist() == [
        "negative precipitation_mm"
    ]


def test_ingest_batches_writes_the_manifest(lake: Lake, settings: Settings) -> None:
    batches = [
        departures_batch([departure(trip="A"), departure(trip="B", delay=None)]),
        departures_batch([departure(trip="C")]),
        weather_batch([weather()]),
    ]
    manifest = ingest_batches(
        batches, lake, settings, "run-1", source="file", parameters={"path": "x.csv"}
    )
    stored = read_manifest(lake, "run-1")
    assert stored.status == "succeeded"
    assert stored.counts["departures"].model_dump() == {
        "read": 3,
        "inserted": 2,
        "replaced": 0,
        "unchanged": 0,
        "superseded": 0,
        "quarantined": 1,
        "quarantined_by_code": {"no_realtime": 1},
    }
    assert stored.counts["weather_hourly"].inserted == 1
    assert stored.inputs == ["test-input"]
    assert stored.parameters == {"path": "x.csv"}
    assert "commit" in stored.timings_s
    assert manifest == stored


def test_ingest_batches_records_a_failure(lake: Lake, settings: Settings) -> None:
    def batches():  # type: ignore[no-untyped-def]
        yield departures_batch([departure()])
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        ingest_batches(batches(), lake, settings, "run-2", source="file", parameters={})
    stored = read_manifest(lake, "run-2")
    assert stored.status == "failed"
    assert stored.error == "source went away"
    assert stored.counts["departures"].inserted == 1


def test_a_lost_commit_is_retried_and_loses_nothing(
    lake: Lake,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another writer commits between this MERGE's read and its commit: the commit fails,
    is retried on the table as it now is, and both writers' rows are kept, the newer record
    of a key they share winning.

    Mutations: `COMMIT_ATTEMPTS = 1` (the conflict is raised as a LakeError); planning
    once outside `attempt` in `merge_silver` and dropping the `s.as_of >= t.as_of` guard
    (the retry overwrites the other writer's newer `shared` row with the older one)."""
    commit_batch(departures_batch([departure(trip="seed")]), lake, settings, "r0")
    real = _silver.ensure_table
    calls: list[str] = []

    def ensure_then_interlope(*args: Any, **kwargs: Any) -> Any:
        table = real(*args, **kwargs)
        calls.append("ensure")
        # The 2nd call is the MERGE's own open, after its plan read the table.
        if len(calls) == 2:
            newer = departure(trip="shared", delay=77, as_of=AS_OF + timedelta(hours=1))
            batch = departures_batch([departure(trip="other"), newer])
            commit_batch(batch, lake, settings, "run-other")
        return table

    monkeypatch.setattr(_silver, "ensure_table", ensure_then_interlope)
    with caplog.at_level(logging.INFO, logger="umwi.transform"):
        mine = commit_batch(
            departures_batch([departure(trip="mine"), departure(trip="shared", delay=1)]),
            lake,
            settings,
            "run-mine",
        )
    retries = [r.getMessage() for r in caplog.records if "commit conflict" in r.getMessage()]
    assert retries == ["silver/departures: commit conflict, retrying (1)"]
    assert (mine.inserted, mine.superseded) == (1, 1)
    assert _delays(lake) == {"seed": 0, "mine": 0, "other": 0, "shared": 77}


def test_racing_writers_lose_nothing(lake: Lake, settings: Settings) -> None:
    commit_batch(departures_batch([departure(trip="seed")]), lake, settings, "r0")
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(4):
                batch = departures_batch([departure(trip=f"{name}-{i}", delay=i)])
                commit_batch(batch, lake, settings, f"run-{name}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    trips = set(read_silver(lake, "departures").column("trip_id").to_pylist())
    assert trips == {"seed"} | {f"{n}-{i}" for n in ("a", "b") for i in range(4)}


def test_silver_schema_is_the_contract(lake: Lake, settings: Settings) -> None:
    commit_batch(departures_batch([departure()]), lake, settings, "r1")
    schema = read_silver(lake, "departures").schema
    assert schema.field("scheduled_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("delay_s").type == pa.int32()
    assert "_seq" not in schema.names


def test_quarantine_merge_reads_only_recent_files_and_still_dedups_old_records(
    lake: Lake, settings: Settings
) -> None:
    """Quarantine rows of runs on three past days, then today's run: its MERGE skips the
    older files, and re-running a record first quarantined weeks ago adds nothing.

    Mutation: drop the `t.ingested_at >=` bound and the MERGE scans every file (red);
    drop the `record_hash` lookup and the old record comes back as a duplicate (red)."""
    for day in (1, 10, 20):
        ingested = datetime(2026, 1, day, 12, tzinfo=UTC)
        rows = [
            departure(trip=f"bad-{day}-{i}", delay=None, ingested_at=ingested) for i in range(3)
        ]
        commit_batch(departures_batch(rows), lake, settings, f"r{day}")
    old = departure(trip="bad-1-0", delay=None, ingested_at=datetime(2026, 1, 1, 12, tzinfo=UTC))
    today = departures_batch([old, departure(trip="bad-today", delay=None)])
    assert commit_batch(today, lake, settings, "today").quarantined == 2
    stored = read_quarantine(lake, "departures")
    assert stored.num_rows == 10  # nine old, one new: the old record is not stored twice
    delta = open_delta(lake, "quarantine", "departures")
    assert delta is not None
    merge = delta.history(1)[0]
    assert merge["operation"] == "MERGE"
    metrics = merge["operationMetrics"]
    assert metrics["num_target_files_skipped_during_scan"] >= 3, metrics
    assert metrics["num_target_files_scanned"] == 0, metrics
