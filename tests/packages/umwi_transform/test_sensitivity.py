"""The sensitivity rank: by the uplift's lower bound, only for lines with enough wet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
from umwi_transform._sensitivity import line_sensitivity

START = datetime(2026, 1, 5, tzinfo=UTC)


def _days(line: str, wet_hours_per_day: int, wet_delay_s: float, days: int) -> list[dict]:
    """Per-day sums of one line: 10 dry hours at 60 s and some wet hours, 10 departures each,
    with a little day-to-day noise so the day-clustered interval is defined."""
    rng = np.random.default_rng(len(line) + wet_hours_per_day)
    rows = []
    for day in range(days):
        wet_kept = 10 * wet_hours_per_day
        wet_delay = wet_delay_s + float(rng.normal(0, 5))
        dry_delay = 60.0 + float(rng.normal(0, 5))
        rows.append(
            {
                "network": "n",
                "line_id": line,
                "day": START + timedelta(days=day),
                "wet_cells": wet_hours_per_day,
                "wet_departures": wet_kept,
                "wet_on_time": wet_kept // 2,
                "wet_kept": wet_kept,
                "wet_delay_sum": wet_delay * wet_kept,
                "dry_cells": 10,
                "dry_departures": 100,
                "dry_on_time": 90,
                "dry_kept": 100,
                "dry_delay_sum": dry_delay * 100,
            }
        )
    return rows


def test_lines_with_too_few_wet_hours_get_no_rank() -> None:
    """Three lines over 10 days: A (4 wet h/day, +240 s), B (4 wet h/day, +120 s) and C
    (1 wet h/day, +600 s: the largest uplift, but 10 wet hours < 30). A ranks 1, B 2, C
    none, and `*` none. Mutation: drop `wet_hours[i] >= min_wet_hours` in `_ranks` → C
    ranks 1: red."""
    rows = _days("A", 4, 300.0, 10) + _days("B", 4, 180.0, 10) + _days("C", 1, 660.0, 10)
    table = line_sensitivity(pa.Table.from_pylist(rows), 30)
    ranks = {row["line_id"]: row["rank"] for row in table.to_pylist() if row["period"] == "all"}
    wet = {row["line_id"]: row["wet_hours"] for row in table.to_pylist() if row["period"] == "all"}
    assert wet == {"A": 40, "B": 40, "C": 10} | ({"*": wet["*"]} if "*" in wet else {})
    assert {line: ranks[line] for line in ("A", "B", "C")} == {"A": 1, "B": 2, "C": None}
    assert ranks.get("*") is None
