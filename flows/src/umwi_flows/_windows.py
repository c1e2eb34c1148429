"""Windows of work recorded in the state ledger: which (stream, window) to do, and claims.

A stream is one source instance (`open_meteo:paris`, `sample:7`); a window is one UTC day
(`2026-11-27`) or one input (`sha256:…`). Claims carry a lease, so a crashed run's
windows become claimable again once the lease ends (resume).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from umwi_connectors import SourceJob
from umwi_core.errors import InputError
from umwi_core.ledger import DEFAULT_LEASE_S, Ledger, WindowStatus


def parse_day(value: str, option: str) -> date:
    """A `YYYY-MM-DD` (or ISO datetime at midnight UTC) option value."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None
    if moment.utcoffset() not in (None, timedelta(0)) or moment.time() != datetime.min.time():
        raise InputError(f"{option}: {value!r} must be a UTC day (YYYY-MM-DD)")
    return moment.date()


def day_windows(start: date, end: date) -> list[date]:
    """Every day in [start, end); `InputError` when the range is empty or reversed."""
    if end <= start:
        raise InputError(f"--end {end} must be after --start {start}")
    return [start + timedelta(days=offset) for offset in range((end - start).days)]


def job_windows(job: SourceJob, start: date | None, end: date | None, now: datetime) -> list[str]:
    """The windows of a job over [start, end) (else its options' own range), or its input."""
    if not job.by_day:
        return [job.input_window(now)]
    if start is None and end is None:
        start, end = job.default_range() or (None, None)
    if start is None or end is None:
        raise InputError(f"{job.source}: --start and --end are required")
    return [day.isoformat() for day in day_windows(start, end)]


def complete_at(job: SourceJob, window: str) -> datetime | None:
    """When the window's data can no longer change (a day's end); None: at once."""
    if not job.by_day:
        return None
    day = datetime.combine(date.fromisoformat(window), datetime.min.time(), UTC)
    return day + timedelta(days=1)


@dataclass
class Claims:
    """The windows of one stream a run took, and those it had to leave to others."""

    stream: str
    run_id: str
    taken: list[str] = field(default_factory=list)
    done_already: list[str] = field(default_factory=list)
    held_by_others: list[str] = field(default_factory=list)


def claim(
    ledger: Ledger,
    stream: str,
    windows: Iterable[str],
    run_id: str,
    *,
    force: bool = False,
    lease_s: float = DEFAULT_LEASE_S,
) -> Claims:
    """Claim each window; a done one is skipped unless `force`, a live claim is left alone."""
    claims = Claims(stream=stream, run_id=run_id)
    for window in windows:
        if ledger.claim(stream, window, run_id, lease_s=lease_s, force=force):
            claims.taken.append(window)
            continue
        record = ledger.get(stream, window)
        if record is not None and record.status == WindowStatus.DONE:
            claims.done_already.append(window)
        else:
            claims.held_by_others.append(window)
    return claims


__all__ = [
    "DEFAULT_LEASE_S",
    "Claims",
    "claim",
    "complete_at",
    "day_windows",
    "job_windows",
    "parse_day",
]
