"""Row-level rules of DESIGN.md §3 that hold for every source.

Each rule marks the rows it rejects with a reason and its code; the first reason a row
gets is the one it is quarantined with. Source-specific rejections (unparseable values,
unknown trips) arrive from the connectors in `_reason` / `_reason_code` and come first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import (
    DEPARTURES,
    LIMITS,
    QUARANTINE,
    REASON_CODES,
    WEATHER_HOURLY,
    WMO_CODES,
    ReasonCode,
)

UTC_US = pa.timestamp("us", tz="UTC")
MICROS = 1_000_000
HOUR_US = 3_600 * MICROS
#: observed_at and delay_s may disagree by rounding, not by more.
CONFLICT_TOLERANCE_US = 1 * MICROS
LATITUDE: tuple[float, float] = LIMITS["latitude"]  # type: ignore[assignment]
LONGITUDE: tuple[float, float] = LIMITS["longitude"]  # type: ignore[assignment]
TEMPERATURE: tuple[float, float] = LIMITS["temperature_c"]  # type: ignore[assignment]
MAX_ABS_DELAY_S: int = LIMITS["max_abs_delay_s"]  # type: ignore[assignment]

QUARANTINE_SCHEMA = arrow_schema(QUARANTINE)
#: Columns filled from the batch when the connector left them empty.
_FILLED = ("source", "as_of", "ingested_at", "run_id")


@dataclass(frozen=True)
class Checked:
    """A staged batch split into rows fit for silver and quarantine rows."""

    valid: pa.Table  # silver columns + `_seq`
    quarantine: pa.Table  # QUARANTINE schema


class _Reasons:
    """The first reason (and its code) per row; later rules never overwrite an earlier one."""

    def __init__(self, initial: pa.ChunkedArray, codes: pa.ChunkedArray, source: str) -> None:
        self.values: list[str | None] = initial.to_pylist()
        self.codes: list[str | None] = codes.to_pylist()
        for value, code in zip(self.values, self.codes, strict=True):
            if value is not None and code not in REASON_CODES:
                # A connector bug, never bad input: every rejection it stages is coded.
                raise ValueError(
                    f"{source}: staged rejection {value!r} has reason code {code!r}, "
                    f"not one of {', '.join(REASON_CODES)}"
                )
        self.open = np.array([value is None for value in self.values], dtype=bool)

    def add(self, rejected: np.ndarray, reason: str, *, code: ReasonCode) -> None:
        hit = rejected & self.open
        for index in np.flatnonzero(hit):
            self.values[index] = reason
            self.codes[index] = code
        self.open &= ~hit


def _null(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    """Values as float64 with NaN for null, so comparisons with null are False."""
    return np.asarray(
        pc.fill_null(pc.cast(column, pa.float64()), np.nan).to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )


def _micros(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(
        pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )


def _outside(values: np.ndarray, low: float, high: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray((values < low) | (values > high), dtype=bool)


def _fill_lineage(records: pa.Table, source: str, run_id: str, now: datetime) -> pa.Table:
    fills: dict[str, pa.Scalar] = {
        "source": pa.scalar(source),
        "run_id": pa.scalar(run_id),
        "ingested_at": pa.scalar(now, type=UTC_US),
    }
    for name, value in fills.items():
        column = records.column(name)
        records = records.set_column(
            records.schema.get_field_index(name), name, pc.fill_null(column, value)
        )
    as_of = pc.coalesce(records.column("as_of"), records.column("ingested_at"))
    return records.set_column(records.schema.get_field_index("as_of"), "as_of", as_of)


def _missing(records: pa.Table, reasons: _Reasons, columns: tuple[str, ...]) -> None:
    for name in columns:
        column = records.column(name)
        missing = _null(column)
        if pa.types.is_string(column.type):
            missing |= np.asarray(
                pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), ""), False).to_numpy(
                    zero_copy_only=False
                ),
                dtype=bool,
            )
        reasons.add(missing, f"missing {name}", code="missing_key")


def _check_departures(records: pa.Table, reasons: _Reasons) -> pa.Table:
    _missing(records, reasons, ("network", "trip_id", "stop_id", "scheduled_at", "line_id"))
    lat_low, lat_high = LATITUDE
    lon_low, lon_high = LONGITUDE
    reasons.add(
        _outside(_floats(records.column("stop_lat")), lat_low, lat_high),
        f"stop_lat outside {lat_low:g}…{lat_high:g}",
        code="out_of_range",
    )
    reasons.add(
        _outside(_floats(records.column("stop_lon")), lon_low, lon_high),
        f"stop_lon outside {lon_low:g}…{lon_high:g}",
        code="out_of_range",
    )

    scheduled = _micros(records.column("scheduled_at"))
    observed_null = _null(records.column("observed_at"))
    observed = _micros(records.column("observed_at"))
    delay_null = _null(records.column("delay_s"))
    delay_us = _micros(records.column("delay_s")) * MICROS
    cancelled_column = records.column("cancelled")
    cancelled = np.asarray(
        pc.fill_null(cancelled_column, False).to_numpy(zero_copy_only=False), dtype=bool
    )

    # A cancelled departure has no real-time value by definition (DESIGN.md §3).
    both = ~observed_null & ~delay_null & ~cancelled
    reasons.add(
        both & (np.abs(observed - scheduled - delay_us) > CONFLICT_TOLERANCE_US),
        "observed_at and delay_s disagree by more than 1 s",
        code="conflict",
    )
    reasons.add(observed_null & delay_null & ~cancelled, "no real-time value", code="no_realtime")

    derived_delay_us = np.where(delay_null, observed - scheduled, delay_us)
    max_delay_us = MAX_ABS_DELAY_S * MICROS
    timed = ~cancelled & ~(observed_null & delay_null)
    reasons.add(
        timed & (np.abs(derived_delay_us) > max_delay_us),
        "|delay_s| over 2 days",
        code="out_of_range",
    )

    # Round half away from zero so a delay derived from observed_at is symmetric.
    delay_s = np.sign(derived_delay_us) * ((np.abs(derived_delay_us) + MICROS // 2) // MICROS)
    observed_final = np.where(observed_null, scheduled + delay_s * MICROS, observed)
    ok = timed & reasons.open
    delay_array = pa.array(np.where(ok, delay_s, 0).astype(np.int32), type=pa.int32(), mask=~timed)
    observed_array = pa.array(np.where(ok, observed_final, 0), type=pa.int64(), mask=~timed).cast(
        UTC_US
    )
    records = records.set_column(records.schema.get_field_index("delay_s"), "delay_s", delay_array)
    records = records.set_column(
        records.schema.get_field_index("observed_at"), "observed_at", observed_array
    )
    return records.set_column(
        records.schema.get_field_index("cancelled"), "cancelled", pa.array(cancelled)
    )


def _check_weather(records: pa.Table, reasons: _Reasons) -> pa.Table:
    _missing(records, reasons, ("location_id", "hour", "latitude", "longitude"))
    for column, (low, high) in (
        ("latitude", LATITUDE),
        ("longitude", LONGITUDE),
        ("temperature_c", TEMPERATURE),
    ):
        reasons.add(
            _outside(_floats(records.column(column)), low, high),
            f"{column} outside {low:g}…{high:g}",
            code="out_of_range",
        )
    for column in ("precipitation_mm", "rain_mm", "snowfall_cm", "wind_speed_kmh", "visibility_m"):
        with np.errstate(invalid="ignore"):
            reasons.add(
                _floats(records.column(column)) < 0, f"negative {column}", code="out_of_range"
            )
    codes = records.column("weather_code")
    known = pa.array(sorted(WMO_CODES), type=pa.int16())
    unknown_code = ~_null(codes) & ~np.asarray(
        pc.is_in(codes, value_set=known).to_numpy(zero_copy_only=False), dtype=bool
    )
    reasons.add(unknown_code, "weather_code outside the WMO 4677 table (0–99)", code="out_of_range")
    hours = _micros(records.column("hour"))
    reasons.add(
        ~_null(records.column("hour")) & (hours % HOUR_US != 0), "hour not whole", code="bad_time"
    )
    return records


def record_hash(raw: str, reason: str, source: str) -> str:
    """Stable id of one rejected record: the same record rejected again adds no row."""
    return hashlib.sha256("\x1f".join((raw, reason, source)).encode()).hexdigest()


def _quarantine_rows(records: pa.Table, reasons: list[str], codes: list[str]) -> pa.Table:
    raws = [raw or "" for raw in records.column("_raw").to_pylist()]
    sources = records.column("source").to_pylist()
    network = (
        records.column("network")
        if "network" in records.schema.names
        else pa.nulls(records.num_rows, pa.string())
    )
    columns = {
        "record_hash": [
            record_hash(raw, reason, source)
            for raw, reason, source in zip(raws, reasons, sources, strict=True)
        ],
        "source": sources,
        "network": network,
        "reason": reasons,
        "raw": raws,
        "input": records.column("_input"),
        "as_of": records.column("as_of"),
        "ingested_at": records.column("ingested_at"),
        "run_id": records.column("run_id"),
        "reason_code": codes,
    }
    return pa.table(columns, schema=QUARANTINE_SCHEMA)


def check_batch(table: str, records: pa.Table, source: str, run_id: str, now: datetime) -> Checked:
    """Split staged records into silver-ready rows and quarantine rows."""
    records = _fill_lineage(records, source, run_id, now)
    reasons = _Reasons(records.column("_reason"), records.column("_reason_code"), source)
    if table == DEPARTURES.name:
        contract = DEPARTURES
        records = _check_departures(records, reasons)
    else:
        contract = WEATHER_HOURLY
        records = _check_weather(records, reasons)
    mask = pa.array(reasons.open)
    silver = arrow_schema(contract)
    valid = records.filter(mask).select([*silver.names, "_seq"])
    valid = pa.Table.from_arrays(
        [
            valid.column(name).cast(field.type)
            for name, field in zip(silver.names, silver, strict=True)
        ]
        + [valid.column("_seq")],
        schema=silver.append(pa.field("_seq", pa.int64())),
    )
    rejected = ~reasons.open
    quarantine = _quarantine_rows(
        records.filter(pa.array(rejected)),
        [reason for reason, bad in zip(reasons.values, rejected, strict=True) if bad],  # type: ignore[misc]
        [code for code, bad in zip(reasons.codes, rejected, strict=True) if bad],  # type: ignore[misc]
    )
    return Checked(valid=valid, quarantine=quarantine)
