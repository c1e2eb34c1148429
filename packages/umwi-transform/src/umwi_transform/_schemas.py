"""Arrow schemas of the gold tables, in `umwi_core.contracts.GOLD_COLUMNS` order."""

from __future__ import annotations

import pyarrow as pa
from umwi_core.contracts import GOLD_COLUMNS

_UTC = pa.timestamp("us", tz="UTC")
_TYPES: dict[str, pa.DataType] = {
    "network": pa.string(),
    "line_id": pa.string(),
    "location_id": pa.string(),
    "hour": _UTC,
    "departures": pa.int64(),
    "cancelled": pa.int64(),
    "on_time": pa.int64(),
    "mean_delay_s": pa.float64(),
    "p50_delay_s": pa.float64(),
    "p90_delay_s": pa.float64(),
    "latitude": pa.float64(),
    "longitude": pa.float64(),
    "temperature_c": pa.float64(),
    "precipitation_mm": pa.float64(),
    "rain_mm": pa.float64(),
    "snowfall_cm": pa.float64(),
    "wind_speed_kmh": pa.float64(),
    "weather_code": pa.int16(),
    "visibility_m": pa.float64(),
    "weather_class": pa.string(),
    "period": pa.string(),
    "cells": pa.int64(),
    "cancellation_rate": pa.float64(),
    "on_time_rate": pa.float64(),
    "reliability_rate": pa.float64(),
    "uplift_s": pa.float64(),
    "uplift_pct": pa.float64(),
    "variable": pa.string(),
    "lag_h": pa.int32(),
    "y_kind": pa.string(),
    "n": pa.int64(),
    "pearson_r": pa.float64(),
    "ci_low": pa.float64(),
    "ci_high": pa.float64(),
    "p_value": pa.float64(),
    "spearman_rho": pa.float64(),
    "slope": pa.float64(),
    "intercept": pa.float64(),
}

GOLD_SCHEMAS: dict[str, pa.Schema] = {
    table: pa.schema([pa.field(name, _TYPES[name]) for name in columns])
    for table, columns in GOLD_COLUMNS.items()
}


def conform(table: pa.Table, name: str) -> pa.Table:
    """Select and cast to the gold schema; a naive timestamp from an engine means UTC."""
    schema = GOLD_SCHEMAS[name]
    return pa.Table.from_arrays(
        [table.column(field.name).cast(field.type) for field in schema], schema=schema
    )
