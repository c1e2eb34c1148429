from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from umwi_core import _dynamo_ledger, _sqlite_ledger
from umwi_core.errors import LedgerError
from umwi_core.ledger import Ledger, WindowStatus
from umwi_core.resources import make_ledger
from umwi_core.settings import Settings


@pytest.fixture
def ledger(mode_settings: Settings) -> Ledger:
    return make_ledger(mode_settings)


def test_claim_complete_skip_and_force(ledger: Ledger) -> None:
    assert ledger.claim("sample", "2026-01-01", "run-a")
    assert not ledger.claim("sample", "2026-01-01", "run-b")
    ledger.complete("sample", "2026-01-01", "run-a", {"inserted": 3})
    record = ledger.get("sample", "2026-01-01")
    assert record is not None
    assert record.status is WindowStatus.DONE
    assert record.info == {"inserted": 3}
    assert record.finished_at is not None
    assert not ledger.claim("sample", "2026-01-01", "run-c")
    assert ledger.claim("sample", "2026-01-01", "run-c", force=True)
    assert ledger.get("sample", "2026-01-01").run_id == "run-c"  # type: ignore[union-attr]


def test_failed_window_is_retried(ledger: Ledger) -> None:
    assert ledger.claim("navitia", "w1", "run-a")
    ledger.fail("navitia", "w1", "run-a", "HTTP 500")
    record = ledger.get("navitia", "w1")
    assert record is not None
    assert record.status is WindowStatus.FAILED
    assert record.info == {"reason": "HTTP 500"}
    assert ledger.claim("navitia", "w1", "run-b")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The ledgers' clock, set by the test: a lease ends when the test says, not when a
    request to a busy moto server happens to return."""
    now = [datetime(2026, 1, 5, 8, tzinfo=UTC)]
    for module in (_sqlite_ledger, _dynamo_ledger):
        monkeypatch.setattr(module, "utc_now", lambda: now[0])
    return now


def test_expired_lease_lets_another_run_resume(ledger: Ledger, clock: list[datetime]) -> None:
    """Mutation: claiming only when the holder's `lease_until` is later than now (the
    comparison reversed) turns both halves red."""
    assert ledger.claim("weather", "w", "crashed-run", lease_s=60)
    clock[0] += timedelta(seconds=59)
    assert not ledger.claim("weather", "w", "run-b")
    clock[0] += timedelta(seconds=2)
    assert ledger.claim("weather", "w", "run-b")
    with pytest.raises(LedgerError, match="does not hold"):
        ledger.complete("weather", "w", "crashed-run", {})
    ledger.complete("weather", "w", "run-b", {})


def test_renew_only_by_holder(ledger: Ledger) -> None:
    assert ledger.claim("s", "w", "a", lease_s=60)
    assert ledger.renew("s", "w", "a", lease_s=120)
    assert not ledger.renew("s", "w", "b")


def test_concurrent_claims_have_one_winner(ledger: Ledger) -> None:
    winners: list[str] = []
    lock = threading.Lock()

    def claim(run: str) -> None:
        if ledger.claim("gtfs_rt", "2026-01-02", run):
            with lock:
                winners.append(run)

    threads = [threading.Thread(target=claim, args=(f"run-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_records_are_listed_per_source(ledger: Ledger) -> None:
    ledger.claim("b", "2", "r")
    ledger.claim("a", "1", "r")
    ledger.claim("b", "1", "r")
    assert [(r.source, r.window) for r in ledger.records()] == [("a", "1"), ("b", "1"), ("b", "2")]
    assert [r.window for r in ledger.records("b")] == ["1", "2"]
