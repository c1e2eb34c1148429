"""Response shapes for the OpenAPI document.

The gold row models are derived from `umwi_core.contracts.GOLD_CONTRACTS` (columns, types,
nullability, descriptions); only their names and examples are the API's own. Handlers
return the query layer's encoded JSON directly (no per-row validation on the hot path).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from umwi_core.contracts import GOLD_CONTRACTS, ColumnType, TableContract

from umwi_api._daily import MOBILITY_WEATHER_DAILY

_PYTHON_TYPES: dict[ColumnType, type] = {
    "string": str,
    "timestamp_us_utc": datetime,
    "int16": int,
    "int32": int,
    "int64": int,
    "float64": float,
    "bool": bool,
}

_HOURLY_EXAMPLE: dict[str, Any] = {
    "network": "auckland",
    "line_id": "*",
    "location_id": "akl-cbd",
    "hour": "2024-03-01T08:00:00Z",
    "departures": 412,
    "cancelled": 3,
    "on_time": 351,
    "mean_delay_s": 118.4,
    "p50_delay_s": 74.0,
    "p90_delay_s": 312.0,
}

#: Gold table → (OpenAPI component name, example row).
_ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "outlook_baseline": (
        "OutlookBaselineRow",
        {
            "network": "auckland",
            "line_id": "*",
            "location_id": "akl-cbd",
            "weekday": 1,
            "hour_of_day": 8,
            "hours": 11,
            "mean_delay_s": 96.0,
            "mean_delay_sd_s": 31.5,
            "on_time_rate": 0.93,
            "on_time_rate_sd": 0.04,
            "reliability_rate": 0.91,
            "reliability_rate_sd": 0.05,
        },
    ),
    "outlook_class_effect": (
        "OutlookClassEffectRow",
        {
            "network": "auckland",
            "line_id": "L1",
            "weather_class": "moderate_rain",
            "hours": 12,
            "weight": 0.333,
            "mean_delay_uplift_raw_s": 70.0,
            "mean_delay_uplift_s": 55.7,
            "mean_delay_uplift_se_s": 9.1,
            "on_time_rate_uplift_raw": -0.12,
            "on_time_rate_uplift": -0.09,
            "on_time_rate_uplift_se": 0.02,
            "reliability_rate_uplift_raw": -0.13,
            "reliability_rate_uplift": -0.1,
            "reliability_rate_uplift_se": 0.02,
        },
    ),
    "outlook_hourly": (
        "OutlookRow",
        {
            "network": "auckland",
            "line_id": "*",
            "location_id": "akl-cbd",
            "hour": "2024-03-02T08:00:00Z",
            "issued_at": "2024-03-01T18:04:00Z",
            "temperature_c": 14.2,
            "precipitation_mm": 3.1,
            "rain_mm": 3.1,
            "snowfall_cm": 0.0,
            "wind_speed_kmh": 22.0,
            "weather_code": 63,
            "visibility_m": 9000.0,
            "weather_class": "moderate_rain",
            "baseline_hours": 11,
            "class_hours": 37,
            "baseline_mean_delay_s": 96.0,
            "uplift_s": 48.5,
            "expected_mean_delay_s": 144.5,
            "mean_delay_low_s": 121.0,
            "mean_delay_high_s": 168.0,
            "expected_on_time_rate": 0.82,
            "on_time_rate_low": 0.76,
            "on_time_rate_high": 0.88,
            "expected_reliability_rate": 0.8,
            "reliability_rate_low": 0.74,
            "reliability_rate_high": 0.86,
        },
    ),
    "punctuality_hourly": ("PunctualityRow", _HOURLY_EXAMPLE),
    "mobility_weather_hourly": (
        "HourlyRow",
        {
            **_HOURLY_EXAMPLE,
            "latitude": -36.85,
            "longitude": 174.76,
            "temperature_c": 17.2,
            "precipitation_mm": 1.4,
            "rain_mm": 1.4,
            "snowfall_cm": 0.0,
            "wind_speed_kmh": 22.0,
            "weather_code": 61,
            "visibility_m": 9000.0,
            "weather_class": "light_rain",
        },
    ),
    "weather_impact": (
        "WeatherImpactRow",
        {
            "network": "auckland",
            "line_id": "*",
            "period": "all",
            "weather_class": "wet",
            "cells": 310,
            "departures": 18250,
            "cancellation_rate": 0.012,
            "on_time_rate": 0.81,
            "reliability_rate": 0.8,
            "mean_delay_s": 151.2,
            "uplift_s": 38.5,
            "uplift_pct": 34.2,
        },
    ),
    "correlation": (
        "CorrelationRow",
        {
            "network": "auckland",
            "line_id": "*",
            "period": "all",
            "variable": "precipitation_mm",
            "lag_h": 0,
            "y_kind": "raw",
            "n": 960,
            "pearson_r": 0.31,
            "ci_low": 0.25,
            "ci_high": 0.37,
            "p_value": 1.2e-22,
            "spearman_rho": 0.27,
            "slope": 12.4,
            "intercept": 104.9,
            "n_eff": 212.5,
            "ci_low_adj": 0.18,
            "ci_high_adj": 0.43,
            "p_value_adj": 2.9e-6,
        },
    ),
    # Issue 19.
    "line_sensitivity": (
        "LineSensitivityRow",
        {
            "network": "auckland",
            "line_id": "NX1",
            "period": "all",
            "wet_hours": 420,
            "dry_hours": 2210,
            "wet_days": 38,
            "days": 90,
            "uplift_s": 41.0,
            "uplift_low_s": 22.5,
            "uplift_high_s": 59.5,
            "reliability_drop": 0.06,
            "reliability_drop_low": 0.02,
            "reliability_drop_high": 0.1,
            "rank": 1,
        },
    ),
}


def row_model(contract: TableContract, name: str, example: dict[str, Any]) -> type[BaseModel]:
    """One gold row: every column required (present in each object), null only where the
    contract allows it."""
    if list(example) != list(contract.column_names):
        raise ValueError(f"the example row of {name} does not list the {contract.name} columns")
    fields: dict[str, Any] = {}
    for column in contract.columns:
        kind: Any = _PYTHON_TYPES[column.type]
        if column.nullable:
            kind = kind | None
        fields[column.name] = (kind, Field(description=column.description or None))
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid", json_schema_extra={"example": example}),
        __doc__=contract.description or None,
        **fields,
    )


ROW_MODELS: dict[str, type[BaseModel]] = {
    table: row_model(GOLD_CONTRACTS[table], name, example)
    for table, (name, example) in _ROWS.items()
}
PunctualityRow = ROW_MODELS["punctuality_hourly"]
HourlyRow = ROW_MODELS["mobility_weather_hourly"]
WeatherImpactRow = ROW_MODELS["weather_impact"]
CorrelationRow = ROW_MODELS["correlation"]
LineSensitivityRow = ROW_MODELS["line_sensitivity"]
OutlookRow = ROW_MODELS["outlook_hourly"]

#: `/kpi/hourly?grain=day`: one row per network, line, location and UTC day.
DailyRow = row_model(
    MOBILITY_WEATHER_DAILY,
    "DailyRow",
    {
        "network": "auckland",
        "line_id": "*",
        "location_id": "akl-cbd",
        "day": "2024-03-01T00:00:00Z",
        "hours": 19,
        "departures": 6120,
        "cancelled": 41,
        "on_time": 5012,
        "cancellation_rate": 0.0067,
        "on_time_rate": 0.8245,
        "reliability_rate": 0.819,
        "mean_delay_s": 131.7,
        "latitude": -36.85,
        "longitude": 174.76,
        "temperature_c": 17.9,
        "temperature_min_c": 14.1,
        "temperature_max_c": 21.6,
        "precipitation_mm": 6.2,
        "rain_mm": 6.2,
        "snowfall_cm": 0.0,
        "wind_speed_kmh": 18.3,
        "wind_speed_max_kmh": 31.0,
        "weather_code": 63,
        "visibility_m": 8700.0,
        "visibility_min_m": 4200.0,
        "wet_hours": 5,
    },
)


class LineRow(BaseModel):
    network: str
    line_id: str
    line_name: str | None = Field(description="Display name where gold carries one.")


class Coverage(BaseModel):
    network: str
    first_hour: datetime = Field(
        description="First UTC hour with at least one departure (punctuality_hourly)."
    )
    last_hour: datetime = Field(
        description="Last UTC hour with a departure: its start (the data ends an hour later)."
    )
    hours: int = Field(description="Hours with data; fewer than the span holds when it has gaps.")
    weather_first_hour: datetime | None = Field(
        description="First hour with departures and known weather (mobility_weather_hourly, "
        "what /kpi/hourly answers); null when none."
    )
    weather_last_hour: datetime | None = Field(
        description="Last hour with departures and known weather; null when none."
    )


class TableFreshness(BaseModel):
    version: int = Field(description="Published Delta version.")
    rows: int
    updated_at: datetime = Field(description="When the table's data last changed.")
    age_s: float = Field(description="Seconds since updated_at.")


class Freshness(BaseModel):
    publication_id: str = Field(description="The published gold version; the API's ETag.")
    published_at: datetime
    last_run_id: str = Field(description="The run that published.")
    gate_status: str | None = Field(description="Quality gate outcome of that run.")
    gate: dict[str, Any]
    quality_report: str | None
    tables: dict[str, TableFreshness]


class Health(BaseModel):
    status: str = Field(description="`ok` when the process serves requests.")


class ErrorBody(BaseModel):
    error: str = Field(description="What went wrong, in one line.")
    detail: Any = None


__all__ = [
    "ROW_MODELS",
    "CorrelationRow",
    "Coverage",
    "DailyRow",
    "ErrorBody",
    "Freshness",
    "Health",
    "HourlyRow",
    "LineRow",
    "OutlookRow",
    "PunctualityRow",
    "WeatherImpactRow",
]
