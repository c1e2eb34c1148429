from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from umwi_core.errors import InputError
from umwi_core.ledger import WindowStatus
from umwi_core.resources import make_ledger
from umwi_core.settings import Settings, load_settings
from umwi_flows import claim, day_windows, parse_day

WINDOWS = [f"2026-01-{day:02d}" for day in range(1, 31)]


def test_parse_day() -> None:
    assert parse_day("2026-03-29", "--start") == date(2026, 3, 29)
    assert parse_day("2026-03-29T00:00:00Z", "--start") == date(2026, 3, 29)
    with pytest.raises(InputError, match="--end: '2026-3-1' is not a date"):
        parse_day("2026-3-1", "--end")
    with pytest.raises(InputError, match="must be a UTC day"):
        parse_day("2026-03-29T05:00:00+02:00", "--start")


def test_day_windows_are_half_open() -> None:
    assert day_windows(date(2026, 1, 30), date(2026, 2, 2)) == [
        date(2026, 1, 30),
        date(2026, 1, 31),
        date(2026, 2, 1),
    ]
    with pytest.raises(InputError, match="--end 2026-01-01 must be after --start 2026-01-01"):
        day_windows(date(2026, 1, 1), date(2026, 1, 1))


def test_done_windows_are_skipped_unless_forced(settings: Settings) -> None:
    ledger = make_ledger(settings)
    first = claim(ledger, "s", WINDOWS[:3], "run-1")
    for window in first.taken:
        ledger.complete("s", window, "run-1", {"rows": 1})
    again = claim(ledger, "s", WINDOWS[:4], "run-2")
    assert again.taken == [WINDOWS[3]]
    assert again.done_already == WINDOWS[:3]
    forced = claim(ledger, "s", WINDOWS[:3], "run-3", force=True)
    assert forced.taken == WINDOWS[:3]


def test_a_crashed_runs_windows_are_resumed_after_its_lease(settings: Settings) -> None:
    ledger = make_ledger(settings)
    crashed = claim(ledger, "s", WINDOWS[:2], "crashed", lease_s=0)
    assert crashed.taken == WINDOWS[:2]
    live = claim(ledger, "t", WINDOWS[:2], "alive", lease_s=900)
    resumed = claim(ledger, "s", WINDOWS[:2], "next")
    blocked = claim(ledger, "t", WINDOWS[:2], "other")
    assert resumed.taken == WINDOWS[:2]
    assert blocked.taken == []
    assert blocked.held_by_others == live.taken
    record = ledger.get("s", WINDOWS[0])
    assert record is not None
    assert record.run_id == "next"
    assert record.status == WindowStatus.RUNNING


def test_two_threads_never_claim_the_same_window(settings: Settings) -> None:
    ledger = make_ledger(settings)

    def take(run_id: str) -> list[str]:
        return claim(ledger, "stream", WINDOWS, run_id).taken

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(take, ["run-a", "run-b"]))
    assert sorted(results[0] + results[1]) == WINDOWS
    assert not set(results[0]) & set(results[1])


def _claim_in_process(state_dir: str, run_id: str, queue: multiprocessing.Queue[list[str]]) -> None:
    ledger = make_ledger(load_settings(state_dir=Path(state_dir)))
    queue.put(claim(ledger, "stream", WINDOWS, run_id).taken)


def test_two_processes_never_claim_the_same_window(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[str]] = context.Queue()
    workers = [
        context.Process(target=_claim_in_process, args=(str(tmp_path), f"run-{n}", queue))
        for n in range(3)
    ]
    for worker in workers:
        worker.start()
    taken = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    flat = [window for part in taken for window in part]
    assert sorted(flat) == WINDOWS
    assert len(flat) == len(set(flat))
