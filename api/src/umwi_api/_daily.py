"""Daily rows of `mobility_weather_hourly` (`/kpi/hourly?grain=day`, `umwi kpi hourly --grain
day`), aggregated by the query layer from the published hourly rows.

One row per network, line, weather location and UTC day, over the hourly rows that match the
filters (`start`/`end` bound the hours, so a day they cut is aggregated over its hours in
range). Counts are summed; rates and the mean delay are departure-weighted means of the
hourly values, which makes them exactly the day's figures over its departures; amounts of
precipitation are summed; other weather is the mean over the day's hours, with the extreme
that matters beside it. Percentiles do not aggregate, so daily rows have none (DESIGN.md §7).

The columns are a `TableContract` built from the gold contract's own columns where a value
keeps its meaning, so the OpenAPI row model and the CLI's Parquet schema derive from it as
the hourly ones derive from `GOLD_CONTRACTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from umwi_core.contracts import (
    MOBILITY_WEATHER_HOURLY,
    Column,
    ColumnType,
    TableContract,
)

#: The hourly table the daily rows aggregate.
HOURLY_TABLE = MOBILITY_WEATHER_HOURLY.name

_HOURLY = MOBILITY_WEATHER_HOURLY.column
#: Hourly rows that count towards a departure-weighted mean delay: those that have one.
_KEPT = "departures - cancelled"
_KEPT_WITH_DELAY = f"CASE WHEN mean_delay_s IS NOT NULL THEN {_KEPT} END"
#: The start of the row's UTC day.
DAY_SQL = "date_trunc('day', hour AT TIME ZONE 'UTC')"


@dataclass(frozen=True)
class DailyColumn:
    """A column of the daily rows and the DuckDB aggregate that computes it."""

    column: Column
    sql: str


def _new(name: str, type_: ColumnType, description: str, *, nullable: bool = True) -> Column:
    return Column(name, type_, nullable=nullable, description=description)


def _described(name: str, description: str) -> Column:
    return replace(_HOURLY(name), description=description)


DAILY_COLUMNS: tuple[DailyColumn, ...] = (
    DailyColumn(_HOURLY("network"), "network"),
    DailyColumn(_HOURLY("line_id"), "line_id"),
    DailyColumn(_HOURLY("location_id"), "location_id"),
    DailyColumn(
        _new(
            "day",
            "timestamp_us_utc",
            "Start of the UTC day `[day, day+1d)`.",
            nullable=False,
        ),
        DAY_SQL,
    ),
    DailyColumn(
        _new(
            "hours",
            "int64",
            "Hourly rows aggregated: the day's hours with departures (and known weather) "
            "within start/end.",
            nullable=False,
        ),
        "count(*)",
    ),
    DailyColumn(_described("departures", "Scheduled departures in the day."), "sum(departures)"),
    DailyColumn(_described("cancelled", "Cancelled departures."), "sum(cancelled)"),
    DailyColumn(_described("on_time", "Departures within the on-time window."), "sum(on_time)"),
    DailyColumn(
        _new("cancellation_rate", "float64", "cancelled / departures."),
        "CAST(sum(cancelled) AS DOUBLE) / sum(departures)",
    ),
    DailyColumn(
        _new(
            "on_time_rate",
            "float64",
            "on_time / non-cancelled departures (null when all were cancelled).",
        ),
        f"CAST(sum(on_time) AS DOUBLE) / nullif(sum({_KEPT}), 0)",
    ),
    DailyColumn(
        _new("reliability_rate", "float64", "on_time / departures."),
        "CAST(sum(on_time) AS DOUBLE) / sum(departures)",
    ),
    DailyColumn(
        _described(
            "mean_delay_s",
            "Mean delay (s) over the day's non-cancelled departures: the hourly means "
            "weighted by departures − cancelled.",
        ),
        f"sum(mean_delay_s * ({_KEPT})) / nullif(sum({_KEPT_WITH_DELAY}), 0)",
    ),
    DailyColumn(_HOURLY("latitude"), "min(latitude)"),
    DailyColumn(_HOURLY("longitude"), "min(longitude)"),
    DailyColumn(
        _described("temperature_c", "Mean temperature over the day's hours (°C)."),
        "avg(temperature_c)",
    ),
    DailyColumn(
        _new("temperature_min_c", "float64", "Lowest hourly temperature (°C)."),
        "min(temperature_c)",
    ),
    DailyColumn(
        _new("temperature_max_c", "float64", "Highest hourly temperature (°C)."),
        "max(temperature_c)",
    ),
    DailyColumn(
        _described("precipitation_mm", "Precipitation summed over the day's hours (mm)."),
        "sum(precipitation_mm)",
    ),
    DailyColumn(_described("rain_mm", "Rain summed over the day's hours (mm)."), "sum(rain_mm)"),
    DailyColumn(
        _described("snowfall_cm", "Snowfall summed over the day's hours (cm)."),
        "sum(snowfall_cm)",
    ),
    DailyColumn(
        _described("wind_speed_kmh", "Mean wind speed over the day's hours (km/h)."),
        "avg(wind_speed_kmh)",
    ),
    DailyColumn(
        _new("wind_speed_max_kmh", "float64", "Highest hourly wind speed (km/h)."),
        "max(wind_speed_kmh)",
    ),
    DailyColumn(
        _described(
            "weather_code",
            "Most severe WMO 4677 code of the day's hours (the highest, as Open-Meteo's "
            "daily weather_code).",
        ),
        "max(weather_code)",
    ),
    DailyColumn(
        _described("visibility_m", "Mean visibility over the day's hours (m)."),
        "avg(visibility_m)",
    ),
    DailyColumn(
        _new("visibility_min_m", "float64", "Lowest hourly visibility (m)."),
        "min(visibility_m)",
    ),
    DailyColumn(
        _new(
            "wet_hours",
            "int64",
            "Hours with precipitation or snowfall (the `wet` hours of weather_impact).",
            nullable=False,
        ),
        "count(*) FILTER (WHERE precipitation_mm > 0 OR snowfall_cm > 0)",
    ),
)

_KEY = ("network", "line_id", "location_id", "day")

MOBILITY_WEATHER_DAILY = TableContract(
    name="mobility_weather_daily",
    columns=tuple(daily.column for daily in DAILY_COLUMNS),
    key=_KEY,
    description="Punctuality and weather per network, line, weather location and UTC day, "
    "aggregated from mobility_weather_hourly (known weather only).",
    filters=MOBILITY_WEATHER_HOURLY.filters,
    order=("network", "line_id", "day", "location_id"),
)


def daily_sql(relation: str, where: str, time_format: str) -> tuple[str, str]:
    """(count query, page query) of the daily rows of `relation` under `where` (a ` WHERE …`
    clause on the hourly rows, or empty); the page query takes `LIMIT ? OFFSET ?`."""
    aggregates = ", ".join(
        f"{daily.sql} AS {daily.column.name}" for daily in DAILY_COLUMNS if daily.sql != DAY_SQL
    )
    groups = ", ".join(name for name in _KEY if name != "day") + f", {DAY_SQL}"
    days = f"SELECT {aggregates}, {DAY_SQL} AS day FROM {relation}{where} GROUP BY {groups}"
    selected = ", ".join(
        f"strftime(day, '{time_format}') AS day" if daily.sql == DAY_SQL else daily.column.name
        for daily in DAILY_COLUMNS
    )
    order = ", ".join(MOBILITY_WEATHER_DAILY.order)
    count = f"SELECT count(*) FROM ({days})"
    page = f"SELECT {selected} FROM ({days}) ORDER BY {order} NULLS FIRST LIMIT ? OFFSET ?"
    return count, page


__all__ = ["DAILY_COLUMNS", "HOURLY_TABLE", "MOBILITY_WEATHER_DAILY", "DailyColumn", "daily_sql"]
