"""The data contracts of DESIGN.md §3–§5 as plain data: silver and gold in one shape.

Column types are Arrow type names (`string`, `timestamp_us_utc`, `int32`, …): the
packages that hold Arrow turn them into schemas; this module stays importable without it.
Every consumer derives from these contracts rather than restating them: the Arrow/Delta
schemas (`umwi_core.arrow`, `umwi_transform.GOLD_SCHEMAS`), the API's row models, filters and
row order (`umwi_api`), the Great Expectations suites and the Soda contract files
(`umwi_quality`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

ColumnType = Literal["string", "timestamp_us_utc", "int16", "int32", "int64", "float64", "bool"]

#: Where a `RowRule` compares a time with "now + the gate's future tolerance"; each engine
#: substitutes its own spelling of that instant.
FUTURE_LIMIT = "{future_limit}"


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Range:
    """Values must lie in `[low, high]` (either end open when None); nulls pass."""

    low: float | None = None
    high: float | None = None
    #: The check's name where the derived one ("x within -1..1") reads worse.
    name: str = ""

    def check_name(self, column: str) -> str:
        if self.name:
            return f"{column} {self.name}"
        if self.high is None and self.low == 0:
            return f"{column} not negative"
        if self.high is None and self.low is not None:
            return f"{column} at least {_number(self.low)}"
        if self.low is None and self.high is not None:
            return f"{column} at most {_number(self.high)}"
        return f"{column} within {_number(self.low or 0)}..{_number(self.high or 0)}"


@dataclass(frozen=True)
class OneOf:
    """Values must be one of `values`; nulls pass. `label` completes "<column> is …"."""

    values: tuple[str, ...] | tuple[int, ...]
    label: str

    def check_name(self, column: str) -> str:
        return f"{column} is {self.label}"


@dataclass(frozen=True)
class RowRule:
    """A rule over one row of one table: rows where `failing` (DuckDB SQL) holds break it."""

    name: str
    failing: str

    def sql(self, future_limit: str) -> str:
        """`failing` with `FUTURE_LIMIT` replaced by the engine's SQL for that instant."""
        return self.failing.replace(FUTURE_LIMIT, future_limit)


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True
    description: str = ""
    range: Range | None = None
    one_of: OneOf | None = None


@dataclass(frozen=True)
class TableContract:
    """A silver or gold table: its columns, key and value rules; gold adds how the API
    filters (`filters` by equality, `time_column` by `start`/`end`) and orders its rows."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    rules: tuple[RowRule, ...] = ()
    description: str = ""
    filters: tuple[str, ...] = ()
    time_column: str | None = None
    order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = self.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"contract {self.name}: a column name appears twice in {names}")
        time = () if self.time_column is None else (self.time_column,)
        for part, listed in (
            ("key", self.key),
            ("filters", self.filters),
            ("time_column", time),
            ("order", self.order),
        ):
            unknown = [name for name in listed if name not in names]
            if unknown:
                raise ValueError(f"contract {self.name}: {part} names unknown columns {unknown}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if not column.nullable)

    @property
    def api_filters(self) -> tuple[str, ...]:
        """The query parameters that filter this table: its filter columns, then
        `start` (inclusive) and `end` (exclusive) on `time_column`."""
        return self.filters + (() if self.time_column is None else ("start", "end"))

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


#: Columns filled by umwi itself rather than read from a source.
LINEAGE_COLUMNS = ("as_of", "ingested_at", "run_id")

#: How a source names itself (`umwi_connectors.Source.name`, checked when it registers).
#: Which sources exist is the registry's to say, not the contract's: a plugin source's rows
#: must pass the gate without editing core.
SOURCE_NAME_PATTERN = "[a-z][a-z0-9_]*"

#: WMO 4677 present-weather codes as Open-Meteo reports them.
WMO_CODES = frozenset(range(100))

_LATITUDE = (-90.0, 90.0)
_LONGITUDE = (-180.0, 180.0)
_TEMPERATURE_C = (-90.0, 60.0)
_MAX_ABS_DELAY_S = 2 * 86_400

LIMITS = {
    "latitude": _LATITUDE,
    "longitude": _LONGITUDE,
    "temperature_c": _TEMPERATURE_C,
    "max_abs_delay_s": _MAX_ABS_DELAY_S,
}

_WMO = OneOf(tuple(sorted(WMO_CODES)), "a WMO 4677 code (0-99)")
_NOT_NEGATIVE = Range(0)


def _source_name() -> RowRule:
    return RowRule(
        "source is a source name",
        f"not regexp_full_match(source, '{SOURCE_NAME_PATTERN}')",
    )


def _not_in_future(column: str) -> RowRule:
    return RowRule(f"{column} not in the future", f"{column} > {FUTURE_LIMIT}")


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
        Column(
            "delay_s",
            "int32",
            range=Range(-_MAX_ABS_DELAY_S, _MAX_ABS_DELAY_S, name="within 2 days"),
        ),
        Column("cancelled", "bool", nullable=False),
        Column("stop_lat", "float64", range=Range(*_LATITUDE, name="within ±90")),
        Column("stop_lon", "float64", range=Range(*_LONGITUDE, name="within ±180")),
        Column("as_of", "timestamp_us_utc", nullable=False),
        Column("ingested_at", "timestamp_us_utc", nullable=False),
        Column("run_id", "string", nullable=False),
    ),
    key=("network", "trip_id", "stop_id", "scheduled_at"),
    rules=(
        _source_name(),
        _not_in_future("scheduled_at"),
        _not_in_future("ingested_at"),
        RowRule(
            "cancelled exactly when there is no real-time value",
            "(cancelled AND (delay_s IS NOT NULL OR observed_at IS NOT NULL)) "
            "OR (NOT cancelled AND (delay_s IS NULL OR observed_at IS NULL))",
        ),
        RowRule(
            "delay_s equals observed_at - scheduled_at",
            "abs(epoch(observed_at) - epoch(scheduled_at) - delay_s) > 1",
        ),
    ),
    description="One scheduled departure of one vehicle from one stop (DESIGN.md §3).",
)

#: What an hour of weather measures, observed (`weather_hourly`) or forecast
#: (`weather_forecast`): one declaration, so both tables and their writers agree.
_MEASURED_WEATHER = (
    Column("temperature_c", "float64", range=Range(*_TEMPERATURE_C)),
    Column("precipitation_mm", "float64", range=_NOT_NEGATIVE),
    Column("rain_mm", "float64", range=_NOT_NEGATIVE),
    Column("snowfall_cm", "float64", range=_NOT_NEGATIVE),
    Column("wind_speed_kmh", "float64", range=_NOT_NEGATIVE),
    Column("weather_code", "int16", one_of=_WMO),
    Column("visibility_m", "float64", range=_NOT_NEGATIVE),
)
WEATHER_MEASURES = tuple(column.name for column in _MEASURED_WEATHER)

WEATHER_HOURLY = TableContract(
    name="weather_hourly",
    columns=(
        Column("location_id", "string", nullable=False),
        Column("latitude", "float64", nullable=False, range=Range(*_LATITUDE, name="within ±90")),
        Column(
            "longitude", "float64", nullable=False, range=Range(*_LONGITUDE, name="within ±180")
        ),
        Column("hour", "timestamp_us_utc", nullable=False),
        *_MEASURED_WEATHER,
        Column("source", "string", nullable=False),
        Column("as_of", "timestamp_us_utc", nullable=False),
        Column("ingested_at", "timestamp_us_utc", nullable=False),
        Column("run_id", "string", nullable=False),
    ),
    key=("location_id", "hour"),
    rules=(
        _source_name(),
        _not_in_future("hour"),
        RowRule("hour is the start of an hour", "date_trunc('hour', hour) <> hour"),
    ),
    description="Weather at one location for one hour (DESIGN.md §3).",
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

# --- gold (DESIGN.md §5) ----------------------------------------------------------------

_NETWORK = Column(
    "network", "string", nullable=False, description="Transit network (feed / Navitia coverage)."
)
_LINE_ID = Column(
    "line_id", "string", nullable=False, description="Line id; `*` = all lines together."
)
_PERIOD = Column(
    "period", "string", nullable=False, description="`all` or a UTC calendar month `YYYY-MM`."
)
_HOUR = Column(
    "hour",
    "timestamp_us_utc",
    nullable=False,
    description="Start of the UTC hour `[hour, hour+1h)`.",
)
_PUNCTUALITY_MEASURES = (
    Column(
        "departures",
        "int64",
        nullable=False,
        description="Scheduled departures in the hour.",
        range=Range(1),
    ),
    Column(
        "cancelled",
        "int64",
        nullable=False,
        description="Cancelled departures.",
        range=_NOT_NEGATIVE,
    ),
    Column(
        "on_time",
        "int64",
        nullable=False,
        description="Departures within the on-time window.",
        range=_NOT_NEGATIVE,
    ),
    Column("mean_delay_s", "float64", description="Mean delay (s) over non-cancelled."),
    Column("p50_delay_s", "float64", description="Median delay (s), percentile_cont."),
    Column("p90_delay_s", "float64", description="90th percentile delay (s)."),
)
_HOURLY_RULES = (
    RowRule(
        "cancelled and on_time within departures",
        "cancelled > departures OR on_time > departures - cancelled",
    ),
    RowRule("p50_delay_s <= p90_delay_s", "p50_delay_s > p90_delay_s"),
    _not_in_future("hour"),
)
_HOURLY_KEY = ("network", "line_id", "location_id", "hour")
_HOURLY_ORDER = ("network", "line_id", "hour", "location_id")

PUNCTUALITY_HOURLY = TableContract(
    name="punctuality_hourly",
    columns=(
        _NETWORK,
        _LINE_ID,
        Column("location_id", "string", description="Weather location; null = unknown weather."),
        _HOUR,
        *_PUNCTUALITY_MEASURES,
    ),
    key=_HOURLY_KEY,
    rules=_HOURLY_RULES,
    description="Punctuality per network, line, weather location and UTC hour.",
    filters=("network", "line_id"),
    time_column="hour",
    order=_HOURLY_ORDER,
)

MOBILITY_WEATHER_HOURLY = TableContract(
    name="mobility_weather_hourly",
    columns=(
        _NETWORK,
        _LINE_ID,
        Column("location_id", "string", nullable=False, description="Weather location."),
        _HOUR,
        *_PUNCTUALITY_MEASURES,
        Column(
            "latitude",
            "float64",
            nullable=False,
            description="Weather location latitude (WGS84).",
        ),
        Column(
            "longitude",
            "float64",
            nullable=False,
            description="Weather location longitude (WGS84).",
        ),
        Column("temperature_c", "float64", description="Temperature at the hour (°C)."),
        Column(
            "precipitation_mm",
            "float64",
            nullable=False,
            description="Precipitation during the hour (mm).",
            range=_NOT_NEGATIVE,
        ),
        Column("rain_mm", "float64", description="Rain during the hour (mm)."),
        Column("snowfall_cm", "float64", description="Snowfall during the hour (cm)."),
        Column("wind_speed_kmh", "float64", description="Wind speed at the hour (km/h)."),
        Column("weather_code", "int16", description="WMO 4677 weather code.", one_of=_WMO),
        Column("visibility_m", "float64", description="Visibility (m)."),
        Column(
            "weather_class",
            "string",
            nullable=False,
            description="dry, light_rain, moderate_rain, heavy_rain or snow (known weather only).",
            one_of=OneOf(
                tuple(name for name in WEATHER_CLASSES if name != "unknown"), "a known class"
            ),
        ),
    ),
    key=_HOURLY_KEY,
    rules=_HOURLY_RULES,
    description="Punctuality per hour joined to its location's weather (known weather only).",
    filters=("network", "line_id"),
    time_column="hour",
    order=_HOURLY_ORDER,
)

_RATE = Range(0, 1)

WEATHER_IMPACT = TableContract(
    name="weather_impact",
    columns=(
        _NETWORK,
        _LINE_ID,
        _PERIOD,
        Column(
            "weather_class",
            "string",
            nullable=False,
            description="unknown, snow, dry, light_rain, moderate_rain, heavy_rain, or wet "
            "(rain or snow pooled).",
            one_of=OneOf(IMPACT_CLASSES, "a known class"),
        ),
        Column(
            "cells",
            "int64",
            description="(location, hour) cells; null for unknown weather.",
            range=_NOT_NEGATIVE,
        ),
        Column(
            "departures",
            "int64",
            nullable=False,
            description="Scheduled departures.",
            range=_NOT_NEGATIVE,
        ),
        Column("cancellation_rate", "float64", description="cancelled / departures.", range=_RATE),
        Column(
            "on_time_rate",
            "float64",
            description="on_time / non-cancelled departures.",
            range=_RATE,
        ),
        Column("reliability_rate", "float64", description="on_time / departures.", range=_RATE),
        Column("mean_delay_s", "float64", description="Departure-weighted mean delay (s)."),
        Column("uplift_s", "float64", description="mean_delay_s minus the dry row's."),
        Column(
            "uplift_pct",
            "float64",
            description="100 · uplift_s / dry mean delay; null when the dry mean is under 30 s.",
        ),
    ),
    key=("network", "line_id", "period", "weather_class"),
    rules=(
        RowRule(
            "period is 'all' or YYYY-MM",
            "period <> 'all' "
            "AND NOT regexp_full_match(period, '[0-9][0-9][0-9][0-9]-(0[1-9]|1[0-2])')",
        ),
    ),
    description="Delays and rates per network, line, period and weather class.",
    filters=("network", "line_id", "period"),
    order=("network", "line_id", "period", "weather_class"),
)

_CORRELATION_KEY = ("network", "line_id", "period", "variable", "lag_h", "y_kind")
_UNIT = Range(-1, 1)

CORRELATION = TableContract(
    name="correlation",
    columns=(
        _NETWORK,
        _LINE_ID,
        _PERIOD,
        Column(
            "variable",
            "string",
            nullable=False,
            description="Weather variable x.",
            one_of=OneOf(CORRELATION_VARIABLES, "a weather variable"),
        ),
        Column(
            "lag_h",
            "int32",
            nullable=False,
            description="x taken at hour − lag_h (0–3).",
            range=Range(min(CORRELATION_LAGS_H), max(CORRELATION_LAGS_H)),
        ),
        Column(
            "y_kind",
            "string",
            nullable=False,
            description="`raw` mean delay or `anomaly` against the baseline.",
            one_of=OneOf(Y_KINDS, "raw or anomaly"),
        ),
        Column("n", "int64", nullable=False, description="Cells used.", range=_NOT_NEGATIVE),
        Column("pearson_r", "float64", description="Pearson correlation of y on x.", range=_UNIT),
        Column("ci_low", "float64", description="95 % CI low (Fisher z; optimistic)."),
        Column("ci_high", "float64", description="95 % CI high."),
        Column(
            "p_value",
            "float64",
            description="Two-sided p (Student's t, n − 2 df).",
            range=Range(0, 1),
        ),
        Column("spearman_rho", "float64", description="Spearman rank correlation.", range=_UNIT),
        Column("slope", "float64", description="Least-squares slope of y on x (s per unit)."),
        Column("intercept", "float64", description="Least-squares intercept (s)."),
        # Issue 19: inference corrected for autocorrelation and shared weather.
        Column(
            "n_eff",
            "float64",
            description="Effective sample size: n corrected for serial and same-hour "
            "dependence of x and y (Bartlett), at most n.",
            range=_NOT_NEGATIVE,
        ),
        Column("ci_low_adj", "float64", description="95 % CI low (Fisher z with n_eff − 3)."),
        Column("ci_high_adj", "float64", description="95 % CI high (Fisher z with n_eff − 3)."),
        Column(
            "p_value_adj",
            "float64",
            description="Two-sided p (Student's t, n_eff − 2 df).",
            range=Range(0, 1),
        ),
    ),
    key=_CORRELATION_KEY,
    rules=(
        RowRule(
            "ci_low <= pearson_r <= ci_high",
            "pearson_r < ci_low - 1e-9 OR pearson_r > ci_high + 1e-9",
        ),
        RowRule(
            "ci_low_adj <= pearson_r <= ci_high_adj",
            "pearson_r < ci_low_adj - 1e-9 OR pearson_r > ci_high_adj + 1e-9",
        ),
        RowRule("n_eff <= n", "n_eff > n * (1 + 1e-9)"),
    ),
    description="Correlation of delay with each weather variable, lag and y kind.",
    filters=_CORRELATION_KEY,
    order=_CORRELATION_KEY,
)

# --- line sensitivity (issue 19) ------------------------------------------------------


def _interval_column(name: str, bound: str, of: str) -> Column:
    return Column(
        name,
        "float64",
        description=f"{bound} of the 95 % interval of {of} "
        "(delta method on per-day sums, clustered by day).",
    )


LINE_SENSITIVITY = TableContract(
    name="line_sensitivity",
    columns=(
        _NETWORK,
        _LINE_ID,
        _PERIOD,
        Column(
            "wet_hours",
            "int64",
            nullable=False,
            description="Wet location-hours (cells with precipitation or snowfall > 0).",
            range=_NOT_NEGATIVE,
        ),
        Column(
            "dry_hours",
            "int64",
            nullable=False,
            description="Dry location-hours (cells with no precipitation or snowfall).",
            range=_NOT_NEGATIVE,
        ),
        Column(
            "wet_days",
            "int64",
            nullable=False,
            description="UTC days with at least one wet cell.",
            range=_NOT_NEGATIVE,
        ),
        Column(
            "days",
            "int64",
            nullable=False,
            description="UTC days with a wet or dry cell (the clusters).",
            range=_NOT_NEGATIVE,
        ),
        Column(
            "uplift_s",
            "float64",
            description="Mean delay in wet cells minus in dry cells (s, departure-weighted).",
        ),
        _interval_column("uplift_low_s", "Low end", "uplift_s"),
        _interval_column("uplift_high_s", "High end", "uplift_s"),
        Column(
            "reliability_drop",
            "float64",
            description="reliability_rate in dry cells minus in wet cells (on_time / departures).",
            range=_UNIT,
        ),
        _interval_column("reliability_drop_low", "Low end", "reliability_drop"),
        _interval_column("reliability_drop_high", "High end", "reliability_drop"),
        Column(
            "rank",
            "int64",
            description="1 = most weather-sensitive line of the network and period, by "
            "uplift_low_s; null for '*' and for lines under UMWI_SENSITIVITY_MIN_WET_HOURS.",
            range=Range(1),
        ),
    ),
    key=("network", "line_id", "period"),
    rules=(
        RowRule(
            "period is 'all' or YYYY-MM",
            "period <> 'all' "
            "AND NOT regexp_full_match(period, '[0-9][0-9][0-9][0-9]-(0[1-9]|1[0-2])')",
        ),
        RowRule(
            "uplift_low_s <= uplift_s <= uplift_high_s",
            "uplift_s < uplift_low_s - 1e-9 OR uplift_s > uplift_high_s + 1e-9",
        ),
        RowRule("no rank for '*'", "line_id = '*' AND rank IS NOT NULL"),
    ),
    description="Weather sensitivity of each line: wet-minus-dry delay and reliability, "
    "with day-clustered intervals and a rank.",
    filters=("network", "line_id", "period"),
    order=("network", "period", "rank", "line_id"),
)

#: The gold tables in build and publication order.
GOLD_CONTRACTS: dict[str, TableContract] = {
    contract.name: contract
    for contract in (
        PUNCTUALITY_HOURLY,
        MOBILITY_WEATHER_HOURLY,
        WEATHER_IMPACT,
        CORRELATION,
        LINE_SENSITIVITY,
    )
}

# --- the punctuality outlook (DESIGN.md §8, issue 20) -----------------------------------
# Kept in one block so the other gold tables' contracts above stay as they were.

#: Classes with an uplift against dry in `outlook_class_effect` (`dry` has none by definition).
EFFECT_CLASSES = ("light_rain", "moderate_rain", "heavy_rain", "snow")
#: The outlook's three expected measures, as named in `outlook_baseline`.
OUTLOOK_MEASURES = ("mean_delay_s", "on_time_rate", "reliability_rate")
#: The published table built from the forecast: cheap, refreshed on its own schedule.
OUTLOOK_HOURLY_TABLE = "outlook_hourly"
#: Hours of forecast the outlook covers, from the hour of the forecast's issue.
OUTLOOK_HORIZON_H = 48

_WEEKDAY = Column(
    "weekday",
    "int32",
    nullable=False,
    description="ISO weekday of the UTC hour: 1 = Monday … 7 = Sunday.",
    range=Range(1, 7),
)
_HOUR_OF_DAY = Column(
    "hour_of_day", "int32", nullable=False, description="UTC hour of day, 0–23.", range=Range(0, 23)
)
_FORECAST_WEATHER = (
    Column("temperature_c", "float64", description="Forecast temperature at the hour (°C)."),
    Column(
        "precipitation_mm",
        "float64",
        description="Forecast precipitation during the hour (mm); null = unknown.",
        range=_NOT_NEGATIVE,
    ),
    Column("rain_mm", "float64", description="Forecast rain during the hour (mm)."),
    Column("snowfall_cm", "float64", description="Forecast snowfall during the hour (cm)."),
    Column("wind_speed_kmh", "float64", description="Forecast wind speed at the hour (km/h)."),
    Column("weather_code", "int16", description="Forecast WMO 4677 code.", one_of=_WMO),
    Column("visibility_m", "float64", description="Forecast visibility (m)."),
)


def _spread(name: str, what: str) -> Column:
    return Column(
        name,
        "float64",
        description=f"Sample standard deviation of {what}; null when fewer than 2 hours.",
        range=_NOT_NEGATIVE,
    )


OUTLOOK_BASELINE = TableContract(
    name="outlook_baseline",
    columns=(
        _NETWORK,
        _LINE_ID,
        Column("location_id", "string", nullable=False, description="Weather location."),
        _WEEKDAY,
        _HOUR_OF_DAY,
        Column(
            "hours",
            "int64",
            nullable=False,
            description="Dry hours of the history in this slot (with a non-cancelled departure).",
            range=Range(1),
        ),
        Column(
            "mean_delay_s",
            "float64",
            nullable=False,
            description="Mean over those hours of the hour's mean delay (s).",
        ),
        _spread("mean_delay_sd_s", "the hours' mean delay (s)"),
        Column(
            "on_time_rate",
            "float64",
            nullable=False,
            description="Mean over those hours of on_time / non-cancelled.",
            range=_RATE,
        ),
        _spread("on_time_rate_sd", "the hours' on-time rate"),
        Column(
            "reliability_rate",
            "float64",
            nullable=False,
            description="Mean over those hours of on_time / departures.",
            range=_RATE,
        ),
        _spread("reliability_rate_sd", "the hours' reliability rate"),
    ),
    key=("network", "line_id", "location_id", "weekday", "hour_of_day"),
    description="Dry-hour baseline per network, line, weather location, ISO weekday and UTC "
    "hour of day: the outlook's starting point (DESIGN.md §8).",
    filters=("network", "line_id"),
    order=("network", "line_id", "location_id", "weekday", "hour_of_day"),
)


def _uplift_columns(measure: str, unit: str) -> tuple[Column, ...]:
    stem = measure.removesuffix("_s")
    return (
        Column(
            f"{stem}_uplift_raw{unit}",
            "float64",
            description=f"Mean over the line's hours of this class of {measure} minus the "
            "slot's dry baseline; null when the line has none.",
        ),
        Column(
            f"{stem}_uplift{unit}",
            "float64",
            nullable=False,
            description="weight · raw uplift + (1 − weight) · the all-lines (`*`) raw uplift.",
        ),
        Column(
            f"{stem}_uplift_se{unit}",
            "float64",
            description="Standard error of the shrunk uplift (DESIGN.md §8); null when a "
            "variance it needs is undefined.",
            range=_NOT_NEGATIVE,
        ),
    )


OUTLOOK_CLASS_EFFECT = TableContract(
    name="outlook_class_effect",
    columns=(
        _NETWORK,
        _LINE_ID,
        Column(
            "weather_class",
            "string",
            nullable=False,
            description="light_rain, moderate_rain, heavy_rain or snow.",
            one_of=OneOf(EFFECT_CLASSES, "a wet class"),
        ),
        Column(
            "hours",
            "int64",
            nullable=False,
            description="The line's hours of this class that have a dry baseline.",
            range=_NOT_NEGATIVE,
        ),
        Column(
            "weight",
            "float64",
            nullable=False,
            description="hours / (hours + UMWI_OUTLOOK_SHRINKAGE_HOURS); 1 for `*`.",
            range=_RATE,
        ),
        *_uplift_columns("mean_delay_s", "_s"),
        *_uplift_columns("on_time_rate", ""),
        *_uplift_columns("reliability_rate", ""),
    ),
    key=("network", "line_id", "weather_class"),
    description="Uplift of each wet class against the dry baseline per line, shrunk towards "
    "the all-lines uplift when the line has few such hours (DESIGN.md §8).",
    filters=("network", "line_id"),
    order=("network", "line_id", "weather_class"),
)


def _expected(stem: str, unit: str, what: str, rate: bool) -> tuple[Column, ...]:
    bounds = _RATE if rate else None
    return (
        Column(
            f"expected_{stem}{unit}",
            "float64",
            description=f"Expected {what}: dry "
            "baseline + the class uplift" + (", clipped to 0..1." if rate else "."),
            range=bounds,
        ),
        Column(
            f"{stem}_low{unit}",
            "float64",
            description="95 % interval low of the expectation.",
            range=bounds,
        ),
        Column(f"{stem}_high{unit}", "float64", description="95 % interval high.", range=bounds),
    )


OUTLOOK_HOURLY = TableContract(
    name=OUTLOOK_HOURLY_TABLE,
    columns=(
        _NETWORK,
        _LINE_ID,
        Column("location_id", "string", nullable=False, description="Weather location."),
        Column(
            "hour",
            "timestamp_us_utc",
            nullable=False,
            description="Start of the forecast UTC hour `[hour, hour+1h)`.",
        ),
        Column(
            "issued_at",
            "timestamp_us_utc",
            nullable=False,
            description="When the location's latest forecast was issued; the 48 h run from "
            "its hour.",
        ),
        *_FORECAST_WEATHER,
        Column(
            "weather_class",
            "string",
            nullable=False,
            description="The forecast hour's class (DESIGN.md §5; unknown when precipitation "
            "is null).",
            one_of=OneOf(WEATHER_CLASSES, "a weather class"),
        ),
        Column(
            "baseline_hours",
            "int64",
            nullable=False,
            description="Dry hours behind the slot's baseline.",
            range=Range(1),
        ),
        Column(
            "class_hours",
            "int64",
            description="The line's hours of the forecast class behind its uplift; null for "
            "dry and unknown.",
            range=_NOT_NEGATIVE,
        ),
        Column(
            "baseline_mean_delay_s",
            "float64",
            nullable=False,
            description="The slot's dry baseline mean delay (s).",
        ),
        Column(
            "uplift_s",
            "float64",
            description="The class's shrunk mean-delay uplift (s); 0 when dry; null when unknown.",
        ),
        *_expected("mean_delay", "_s", "hourly mean delay (s)", rate=False),
        *_expected("on_time_rate", "", "on-time rate", rate=True),
        *_expected("reliability_rate", "", "reliability rate", rate=True),
    ),
    key=_HOURLY_KEY,
    rules=(
        RowRule(
            "expectations within their intervals",
            "expected_mean_delay_s < mean_delay_low_s - 1e-9 "
            "OR expected_mean_delay_s > mean_delay_high_s + 1e-9 "
            "OR expected_on_time_rate < on_time_rate_low - 1e-9 "
            "OR expected_on_time_rate > on_time_rate_high + 1e-9 "
            "OR expected_reliability_rate < reliability_rate_low - 1e-9 "
            "OR expected_reliability_rate > reliability_rate_high + 1e-9",
        ),
        RowRule(
            "hour within 48 h of the issue time",
            "hour < date_trunc('hour', issued_at) "
            f"OR hour >= date_trunc('hour', issued_at) + INTERVAL {OUTLOOK_HORIZON_H} HOUR",
        ),
    ),
    description="Expected punctuality per line and weather location for the next 48 h of "
    "the latest forecast (DESIGN.md §8).",
    filters=("network", "line_id"),
    time_column="hour",
    order=_HOURLY_ORDER,
)

#: Forecast hours as the Open-Meteo connector (or the sample city) lands them: never in
#: `weather_hourly`, which holds observed hours only. Not a `SILVER_TABLES` member: it is
#: written whole per issue (`umwi_transform.land_forecast`), not merged by the loader.
WEATHER_FORECAST = TableContract(
    name="weather_forecast",
    columns=(
        Column("location_id", "string", nullable=False),
        Column("latitude", "float64", nullable=False, range=Range(*_LATITUDE, name="within ±90")),
        Column(
            "longitude", "float64", nullable=False, range=Range(*_LONGITUDE, name="within ±180")
        ),
        Column("issued_at", "timestamp_us_utc", nullable=False),
        Column("hour", "timestamp_us_utc", nullable=False),
        *_MEASURED_WEATHER,
        Column("source", "string", nullable=False),
        Column("ingested_at", "timestamp_us_utc", nullable=False),
        Column("run_id", "string", nullable=False),
    ),
    key=("location_id", "issued_at", "hour"),
    rules=(
        _source_name(),
        RowRule("hour is the start of an hour", "date_trunc('hour', hour) <> hour"),
        _not_in_future("issued_at"),
    ),
    description="Forecast weather at one location for one hour, per forecast issue (DESIGN.md §8).",
)

GOLD_CONTRACTS |= {
    contract.name: contract for contract in (OUTLOOK_BASELINE, OUTLOOK_CLASS_EFFECT, OUTLOOK_HOURLY)
}
#: What `umwi build` computes from the history (everything but the outlook itself).
HISTORY_TABLES: tuple[str, ...] = tuple(t for t in GOLD_CONTRACTS if t != OUTLOOK_HOURLY_TABLE)
GOLD_TABLES: tuple[str, ...] = tuple(GOLD_CONTRACTS)
GOLD_COLUMNS: dict[str, tuple[str, ...]] = {
    name: contract.column_names for name, contract in GOLD_CONTRACTS.items()
}
