"""The ingest result table: counts per run and table, quarantine causes below it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from umwi.cli._output import show_table
from umwi.cli._present import ingest_table, quarantine_causes
from umwi_flows import IngestSummary


def _summary() -> IngestSummary:
    return IngestSummary.model_validate(_raw())


def _raw() -> dict[str, Any]:
    return {
        "run_id": "r0",
        "ingest_runs": [
            {
                "run_id": "r1",
                "held_by_others": 0,
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
                "run_id": "r2",
                "held_by_others": 0,
                "stream": "file",
                "status": "done",
                "windows": 1,
                "skipped": 0,
                "counts": {"weather_hourly": {"read": 3, "inserted": 3, "quarantined": 0}},
            },
        ],
        "failed": {},
    }


def test_causes_are_counted_per_stream_and_table_most_frequent_first() -> None:
    """Mutation: sort the codes by name and `unknown_stop` comes first."""
    assert quarantine_causes(_summary()) == [
        "quarantined gtfs_rt:auckland departures: 6,335 unknown_trip, 2 unknown_stop"
    ]


@pytest.mark.parametrize("width", [200, 80])
def test_the_table_shows_the_causes_under_it(width: int) -> None:
    """As a table and, at 80 columns, as records. Mutation: drop the caption in
    `ingest_table` (or in `records_view`) and the line is gone."""
    console = Console(width=width, record=True, file=io.StringIO())
    show_table(ingest_table(_summary()), console)
    text = console.export_text()
    assert "quarantined gtfs_rt:auckland departures: 6,335 unknown_trip, 2 unknown_stop" in text
    assert text.rstrip().endswith("2 unknown_stop")


def test_runs_from_before_codes_show_no_causes() -> None:
    """A manifest without `quarantined_by_code` (older runs) still renders, without a line."""
    raw = _raw()
    del raw["ingest_runs"][0]["counts"]["departures"]["quarantined_by_code"]
    assert quarantine_causes(IngestSummary.model_validate(raw)) == []
