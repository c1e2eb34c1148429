"""Quarantine tables from before `reason_code`: evolved on the next MERGE, coded by `maintain`."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import QUARANTINE
from umwi_core.lake import Lake
from umwi_core.settings import Settings
from umwi_transform import commit_batch, maintain, read_quarantine
from umwi_transform._reason_codes import LEGACY_PATTERNS
from umwi_transform._rules import check_batch

from tests.packages.umwi_transform.factory import departure, departures_batch

#: One reason text per site as the connectors and rules wrote them, with the code the
#: site now sets. A quoted value never decides the code (`'just outside noon'` is a bad time).
OLD_REASONS = [
    ("CSV row 3: 3 fields, expected 7", "bad_row"),
    ("unknown trip '14770005017-20250101' (not in the static GTFS feed)", "unknown_trip"),
    ("unknown stop: stop_sequence 4 (stop '9') is not in trip 'T1'", "unknown_stop"),
    ("trip-level delay without stop_time_updates (not propagated to stops)", "trip_delay_only"),
    (
        "accumulated values of 2026-01-01T23:00Z are reported at the next hour, which the "
        "response lacks",
        "incomplete_hour",
    ),
    ("stop 'S1' (sequence 2) of trip 'T1' has no scheduled time in stop_times", "no_schedule"),
    ("realtime departure without base_departure_date_time", "no_schedule"),
    ("scheduled_at: 'just outside noon' is not an ISO 8601 time", "bad_time"),
    ("scheduled_at: 2026-01-01T08:00 has no UTC offset and no --timezone was given", "bad_time"),
    ("time is 5, not an ISO 8601 string", "bad_time"),
    ("time 'x' is not ISO 8601", "bad_time"),
    ("start_date '2026-01-01' is not YYYYMMDD", "bad_time"),
    ("base_departure_date_time 'x' is not YYYYMMDDTHHMMSS", "bad_time"),
    ("departure_date_time is None, not a Navitia date-time string", "bad_time"),
    (
        "departure_date_time 20260329T023000 does not exist in Europe/Paris (skipped by a DST "
        "change)",
        "bad_time",
    ),
    ("hour not whole", "bad_time"),
    ("delay_s: '99999999999' is out of the int32 range", "out_of_range"),
    ("delay_s: '12.5' is not an integer", "bad_value"),
    ("stop_lat: 'north' is not a number", "bad_value"),
    ("stop_lat: 'inf' is not a finite number", "bad_value"),
    ("cancelled: 'maybe' is not true or false", "bad_value"),
    ("[1] is not a string", "bad_value"),
    ("stop_point.coord.lat is 'x', not a number", "bad_value"),
    ("temperature_2m is nan, not a finite number", "bad_value"),
    ("weather_code is 1.5, not a small whole number", "bad_value"),
    ("record is not a JSON object", "bad_value"),
    ("display_informations or route is not an object", "bad_value"),
    ("data_freshness 'x' is neither realtime nor base_schedule", "bad_value"),
    ("missing trip_id", "missing_key"),
    ("stop_point is missing", "missing_key"),
    ("no trip_id (stop_point.id / route.line.id / vehicle_journey link)", "missing_key"),
    ("trip update without trip_id", "missing_key"),
    ("no real-time value", "no_realtime"),
    ("observed_at and delay_s disagree by more than 1 s", "conflict"),
    ("stop_lat outside -90…90", "out_of_range"),
    ("weather_code outside the WMO 4677 table (0–99)", "out_of_range"),
    ("negative precipitation_mm", "out_of_range"),
    ("|delay_s| over 2 days", "out_of_range"),
    ("something a future version wrote", "other"),
]


def _rule_reasons() -> list[tuple[str, str]]:
    """(reason, code) pairs the silver rules write today."""
    rows = [
        departure(network=None),
        departure(lat=95.0),
        departure(delay=3 * 86_400),
        departure(delay=None),
        departure(delay=10, observed_at=datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)),
    ]
    batch = departures_batch(rows)
    quarantine = check_batch("departures", batch.records, "file", "r", datetime.now(UTC)).quarantine
    return list(
        zip(
            quarantine.column("reason").to_pylist(),
            quarantine.column("reason_code").to_pylist(),
            strict=True,
        )
    )


def _old_table(lake: Lake, reasons: list[str]) -> None:
    """`quarantine/departures` as the previous release wrote it: no `reason_code`."""
    old = pa.schema([f for f in arrow_schema(QUARANTINE) if f.name != "reason_code"])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "record_hash": f"h{i}",
            "source": "file",
            "reason": reason,
            "raw": "{}",
            "ingested_at": now,
            "run_id": "old",
        }
        for i, reason in enumerate(reasons)
    ]
    write_deltalake(lake.uri("quarantine/departures"), pa.Table.from_pylist(rows, schema=old))


def test_old_rows_get_their_code_once_from_maintain(lake: Lake, settings: Settings) -> None:
    """Every old text gets the code its site sets now; the MERGE before evolves the schema.

    Mutation: drop `merge_schema=True` in `merge_quarantine` and the commit fails on the old
    table; move `("% outside %", …)` to the top of LEGACY_PATTERNS and the quoted time
    `'just outside noon'` becomes out_of_range; skip `code_old_rejections` in `maintain` and
    the old codes stay null.
    """
    examples = OLD_REASONS + _rule_reasons()
    _old_table(lake, [text for text, _ in examples])
    counts = commit_batch(departures_batch([departure(trip="", delay=1)]), lake, settings, "new")
    assert counts.quarantined_by_code == {"missing_key": 1}
    stored = read_quarantine(lake, "departures").to_pylist()
    assert [row["reason_code"] for row in stored if row["run_id"] == "new"] == ["missing_key"]

    report = maintain(lake, settings, retain_hours=168)

    assert report["quarantine/departures"]["reason_codes_filled"] == len(examples)  # type: ignore[index]
    coded = {
        row["reason"]: row["reason_code"]
        for row in read_quarantine(lake, "departures").to_pylist()
        if row["run_id"] == "old"
    }
    assert coded == dict(examples)
    version = DeltaTable(lake.uri("quarantine/departures")).version()
    again = maintain(lake, settings, retain_hours=168)
    assert again["quarantine/departures"]["reason_codes_filled"] == 0  # type: ignore[index]
    assert DeltaTable(lake.uri("quarantine/departures")).version() <= version + 1  # compaction only


def test_a_table_that_never_merged_again_gains_the_column(lake: Lake, settings: Settings) -> None:
    """Mutation: drop the `alter.add_columns` step and `maintain` fails on the update."""
    _old_table(lake, ["no real-time value", "missing stop_id"])
    report = maintain(lake, settings, retain_hours=168)
    assert report["quarantine/departures"]["reason_codes_filled"] == 2  # type: ignore[index]
    codes = read_quarantine(lake, "departures").column("reason_code").to_pylist()
    assert sorted(codes) == ["missing_key", "no_realtime"]


def test_every_legacy_pattern_has_an_example() -> None:
    """Mutation: add a pattern without an example in OLD_REASONS and this fails."""
    import fnmatch

    def like(text: str, pattern: str) -> bool:
        return fnmatch.fnmatchcase(text, pattern.replace("[", "[[]").replace("%", "*"))

    for pattern, code in LEGACY_PATTERNS:
        assert any(like(text, pattern) and c == code for text, c in OLD_REASONS), pattern
