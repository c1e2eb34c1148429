"""Response shapes for the OpenAPI document: the gold columns of DESIGN.md §5.

Handlers return the query layer's encoded JSON directly (no per-row validation on the hot
path); a test pins these models to `umwi_core.contracts.GOLD_COLUMNS`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: str = Field(description="Transit network (feed / Navitia coverage).")
    line_id: str = Field(description="Line id; `*` = all lines together.")


class _HourlyRow(_Row):
    location_id: str | None = Field(description="Weather location; null = unknown weather.")
    hour: datetime = Field(description="Start of the UTC hour `[hour, hour+1h)`.")
    departures: int = Field(description="Scheduled departures in the hour.")
    cancelled: int = Field(description="Cancelled departures.")
    on_time: int = Field(description="Departures within the on-time window.")
    mean_delay_s: float | None = Field(description="Mean delay (s) over non-cancelled.")
    p50_delay_s: float | None = Field(description="Median delay (s), percentile_cont.")
    p90_delay_s: float | None = Field(description="90th percentile delay (s).")


class PunctualityRow(_HourlyRow):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
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
        }
    )


class HourlyRow(_HourlyRow):
    latitude: float = Field(description="Weather location latitude (WGS84).")
    longitude: float = Field(description="Weather location longitude (WGS84).")
    temperature_c: float | None = Field(description="Temperature at the hour (°C).")
    precipitation_mm: float | None = Field(description="Precipitation during the hour (mm).")
    rain_mm: float | None = Field(description="Rain during the hour (mm).")
    snowfall_cm: float | None = Field(description="Snowfall during the hour (cm).")
    wind_speed_kmh: float | None = Field(description="Wind speed at the hour (km/h).")
    weather_code: int | None = Field(description="WMO 4677 weather code.")
    visibility_m: float | None = Field(description="Visibility (m).")
    weather_class: str = Field(
        description="dry, light_rain, moderate_rain, heavy_rain or snow (known weather only)."
    )
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
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
            }
        }
    )


class WeatherImpactRow(_Row):
    period: str = Field(description="`all` or a UTC calendar month `YYYY-MM`.")
    weather_class: str = Field(
        description="unknown, snow, dry, light_rain, moderate_rain, heavy_rain, or wet "
        "(rain or snow pooled)."
    )
    cells: int | None = Field(description="(location, hour) cells; null for unknown weather.")
    departures: int = Field(description="Scheduled departures.")
    cancellation_rate: float | None = Field(description="cancelled / departures.")
    on_time_rate: float | None = Field(description="on_time / non-cancelled departures.")
    reliability_rate: float | None = Field(description="on_time / departures.")
    mean_delay_s: float | None = Field(description="Departure-weighted mean delay (s).")
    uplift_s: float | None = Field(description="mean_delay_s minus the dry row's.")
    uplift_pct: float | None = Field(
        description="100 · uplift_s / dry mean delay; null when the dry mean is under 30 s."
    )
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
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
            }
        }
    )


class CorrelationRow(_Row):
    period: str = Field(description="`all` or a UTC calendar month `YYYY-MM`.")
    variable: str = Field(description="Weather variable x.")
    lag_h: int = Field(description="x taken at hour − lag_h (0–3).")
    y_kind: str = Field(description="`raw` mean delay or `anomaly` against the baseline.")
    n: int = Field(description="Cells used.")
    pearson_r: float | None = Field(description="Pearson correlation of y on x.")
    ci_low: float | None = Field(description="95 % CI low (Fisher z; optimistic).")
    ci_high: float | None = Field(description="95 % CI high.")
    p_value: float | None = Field(description="Two-sided p (Student's t, n − 2 df).")
    spearman_rho: float | None = Field(description="Spearman rank correlation.")
    slope: float | None = Field(description="Least-squares slope of y on x (s per unit).")
    intercept: float | None = Field(description="Least-squares intercept (s).")
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
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
            }
        }
    )


class LineRow(BaseModel):
    network: str
    line_id: str
    line_name: str | None = Field(description="Display name where gold carries one.")


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


ROW_MODELS: dict[str, type[BaseModel]] = {
    "weather_impact": WeatherImpactRow,
    "punctuality_hourly": PunctualityRow,
    "mobility_weather_hourly": HourlyRow,
    "correlation": CorrelationRow,
}

__all__ = [
    "ROW_MODELS",
    "CorrelationRow",
    "ErrorBody",
    "Freshness",
    "Health",
    "HourlyRow",
    "LineRow",
    "PunctualityRow",
    "WeatherImpactRow",
]
