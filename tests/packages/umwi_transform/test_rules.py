"""Row-level rules: derivations and the reasons records are quarantined with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from umwi_transform._rules import check_batch, record_hash

from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    weather,
    weather_batch,
)

NOW = datetime(2026, 3, 10, tzinfo=UTC)
CONFLICT = "observed_at and delay_s disagree by more than 1 s"


def _check(
    rows: list[dict[str, Any]], table: str = "departures"
) -> tuple[list[dict[str, Any]], list[str]]:
    batch = departures_batch(rows) if table == "departures" else weather_batch(rows)
    checked = check_batch(table, batch.records, batch.source, "run", NOW)
    quarantine = checked.quarantine
    reasons = quarantine.column("reason").to_pylist()
    codes = quarantine.column("reason_code").to_pylist()
    # Every rule's reason comes with its code: the pair is what a test names.
    pairs = [f"{code}: {text}" for code, text in zip(codes, reasons, strict=True)]
    return checked.valid.to_pylist(), pairs


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (departure(network=None), "missing_key: missing network"),
        (departure(trip=""), "missing_key: missing trip_id"),
        (departure(stop=None), "missing_key: missing stop_id"),
        (departure(scheduled=None), "missing_key: missing scheduled_at"),
        (departure(line=None), "missing_key: missing line_id"),
        (departure(lat=90.5), "out_of_range: stop_lat outside -90…90"),
        (departure(lon=-180.5), "out_of_range: stop_lon outside -180…180"),
        (departure(delay=2 * 86_400 + 1), "out_of_range: |delay_s| over 2 days"),
        (departure(delay=-2 * 86_400 - 1), "out_of_range: |delay_s| over 2 days"),
        (
            departure(delay=10, observed_at=at(seconds=12)),
            "conflict: observed_at and delay_s disagree by more than 1 s",
        ),
        (departure(delay=None), "no_realtime: no real-time value"),
        (departure(delay=None, cancelled=None), "no_realtime: no real-time value"),
        (
            departure(_reason="unknown trip", _reason_code="unknown_trip"),
            "unknown_trip: unknown trip",
        ),
    ],
)
def test_departure_rejections(row: dict[str, Any], reason: str) -> None:
    valid, reasons = _check([row])
    assert valid == []
    assert reasons == [reason]


def test_a_staged_rejection_without_a_code_is_refused() -> None:
    """A connector that forgets the code is a bug, named at once (not an uncoded row).

    Mutation: drop the check in `_Reasons.__init__` and the batch passes with a null code.
    """
    with pytest.raises(ValueError, match="staged rejection 'odd' has reason code None"):
        _check([departure(_reason="odd")])
    with pytest.raises(ValueError, match="has reason code 'oops'"):
        _check([departure(_reason="odd", _reason_code="oops")])


def test_delay_and_observed_are_derived() -> None:
    valid, reasons = _check(
        [
            departure(trip="a", delay=None, observed_at=at(seconds=-90)),
            departure(trip="b", delay=75),
            departure(trip="c", delay=10, observed_at=at(seconds=11)),  # within 1 s
            departure(trip="d", delay=2 * 86_400),  # the limit itself is allowed
            departure(trip="e", delay=None, observed_at=at(seconds=0.5)),
        ]
    )
    assert reasons == []
    by_trip = {row["trip_id"]: row for row in valid}
    assert by_trip["a"]["delay_s"] == -90
    assert by_trip["b"]["observed_at"] == at(seconds=75)
    assert by_trip["c"]["delay_s"] == 10
    assert by_trip["c"]["observed_at"] == at(seconds=11)
    assert by_trip["e"]["delay_s"] == 1  # half a second rounds away from zero


def test_cancelled_departures_have_no_real_time_values() -> None:
    valid, reasons = _check(
        [
            departure(trip="a", delay=None, cancelled=True),
            departure(trip="b", delay=30, cancelled=True),
            departure(trip="c", delay=30, cancelled=None),
        ]
    )
    assert reasons == []
    by_trip = {row["trip_id"]: row for row in valid}
    assert by_trip["a"]["cancelled"]
    assert by_trip["a"]["delay_s"] is None
    assert by_trip["b"]["observed_at"] is None
    assert by_trip["b"]["delay_s"] is None
    assert by_trip["c"]["cancelled"] is False
    assert by_trip["c"]["delay_s"] == 30


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (weather(location=None), "missing_key: missing location_id"),
        (weather(hour=None), "missing_key: missing hour"),
        (weather(lat=-91.0), "out_of_range: latitude outside -90…90"),
        (weather(temperature_c=60.5), "out_of_range: temperature_c outside -90…60"),
        (weather(temperature_c=-90.5), "out_of_range: temperature_c outside -90…60"),
        (weather(snowfall=-0.1), "out_of_range: negative snowfall_cm"),
        (weather(wind_speed_kmh=-1.0), "out_of_range: negative wind_speed_kmh"),
        (weather(visibility_m=-1.0), "out_of_range: negative visibility_m"),
        (weather(weather_code=100), "out_of_range: weather_code outside the WMO 4677 table (0–99)"),
        (weather(hour=at(seconds=1800)), "bad_time: hour not whole"),
    ],
)
def test_weather_rejections(row: dict[str, Any], reason: str) -> None:
    valid, reasons = _check([row], "weather_hourly")
    assert valid == []
    assert reasons == [reason]


def test_weather_limits_themselves_are_valid() -> None:
    valid, reasons = _check(
        [weather(temperature_c=60.0, weather_code=99, precipitation=0.0, lat=90.0)],
        "weather_hourly",
    )
    assert reasons == []
    assert len(valid) == 1


def test_lineage_is_filled_and_hash_is_stable() -> None:
    valid, _ = _check([departure(as_of=None)])
    assert valid[0]["as_of"] == NOW
    assert valid[0]["ingested_at"] == NOW
    assert valid[0]["run_id"] == "run"
    assert record_hash("raw", "why", "file") == record_hash("raw", "why", "file")
    assert record_hash("raw", "why", "file") != record_hash("raw", "why", "navitia")
