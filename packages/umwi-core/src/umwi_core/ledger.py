"""The state ledger: which (source, window) each run claimed and finished.

Claims are conditional writes, so two concurrent runs never claim the same window. A
claim carries a lease: a run that died leaves a `running` claim whose lease expires,
after which another run may take the window over (resume).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class WindowStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class WindowRecord:
    source: str
    window: str
    status: WindowStatus
    run_id: str
    claimed_at: datetime
    lease_until: datetime
    finished_at: datetime | None = None
    info: dict[str, Any] = field(default_factory=dict)


def utc_now() -> datetime:
    return datetime.now(UTC)


#: How long a claim on a window lasts between renewals (`UMWI_LEDGER_LEASE_S`).
DEFAULT_LEASE_S = 900.0


def lease_end(now: datetime, lease_s: float) -> datetime:
    return now + timedelta(seconds=lease_s)


@runtime_checkable
class Ledger(Protocol):
    def claim(
        self,
        source: str,
        window: str,
        run_id: str,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        force: bool = False,
    ) -> bool:
        """Take the window for `run_id`.

        True when it is free, failed, or its holder's lease ran out (or when `force` and
        it is done). False when another run holds a live lease, or it is done (without
        `force`).
        """

    def renew(
        self, source: str, window: str, run_id: str, *, lease_s: float = DEFAULT_LEASE_S
    ) -> bool:
        """Extend the holder's lease; False when `run_id` no longer holds it."""

    def complete(self, source: str, window: str, run_id: str, info: dict[str, Any]) -> None:
        """Mark the window done by its holder (`LedgerError` when not the holder)."""

    def fail(self, source: str, window: str, run_id: str, reason: str) -> None:
        """Mark the window failed by its holder so the next run retries it."""

    def get(self, source: str, window: str) -> WindowRecord | None: ...

    def records(self, source: str | None = None) -> list[WindowRecord]:
        """Every record (of one source), ordered by source then window."""
