"""SilverLoader: staging across batches, time windows, quarantine, failure paths."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from umwi_core.arrow import StagedBatch
from umwi_core.lake import Lake
from umwi_core.runs import read_manifest
from umwi_core.settings import Settings
from umwi_transform import (
    SilverLoader,
    commit_batch,
    ingest_batches,
    open_delta,
    read_quarantine,
    read_silver,
)
from umwi_transform._loader import hour_windows

from tests.packages.umwi_transform.factory import (
    AS_OF,
    T0,
    at,
    departure,
    departures_batch,
)

HOUR = timedelta(hours=1)


def _h(n: int) -> datetime:
    return T0 + n * HOUR


def _silver(lake: Lake) -> dict[tuple[str, datetime], tuple[int | None, str]]:
    """(trip, scheduled_at) -> (delay_s, run_id) of every silver row; no key twice."""
    rows = read_silver(lake, "departures").to_pylist()
    found = {(r["trip_id"], r["scheduled_at"]): (r["delay_s"], r["run_id"]) for r in rows}
    assert len(found) == len(rows), "a key is stored twice"
    return found


def _version(lake: Lake) -> int | None:
    delta = open_delta(lake, "silver", "departures")
    return None if delta is None else delta.version()


def _counts(loader: SilverLoader, batches: list[StagedBatch]) -> dict[str, int]:
    for batch in batches:
        loader.add(batch)
    counts = loader.finish()
    assert set(counts) == {"departures"}
    assert counts["departures"].balanced
    return counts["departures"].model_dump()


# --- hour_windows -------------------------------------------------------------------------


def test_hour_windows_of_nothing_is_nothing() -> None:
    assert hour_windows([], 10) == []


def test_hour_windows_pack_hours_up_to_the_limit() -> None:
    hours = [(_h(0), 1), (_h(1), 1), (_h(2), 1), (_h(3), 1), (_h(4), 1)]
    assert hour_windows(hours, 2) == [(_h(0), _h(2)), (_h(2), _h(4)), (_h(4), _h(5))]
    # Exactly the limit still fits; one row more opens a new window.
    assert hour_windows([(_h(0), 2), (_h(1), 1)], 3) == [(_h(0), _h(2))]
    assert hour_windows([(_h(0), 2), (_h(1), 2)], 3) == [(_h(0), _h(1)), (_h(1), _h(2))]
    assert hour_windows(hours, 100) == [(_h(0), _h(5))]


def test_an_hour_over_the_limit_gets_its_own_window() -> None:
    hours = [(_h(0), 1), (_h(1), 10), (_h(2), 1)]
    assert hour_windows(hours, 5) == [(_h(0), _h(1)), (_h(1), _h(2)), (_h(2), _h(3))]
    assert hour_windows([(_h(0), 10), (_h(1), 1)], 5) == [(_h(0), _h(1)), (_h(1), _h(2))]
    assert hour_windows([(_h(0), 10)], 5) == [(_h(0), _h(1))]


def test_hour_windows_skip_gaps_and_end_one_hour_after_their_last_hour() -> None:
    hours = [(_h(0), 1), (_h(5), 1), (_h(9), 3), (_h(30), 1)]
    assert hour_windows(hours, 2) == [(_h(0), _h(6)), (_h(9), _h(10)), (_h(30), _h(31))]


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(1, 30), st.integers(1, 12)), min_size=1, max_size=40),
    limit=st.integers(1, 20),
)
def test_hour_windows_cover_every_hour_once_without_overlap(
    steps: list[tuple[int, int]], limit: int
) -> None:
    hours: list[tuple[datetime, int]] = []
    offset = 0
    for gap, rows in steps:
        offset += gap
        hours.append((_h(offset), rows))
    windows = hour_windows(hours, limit)
    for (_, end), (start, _) in pairwise(windows):
        assert end <= start
    assert all(start < end for start, end in windows)
    remaining = list(hours)
    for index, (start, end) in enumerate(windows):
        inside = [(hour, rows) for hour, rows in remaining if start <= hour < end]
        assert inside, "empty window"
        assert inside == remaining[: len(inside)], "window skips an hour"
        assert inside[0][0] == start
        assert end == inside[-1][0] + HOUR
        total = sum(rows for _, rows in inside)
        assert total <= limit or len(inside) == 1
        remaining = remaining[len(inside) :]
        if index + 1 < len(windows):  # greedy: the next hour would not have fit
            assert total + remaining[0][1] > limit
    assert remaining == []


# --- SilverLoader -----------------------------------------------------------------------------


def test_later_batch_wins_a_tie_and_counts_are_exact(lake: Lake, settings: Settings) -> None:
    commit_batch(
        departures_batch([departure(trip="C", delay=3), departure(trip="D", delay=4)]),
        lake,
        settings,
        "r0",
    )
    batches = [
        departures_batch(
            [
                # A high `_seq` in the first batch still loses to the second batch's A.
                departure(trip="A", delay=1, _seq=7),
                departure(trip="C", delay=3),  # unchanged
                departure(trip="B", delay=2),
            ]
        ),
        departures_batch(
            [
                departure(trip="A", delay=5, _seq=0),  # same key and as_of: wins
                departure(trip="D", delay=40),  # replaces r0's row
                departure(trip="B", delay=99, as_of=AS_OF - HOUR),  # older: superseded
            ]
        ),
        departures_batch(
            [
                departure(trip="A", delay=None),  # quarantined, never overrides A
                departure(trip="E", delay=6),
            ]
        ),
    ]
    with SilverLoader(lake, settings, "r1") as loader:
        counts = _counts(loader, batches)
    assert counts == {
        "read": 8,
        "inserted": 3,  # A, B, E
        "replaced": 1,  # D
        "unchanged": 1,  # C
        "superseded": 2,  # A of the first batch, the older B
        "quarantined": 1,
        "quarantined_by_code": {"no_realtime": 1},
    }
    assert _silver(lake) == {
        ("A", T0): (5, "r1"),
        ("B", T0): (2, "r1"),
        ("C", T0): (3, "r0"),
        ("D", T0): (40, "r1"),
        ("E", T0): (6, "r1"),
    }


def test_a_tie_between_three_batches_goes_to_the_last(lake: Lake, settings: Settings) -> None:
    batches = [departures_batch([departure(delay=d, _seq=s)]) for d, s in ((1, 5), (2, 0), (3, 2))]
    with SilverLoader(lake, settings, "r1") as loader:
        counts = _counts(loader, batches)
    assert counts == {
        "read": 3,
        "inserted": 1,
        "replaced": 0,
        "unchanged": 0,
        "superseded": 2,
        "quarantined": 0,
        "quarantined_by_code": {},
    }
    assert _silver(lake) == {("T1", T0): (3, "r1")}


def test_rivals_are_judged_within_their_own_window_of_hours(lake: Lake, settings: Settings) -> None:
    """One-row windows: each key's rivals (same trip, stop and scheduled time) are in its
    hour's window, which picks the latest `as_of`, then the later record, alone.

    Mutation: drop the QUALIFY of `_commit_silver`'s window query (every rival stored):
    red."""
    batches = [
        departures_batch(
            [
                departure(trip="P", scheduled=at(5), delay=1),
                departure(trip="Q", scheduled=at(0), delay=2, as_of=AS_OF - HOUR),
                departure(trip="R", scheduled=at(9), delay=3),
            ]
        ),
        departures_batch(
            [
                departure(trip="Q", scheduled=at(0), delay=20),  # later as_of: wins
                departure(trip="P", scheduled=at(5), delay=10),  # same as_of, later: wins
                departure(trip="P", scheduled=at(5), delay=11, as_of=AS_OF - HOUR),
            ]
        ),
    ]
    with SilverLoader(lake, settings, "r1", window_rows=1) as loader:
        counts = _counts(loader, batches)
    assert counts["inserted"] == 3
    assert counts["superseded"] == 3
    assert _silver(lake) == {
        ("P", at(5)): (10, "r1"),
        ("Q", at(0)): (20, "r1"),
        ("R", at(9)): (3, "r1"),
    }


def _spread_batches() -> list[StagedBatch]:
    """8 rows over hours 0, 1, 2, 5, 6 (2 + 1 + 1 + 3 + 1 rows), out of order, in 3
    batches; with `window_rows=2` the windows are [0, 1), [1, 3), [5, 6), [6, 7)."""
    return [
        departures_batch(
            [
                departure(trip="h5a", scheduled=at(5)),
                departure(trip="h0a", scheduled=at(0)),
                departure(trip="h1", scheduled=at(1)),  # the first instant of hour 1
            ]
        ),
        departures_batch(
            [
                departure(trip="h6", scheduled=at(6, seconds=3599)),  # its last second
                departure(trip="h0b", scheduled=at(0, seconds=3599)),
                departure(trip="h5b", scheduled=at(5, seconds=1)),
            ]
        ),
        departures_batch(
            [
                departure(trip="h2", scheduled=at(2, seconds=1800)),
                departure(trip="h5c", scheduled=at(5, seconds=3599)),
            ]
        ),
    ]


def test_small_windows_commit_several_versions_and_each_row_once(
    lake: Lake, settings: Settings
) -> None:
    seed = departure(trip="seed", scheduled=at(-48))
    commit_batch(departures_batch([seed]), lake, settings, "r0")
    before = _version(lake)
    assert before is not None
    with SilverLoader(lake, settings, "r1", window_rows=2) as loader:
        counts = _counts(loader, _spread_batches())
    assert counts == {
        "read": 8,
        "inserted": 8,
        "replaced": 0,
        "unchanged": 0,
        "superseded": 0,
        "quarantined": 0,
        "quarantined_by_code": {},
    }
    # Hour 0 (2 rows; hour 1 would make 3), hours 1 and 2, hour 5 alone (3 > 2), hour 6.
    windows = [{"h0a", "h0b"}, {"h1", "h2"}, {"h5a", "h5b", "h5c"}, {"h6"}]
    assert _version(lake) == before + len(windows)
    seen = {"seed"}
    for number, window in enumerate(windows, start=1):
        trips = read_silver(lake, "departures", version=before + number).column("trip_id")
        assert sorted(trips.to_pylist()) == sorted(seen | window)
        seen |= window
    stored = _silver(lake)
    assert len(stored) == 9
    assert {trip for trip, _ in stored} == seen

    # The same input again, through a fresh loader: nothing to write.
    with SilverLoader(lake, settings, "r2", window_rows=2) as loader:
        again = _counts(loader, _spread_batches())
    assert again == {
        "read": 8,
        "inserted": 0,
        "replaced": 0,
        "unchanged": 8,
        "superseded": 0,
        "quarantined": 0,
        "quarantined_by_code": {},
    }
    assert _version(lake) == before + len(windows)
    assert _silver(lake) == stored


def test_quarantine_is_committed_once_and_only_by_finish(lake: Lake, settings: Settings) -> None:
    bad = departure(trip="bad", delay=None)  # no real-time value
    batches = [
        departures_batch([bad, departure(trip="A")]),
        departures_batch([departure(trip="B"), bad, departure(network="", trip="C")]),
    ]
    with SilverLoader(lake, settings, "r1", window_rows=1) as loader:
        for batch in batches:
            loader.add(batch)
        assert open_delta(lake, "silver", "departures") is None
        assert open_delta(lake, "quarantine", "departures") is None
        assert list(lake.list("")) == []
        counts = loader.finish()["departures"].model_dump()
    assert counts == {
        "read": 5,
        "inserted": 2,
        "replaced": 0,
        "unchanged": 0,
        "superseded": 0,
        "quarantined": 3,  # every record read; the table holds one row per record
        "quarantined_by_code": {"missing_key": 1, "no_realtime": 2},
    }
    rows = read_quarantine(lake, "departures").to_pylist()
    assert sorted(row["reason"] for row in rows) == ["missing network", "no real-time value"]
    assert len({row["record_hash"] for row in rows}) == 2
    assert {row["run_id"] for row in rows} == {"r1"}
    assert set(_silver(lake)) == {("A", T0), ("B", T0)}


def test_closing_without_finish_writes_nothing(lake: Lake, settings: Settings) -> None:
    rows = [departure(trip=f"T{i}", scheduled=at(i)) for i in range(3)]
    loader = SilverLoader(lake, settings, "r1", window_rows=1)
    folder = loader._folder
    assert folder.is_dir()
    loader.add(departures_batch([*rows, departure(trip="bad", delay=None)]))
    with pytest.raises(RuntimeError, match="stop"), loader:
        raise RuntimeError("stop")
    assert not folder.exists()
    assert list(lake.list("")) == []
    assert open_delta(lake, "silver", "departures") is None
    assert open_delta(lake, "quarantine", "departures") is None


def test_close_alone_removes_the_folder(lake: Lake, settings: Settings) -> None:
    loader = SilverLoader(lake, settings, "r1")
    loader.add(departures_batch([departure()]))
    loader.close()
    assert not loader._folder.exists()
    assert list(lake.list("")) == []


def test_ingest_commits_what_arrived_before_the_source_failed(
    lake: Lake, settings: Settings
) -> None:
    def batches() -> Iterator[StagedBatch]:
        yield departures_batch([departure(trip="A"), departure(trip="B", delay=None)])
        yield departures_batch([departure(trip="A", delay=7), departure(trip="C")])
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        ingest_batches(batches(), lake, settings, "run-f", source="file", parameters={"n": 2})
    stored = read_manifest(lake, "run-f")
    assert stored.status == "failed"
    assert stored.error == "source went away"
    assert stored.kind == "ingest"
    assert stored.parameters == {"n": 2}
    assert stored.inputs == ["test-input"]
    assert stored.finished_at is not None
    assert "commit" in stored.timings_s
    assert set(stored.counts) == {"departures"}
    assert stored.counts["departures"].model_dump() == {
        "read": 4,
        "inserted": 2,
        "replaced": 0,
        "unchanged": 0,
        "superseded": 1,
        "quarantined": 1,
        "quarantined_by_code": {"no_realtime": 1},
    }
    assert _silver(lake) == {("A", T0): (7, "run-f"), ("C", T0): (0, "run-f")}
    reasons = read_quarantine(lake, "departures").column("reason").to_pylist()
    assert reasons == ["no real-time value"]


def test_a_batch_that_fails_to_stage_is_left_out_whole(
    lake: Lake, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = SilverLoader._stage
    staged: list[str] = []

    def stage(self: SilverLoader, kind: str, table: str, rows: object) -> object:
        if kind == "staged":
            staged.append(table)
            if len(staged) == 2:
                raise MemoryError("Out of Memory Error: staging")
        return real(self, kind, table, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(SilverLoader, "_stage", stage)

    def batches() -> Iterator[StagedBatch]:
        yield departures_batch([departure(trip="A")])
        # Its quarantine row is staged before the valid rows fail: it must go too.
        yield departures_batch([departure(trip="B"), departure(trip="bad", delay=None)])

    with pytest.raises(MemoryError, match="staging"):
        ingest_batches(batches(), lake, settings, "run-x", source="file", parameters={})
    stored = read_manifest(lake, "run-x")
    assert stored.error == "Out of Memory Error: staging"
    assert stored.counts["departures"].model_dump() == {
        "read": 1,
        "inserted": 1,
        "replaced": 0,
        "unchanged": 0,
        "superseded": 0,
        "quarantined": 0,
        "quarantined_by_code": {},
    }
    assert set(_silver(lake)) == {("A", T0)}
    assert open_delta(lake, "quarantine", "departures") is None


def test_a_finished_loader_refuses_more(lake: Lake, settings: Settings) -> None:
    with SilverLoader(lake, settings, "r1") as loader:
        loader.add(departures_batch([departure()]))
        loader.finish()
        with pytest.raises(RuntimeError, match="has finished"):
            loader.finish()
        with pytest.raises(RuntimeError, match="has finished"):
            loader.add(departures_batch([departure(trip="late")]))
