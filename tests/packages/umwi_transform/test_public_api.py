"""The package's public surface is exactly what other parts rely on."""

from __future__ import annotations

import umwi_transform


def test_all_is_pinned() -> None:
    # backtest, build_outlook, land_forecast, outlook_*: the outlook (issue 20).
    assert sorted(umwi_transform.__all__) == [
        "GOLD_SCHEMAS",
        "GoldCandidate",
        "SilverLoader",
        "backtest",
        "build_gold",
        "build_outlook",
        "commit_batch",
        "correlation_table",
        "finish_correlation",
        "gold_expressions",
        "ingest_batches",
        "land_forecast",
        "maintain",
        "open_delta",
        "open_read_only_catalog",
        "outlook_alerts",
        "outlook_expressions",
        "publish_gold",
        "read_gold",
        "read_quarantine",
        "read_silver",
        "read_state",
        "record_hash",
        "register_lake_views",
    ]
    for name in umwi_transform.__all__:
        assert getattr(umwi_transform, name) is not None


def test_gold_schemas_follow_the_contract() -> None:
    from umwi_core.contracts import GOLD_COLUMNS

    for table, columns in GOLD_COLUMNS.items():
        assert tuple(umwi_transform.GOLD_SCHEMAS[table].names) == columns


#: The gold Delta schemas as the tables in existing lakes were created (every field
#: nullable); the contracts must keep deriving exactly these.
_DELTA_TYPES = {
    "string": (
        ["network", "line_id", "location_id", "weather_class", "period", "variable", "y_kind"],
        "string",
    ),
    "timestamp": (["hour", "issued_at"], "timestamp[us, tz=UTC]"),
    "int64": (
        # line_sensitivity's counts and rank (issue 19); hours, baseline_hours, class_hours:
        # the outlook's new tables (issue 20).
        [
            *("departures", "cancelled", "on_time", "cells", "n"),
            *("wet_hours", "dry_hours", "wet_days", "days", "rank"),
            *("hours", "baseline_hours", "class_hours"),
        ],
        "int64",
    ),
    "int32": (["lag_h", "weekday", "hour_of_day"], "int32"),
    "int16": (["weather_code"], "int16"),
}


def test_gold_schemas_keep_the_delta_types_of_existing_tables() -> None:
    """Mutation: give `lag_h` the type "int64" in umwi_core.contracts.CORRELATION → red."""
    expected = {name: kind for names, kind in _DELTA_TYPES.values() for name in names}
    for table, schema in umwi_transform.GOLD_SCHEMAS.items():
        for field in schema:
            assert str(field.type) == expected.get(field.name, "double"), (table, field.name)
            assert field.nullable, (table, field.name)
