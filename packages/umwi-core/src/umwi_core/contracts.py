"""The data contracts of DESIGN.md §3–§5 as plain data.

Column types are Arrow type names (`string`, `timestamp_us_utc`, `int32`, …): the
packages that hold Arrow turn them into schemas; this module stays importable without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

ColumnType = Literal["string", "timestamp_us_utc", "int16", "int32", "int64", "float64", "bool"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True


@dataclass(frozen=True)
class TableContract:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if not column.nullable)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


#: Columns filled by umwi itself rather than read from a source.
LINEAGE_COLUMNS = ("as_of", "ingested_at", "run_id")

DEPARTURE_SOURCES = ("navitia", "gtfs_rt", "file", "sample")
WEATHER_SOURCES = ("open_meteo", "file", "sample")

DEPARTURES = TableContract(
    name="departures",
    columns=(
        Column("network", "string", nullable=False),
        Column("source", "string", nullable=False),
        Column("line_id", "string", nullable=False),
        Column("line_name", "string"),
        Column("mode", "string"),
        Column("stop_id", "string", nullable=False),
        Column("stop_name", "string"),
        Column("trip_id", "string", nullable=False),
        Column("scheduled_at", "timestamp_us_utc", nullable=False),
        Column("observed_at", "timestamp_us_utc"),
        Column("delay_s", "int32"),
        Column("cancelled", "bool", nullable=False),
        Column("stop_lat", "float64"),
        Column("stop_lon", "float64"),
        Column("as_of", "timestamp_us_utc", nullable=False),
        Column("ingested_at", "timestamp_us_utc", nullable=False),
        Column("run_id", "string", nullable=False),
    ),
    key=("network", "trip_id", "stop_id", "scheduled_at"),
)

WEATHER_HOURLY = TableContract(
    name="weather_hourly",
    columns=(
        Column("location_id", "string", nullable=False),
        Column("latitude", "float64", nullable=False),
        Column("longitude", "float64", nullable=False),
        Column("hour", "timestamp_us_utc", nullable=False),
        Column("temperature_c", "float64"),
        Column("precipitation_mm", "float64"),
        Column("rain_mm", "float64"),
        Column("snowfall_cm", "float64"),
        Column("wind_speed_kmh", "float64"),
        Column("weather_code", "int16"),
        Column("visibility_m", "float64"),
        Column("source", "string", nullable=False),
        Column("as_of", "timestamp_us_utc", nullable=False),
        Column("ingested_at", "timestamp_us_utc", nullable=False),
        Column("run_id", "string", nullable=False),
    ),
    key=("location_id", "hour"),
)

#: Why a record was quarantined, as a stable word to group by (`reason` says it for people,
#: naming the value). Set where the record is rejected; DESIGN.md §3 has the same table.
ReasonCode = Literal[
    "missing_key",
    "bad_value",
    "bad_time",
    "bad_row",
    "unknown_trip",
    "unknown_stop",
    "no_schedule",
    "trip_delay_only",
    "incomplete_hour",
    "no_realtime",
    "conflict",
    "out_of_range",
    "other",
]

REASON_CODES: dict[ReasonCode, str] = {
    "missing_key": "a key or required field is empty (network, line, trip, stop, time, place)",
    "bad_value": "a value that cannot be read as its type (number, integer, boolean, text, "
    "JSON object) or is not one the source defines",
    "bad_time": "a time that cannot be read, has no UTC offset or zone, does not exist in its "
    "zone (DST), or is not a whole hour",
    "bad_row": "a CSV row with the wrong number of fields",
    "unknown_trip": "a GTFS-RT trip that is not in the static feed",
    "unknown_stop": "a GTFS-RT stop that is not in its trip's stop_times",
    "no_schedule": "no scheduled time for the stop (static stop_times, Navitia's base time)",
    "trip_delay_only": "a GTFS-RT trip-level delay without stop updates (never propagated)",
    "incomplete_hour": "an Open-Meteo hour whose accumulated values (reported at the next "
    "hour) are missing from the response",
    "no_realtime": "neither observed_at nor delay_s, and the source does not say cancelled",
    "conflict": "observed_at and delay_s disagree by more than 1 s",
    "out_of_range": "a physically impossible value (coordinates, temperature, negative "
    "amounts, a delay over 2 days either way, WMO code, integer range)",
    "other": "a reason recorded before codes existed that `umwi maintain` could not classify",
}


class Rejection(NamedTuple):
    """A record's quarantine cause: `code` to group by, `text` for people."""

    code: ReasonCode
    text: str


#: `quarantine/<table>`: one row per rejected record, keyed so a re-run adds no duplicate.
#: `reason_code` is last (and nullable) because tables made before it gained it by schema
#: evolution, which appends; `umwi maintain` codes their old rows.
QUARANTINE = TableContract(
    name="quarantine",
    columns=(
        Column("record_hash", "string", nullable=False),
        Column("source", "string", nullable=False),
        Column("network", "string"),
        Column("reason", "string", nullable=False),
        Column("raw", "string", nullable=False),
        Column("input", "string"),
        Column("as_of", "timestamp_us_utc"),
        Column("ingested_at", "timestamp_us_utc", nullable=False),
        Column("run_id", "string", nullable=False),
        Column("reason_code", "string"),
    ),
    key=("record_hash",),
)

SILVER_TABLES = {DEPARTURES.name: DEPARTURES, WEATHER_HOURLY.name: WEATHER_HOURLY}

WEATHER_CLASSES = (
    "unknown",
    "snow",
    "dry",
    "light_rain",
    "moderate_rain",
    "heavy_rain",
)
#: The pooled "rain or snow" row of `weather_impact`.
WET = "wet"
IMPACT_CLASSES = (*WEATHER_CLASSES, WET)

CORRELATION_VARIABLES = (
    "precipitation_mm",
    "rain_mm",
    "snowfall_cm",
    "temperature_c",
    "wind_speed_kmh",
    "visibility_m",
)
CORRELATION_LAGS_H = (0, 1, 2, 3)
Y_KINDS = ("raw", "anomaly")
ALL_LINES = "*"
ALL_PERIODS = "all"

#: WMO 4677 present-weather codes as Open-Meteo reports them.
WMO_CODES = frozenset(range(100))

LIMITS = {
    "latitude": (-90.0, 90.0),
    "longitude": (-180.0, 180.0),
    "temperature_c": (-90.0, 60.0),
    "max_abs_delay_s": 2 * 86_400,
}

GOLD_COLUMNS: dict[str, tuple[str, ...]] = {
    "punctuality_hourly": (
        "network",
        "line_id",
        "location_id",
        "hour",
        "departures",
        "cancelled",
        "on_time",
        "mean_delay_s",
        "p50_delay_s",
        "p90_delay_s",
    ),
    "mobility_weather_hourly": (
        "network",
        "line_id",
        "location_id",
        "hour",
        "departures",
        "cancelled",
        "on_time",
        "mean_delay_s",
        "p50_delay_s",
        "p90_delay_s",
        "latitude",
        "longitude",
        "temperature_c",
        "precipitation_mm",
        "rain_mm",
        "snowfall_cm",
        "wind_speed_kmh",
        "weather_code",
        "visibility_m",
        "weather_class",
    ),
    "weather_impact": (
        "network",
        "line_id",
        "period",
        "weather_class",
        "cells",
        "departures",
        "cancellation_rate",
        "on_time_rate",
        "reliability_rate",
        "mean_delay_s",
        "uplift_s",
        "uplift_pct",
    ),
    "correlation": (
        "network",
        "line_id",
        "period",
        "variable",
        "lag_h",
        "y_kind",
        "n",
        "pearson_r",
        "ci_low",
        "ci_high",
        "p_value",
        "spearman_rho",
        "slope",
        "intercept",
    ),
}
