"""Codes for quarantine rows written before `reason_code` existed (DESIGN.md §3).

New rows get their code where they are rejected. Older rows only have the reason text, so
`umwi maintain` codes them once, matching the texts the connectors and rules wrote, in
order (value-bearing formats before generic words, since a reason quotes the bad value);
a text no pattern matches gets `other`.
"""

from __future__ import annotations

from deltalake import DeltaTable
from deltalake.schema import Field, PrimitiveType
from umwi_core.contracts import ReasonCode
from umwi_core.lake import Lake

from umwi_transform._delta import with_commit_retry
from umwi_transform._engine import sql_string
from umwi_transform.catalog import open_delta

#: SQL LIKE patterns over the old reason texts, first match wins.
LEGACY_PATTERNS: tuple[tuple[str, ReasonCode], ...] = (
    ("CSV row %: % fields, expected %", "bad_row"),
    ("unknown trip %", "unknown_trip"),
    ("unknown stop: %", "unknown_stop"),
    ("trip-level delay without stop_time_updates%", "trip_delay_only"),
    ("accumulated values of % are reported at the next hour%", "incomplete_hour"),
    ("% has no scheduled time in stop_times", "no_schedule"),
    ("realtime departure without base_departure_date_time", "no_schedule"),
    ("% is not an ISO 8601 time", "bad_time"),
    ("% has no UTC offset and no --timezone was given", "bad_time"),
    ("time is %, not an ISO 8601 string", "bad_time"),
    ("time % is not ISO 8601", "bad_time"),
    ("start_date % is not YYYYMMDD", "bad_time"),
    ("% is not YYYYMMDDTHHMMSS", "bad_time"),
    ("%, not a Navitia date-time string", "bad_time"),
    ("% does not exist in % (skipped by a DST change)", "bad_time"),
    ("hour not whole", "bad_time"),
    ("% is out of the int% range", "out_of_range"),
    ("% is not an integer", "bad_value"),
    ("% is not a number", "bad_value"),
    ("% is not a finite number", "bad_value"),
    ("% is not true or false", "bad_value"),
    ("% is not a string", "bad_value"),
    ("%, not a number", "bad_value"),
    ("%, not a finite number", "bad_value"),
    ("%, not a small whole number", "bad_value"),
    ("record is not a JSON object", "bad_value"),
    ("display_informations or route is not an object", "bad_value"),
    ("data_freshness % is neither realtime nor base_schedule", "bad_value"),
    ("missing %", "missing_key"),
    ("stop_point is missing", "missing_key"),
    ("no % (stop_point.id / route.line.id / vehicle_journey link)", "missing_key"),
    ("trip update without trip_id", "missing_key"),
    ("no real-time value", "no_realtime"),
    ("observed_at and delay_s disagree by more than %", "conflict"),
    ("% outside %", "out_of_range"),
    ("negative %", "out_of_range"),
    ("|delay_s| over %", "out_of_range"),
)


def _case() -> str:
    branches = " ".join(
        f"WHEN reason LIKE {sql_string(pattern)} THEN {sql_string(code)}"
        for pattern, code in LEGACY_PATTERNS
    )
    return f"CASE {branches} ELSE 'other' END"


def code_old_rejections(lake: Lake, table: str) -> int:
    """Give every `quarantine/<table>` row without a `reason_code` one; returns how many.

    A table made before the column existed gains it first (no data rewritten); the rows
    are then updated in one commit, and a second run finds nothing to do.
    """

    def attempt() -> int:
        delta = open_delta(lake, "quarantine", table)
        if delta is None:
            return 0
        if "reason_code" not in delta.schema().to_arrow().names:
            delta.alter.add_columns([Field("reason_code", PrimitiveType("string"), nullable=True)])
            delta = open_delta(lake, "quarantine", table)
            assert delta is not None
        return _update(delta)

    return with_commit_retry(f"quarantine/{table}", attempt)


def _update(delta: DeltaTable) -> int:
    # Not `count_rows(filter=is_null)`: Arrow counts 0 in files that lack the column.
    codes = delta.to_pyarrow_dataset().to_table(columns=["reason_code"]).column(0)
    uncoded = codes.null_count
    if uncoded == 0:
        return 0  # no commit: maintenance runs often
    metrics = delta.update(updates={"reason_code": _case()}, predicate="reason_code IS NULL")
    return int(metrics.get("num_updated_rows", 0))
