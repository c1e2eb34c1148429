from __future__ import annotations

from datetime import date

from umwi_core.days import day_spans


def test_consecutive_days_merge_up_to_a_length() -> None:
    """Mutation: drop the `max_days` test → the first span covers Jan 1–3 (three days)."""
    days = [date(2026, 1, d) for d in (1, 2, 3, 5, 6, 9)]
    assert day_spans(days, 2) == [
        (date(2026, 1, 1), date(2026, 1, 3)),
        (date(2026, 1, 3), date(2026, 1, 4)),
        (date(2026, 1, 5), date(2026, 1, 7)),
        (date(2026, 1, 9), date(2026, 1, 10)),
    ]


def test_without_a_length_every_run_of_days_is_one_span() -> None:
    days = [date(2026, 1, d) for d in (3, 1, 2, 2, 5)]
    assert day_spans(days) == [
        (date(2026, 1, 1), date(2026, 1, 4)),
        (date(2026, 1, 5), date(2026, 1, 6)),
    ]
    assert day_spans([]) == []
