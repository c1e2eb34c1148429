"""The ingest result table: counts per run and table, quarantine causes below it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from umwi_flows._runner import ingest_table, quarantine_causes


def _summary() -> dict[str, Any]:
    return {
        "ingest_runs": [
            {
                "stream": "gtfs_rt:auckland",
                "status": "done",
                "windows": 1,
                "skipped": 0,
                "counts": {
                    "departures": {
                        "read": 6501,
                        "inserted": 164,
                        "quarantined": 6337,
                        "quarantined_by_code": {"unknown_stop": 2, "unknown_trip": 6335},
                    }
                },
            },
            {
                "stream": "file",
                "status": "done",
                "windows": 1,
                "skipped": 0,
                "counts": {"weather_hourly": {"read": 3, "inserted": 3, "quarantined": 0}},
            },
        ]
    }


def test_causes_are_counted_per_stream_and_table_most_frequent_first() -> None:
    """Mutation: sort the codes by name and `unknown_stop` comes first."""
    assert quarantine_causes(_summary()) == [
        "quarantined gtfs_rt:auckland departures: 6,335 unknown_trip, 2 unknown_stop"
    ]


def test_the_table_shows_the_causes_under_it() -> None:
    """Mutation: drop the caption in `ingest_table` and the line is gone."""
    console = Console(width=200, record=True)
    console.print(ingest_table(_summary()))
    text = console.export_text()
    assert "quarantined gtfs_rt:auckland departures: 6,335 unknown_trip, 2 unknown_stop" in text
    assert text.rstrip().endswith("2 unknown_stop")


def test_runs_from_before_codes_show_no_causes() -> None:
    """A manifest without `quarantined_by_code` (older runs) still renders, without a line."""
    summary = _summary()
    del summary["ingest_runs"][0]["counts"]["departures"]["quarantined_by_code"]
    assert quarantine_causes(summary) == []
