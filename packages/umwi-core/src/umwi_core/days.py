"""UTC days grouped into half-open ranges (ingestion spans, incremental gold builds)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def day_spans(days: Iterable[date], max_days: int | None = None) -> list[tuple[date, date]]:
    """Consecutive days merged into [first, last + 1) ranges, each at most `max_days` long."""
    result: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if result:
            first, end = result[-1]
            if day == end and (max_days is None or (end - first).days < max_days):
                result[-1] = (first, day + timedelta(days=1))
                continue
        result.append((day, day + timedelta(days=1)))
    return result


__all__ = ["day_spans"]
