"""The Great Expectations suites, as code: one per checked view.

Every expectation carries its check name as `description` (so the Data Docs show it) and
in `meta["check"]` (so results map back to it). Row-level and cross-table rules that GE has
no built-in for are `UnexpectedRowsExpectation`s: plain DuckDB SQL run where the data is.
Import only inside functions: `great_expectations` takes seconds to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from umwi_core.contracts import (
    CORRELATION_VARIABLES,
    DEPARTURE_SOURCES,
    DEPARTURES,
    IMPACT_CLASSES,
    LIMITS,
    WEATHER_CLASSES,
    WEATHER_HOURLY,
    WEATHER_SOURCES,
    WMO_CODES,
    Y_KINDS,
    TableContract,
)
from umwi_core.settings import Settings
from umwi_transform import GOLD_SCHEMAS

from umwi_quality._sqltypes import contract_columns, schema_columns
from umwi_quality._workspace import sql_timestamp


@dataclass(frozen=True)
class SuiteContext:
    """What the rules depend on besides the data: the clock and the settings."""

    now: datetime
    settings: Settings
    totals_window: str  # SQL yielding the `hour`s whose gold totals must equal silver's

    @property
    def future_limit(self) -> str:
        tolerance = timedelta(seconds=self.settings.quality_future_tolerance_s)
        return sql_timestamp(self.now + tolerance)


def _gx() -> Any:
    import great_expectations.expectations as gxe

    return gxe


def _named(expectation: Any, check: str) -> Any:
    expectation.description = check
    expectation.meta = {"check": check}
    return expectation


def _rows(check: str, query: str) -> Any:
    return _named(_gx().UnexpectedRowsExpectation(unexpected_rows_query=query), check)


def _schema(view: str, columns: list[tuple[str, str]]) -> list[Any]:
    gxe = _gx()
    expected = ", ".join(f"('{name}', '{kind}')" for name, kind in columns)
    # `{batch}` must appear in the query; the count keeps the scan to metadata.
    wrong_types = (
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = 'main' AND table_name = '{view}' "
        f"AND (column_name, data_type) NOT IN (VALUES {expected}) "
        "AND (SELECT count(*) FROM (SELECT 1 FROM {batch} LIMIT 1)) >= 0"
    )
    return [
        _named(
            gxe.ExpectTableColumnsToMatchOrderedList(column_list=[n for n, _ in columns]),
            "columns match the contract",
        ),
        _rows("column types match the contract", wrong_types),
    ]


def _not_null(columns: tuple[str, ...]) -> list[Any]:
    gxe = _gx()
    return [
        _named(gxe.ExpectColumnValuesToNotBeNull(column=name), f"{name} not null")
        for name in columns
    ]


def _unique(key: tuple[str, ...]) -> Any:
    # GROUP BY treats nulls as equal, which is what a key with a nullable part needs.
    columns = ", ".join(key)
    return _rows(
        "key unique",
        f"SELECT {columns}, count(*) AS n FROM {{batch}} GROUP BY {columns} HAVING count(*) > 1",
    )


def _limits(name: str) -> tuple[float, float]:
    low, high = cast(tuple[float, float], LIMITS[name])
    return low, high


def _between(column: str, low: float | None, high: float | None, check: str) -> Any:
    return _named(
        _gx().ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high), check
    )


def _in_set(column: str, values: list[Any], check: str) -> Any:
    return _named(_gx().ExpectColumnValuesToBeInSet(column=column, value_set=values), check)


def _silver(contract: TableContract) -> tuple[list[Any], str]:
    view = f"silver_{contract.name}"
    return (
        [
            *_schema(view, contract_columns(contract)),
            *_not_null(contract.required),
            _unique(contract.key),
        ],
        view,
    )


def departures_suite(context: SuiteContext) -> list[Any]:
    rules, _ = _silver(DEPARTURES)
    max_delay = float(cast(int, LIMITS["max_abs_delay_s"]))
    return [
        *rules,
        _in_set("source", list(DEPARTURE_SOURCES), "source is a known departure source"),
        _between("delay_s", -max_delay, max_delay, "delay_s within 2 days"),
        _between("stop_lat", *_limits("latitude"), "stop_lat within ±90"),
        _between("stop_lon", *_limits("longitude"), "stop_lon within ±180"),
        _rows(
            "scheduled_at not in the future",
            f"SELECT * FROM {{batch}} WHERE scheduled_at > {context.future_limit}",
        ),
        _rows(
            "ingested_at not in the future",
            f"SELECT * FROM {{batch}} WHERE ingested_at > {context.future_limit}",
        ),
        _rows(
            "cancelled exactly when there is no real-time value",
            "SELECT * FROM {batch} WHERE (cancelled AND (delay_s IS NOT NULL "
            "OR observed_at IS NOT NULL)) OR (NOT cancelled AND (delay_s IS NULL "
            "OR observed_at IS NULL))",
        ),
        _rows(
            "delay_s equals observed_at - scheduled_at",
            "SELECT * FROM {batch} WHERE abs(epoch(observed_at) - epoch(scheduled_at) "
            "- delay_s) > 1",
        ),
    ]


def weather_suite(context: SuiteContext) -> list[Any]:
    rules, _ = _silver(WEATHER_HOURLY)
    return [
        *rules,
        _in_set("source", list(WEATHER_SOURCES), "source is a known weather source"),
        _in_set("weather_code", sorted(WMO_CODES), "weather_code is a WMO 4677 code (0-99)"),
        _between("temperature_c", *_limits("temperature_c"), "temperature_c within -90..60"),
        *(
            _between(column, 0, None, f"{column} not negative")
            for column in (
                "precipitation_mm",
                "rain_mm",
                "snowfall_cm",
                "wind_speed_kmh",
                "visibility_m",
            )
        ),
        _between("latitude", *_limits("latitude"), "latitude within ±90"),
        _between("longitude", *_limits("longitude"), "longitude within ±180"),
        _rows(
            "hour is the start of an hour",
            "SELECT * FROM {batch} WHERE date_trunc('hour', hour) <> hour",
        ),
        _rows(
            "hour not in the future",
            f"SELECT * FROM {{batch}} WHERE hour > {context.future_limit}",
        ),
    ]


def _hourly(table: str, context: SuiteContext) -> list[Any]:
    return [
        *_schema(f"gold_{table}", schema_columns(GOLD_SCHEMAS[table])),
        *_not_null(("network", "line_id", "hour", "departures")),
        _unique(("network", "line_id", "location_id", "hour")),
        _between("departures", 1, None, "departures at least 1"),
        _rows(
            "cancelled and on_time within departures",
            "SELECT * FROM {batch} WHERE cancelled < 0 OR cancelled > departures "
            "OR on_time < 0 OR on_time > departures - cancelled",
        ),
        _rows(
            "p50_delay_s <= p90_delay_s", "SELECT * FROM {batch} WHERE p50_delay_s > p90_delay_s"
        ),
        _rows(
            "hour not in the future",
            f"SELECT * FROM {{batch}} WHERE hour > {context.future_limit}",
        ),
    ]


def punctuality_suite(context: SuiteContext) -> list[Any]:
    return [
        *_hourly("punctuality_hourly", context),
        _rows(
            "every departure hour with known weather joins a weather row",
            "SELECT p.* FROM {batch} p LEFT JOIN silver_weather_hourly_all w "
            "ON w.location_id = p.location_id AND w.hour = p.hour "
            "AND w.precipitation_mm IS NOT NULL "
            "WHERE p.location_id IS NOT NULL AND w.location_id IS NULL",
        ),
        _rows(
            "gold totals equal silver totals",
            "WITH win AS (" + context.totals_window + "), "
            "s AS (SELECT network, date_trunc('hour', scheduled_at) AS hour, "
            "count(*) AS departures, count(*) FILTER (WHERE cancelled) AS cancelled "
            "FROM silver_departures_all WHERE date_trunc('hour', scheduled_at) IN "
            "(SELECT hour FROM win) GROUP BY ALL), "
            "g AS (SELECT network, hour, sum(departures) AS departures, "
            "sum(cancelled) AS cancelled FROM {batch} WHERE line_id = '*' "
            "AND hour IN (SELECT hour FROM win) GROUP BY ALL) "
            "SELECT network, hour, s.departures AS silver_departures, "
            "g.departures AS gold_departures FROM s FULL JOIN g USING (network, hour) "
            "WHERE s.departures IS DISTINCT FROM g.departures "
            "OR s.cancelled IS DISTINCT FROM g.cancelled",
        ),
    ]


def mobility_suite(context: SuiteContext) -> list[Any]:
    known = [name for name in WEATHER_CLASSES if name != "unknown"]
    return [
        *_hourly("mobility_weather_hourly", context),
        *_not_null(("location_id", "weather_class")),
        _in_set("weather_class", known, "weather_class is a known class"),
        _in_set("weather_code", sorted(WMO_CODES), "weather_code is a WMO 4677 code (0-99)"),
    ]


def impact_suite(context: SuiteContext) -> list[Any]:
    return [
        *_schema("gold_weather_impact", schema_columns(GOLD_SCHEMAS["weather_impact"])),
        *_not_null(("network", "line_id", "period", "weather_class", "departures")),
        _unique(("network", "line_id", "period", "weather_class")),
        _in_set("weather_class", list(IMPACT_CLASSES), "weather_class is a known class"),
        *(
            _between(rate, 0, 1, f"{rate} within 0..1")
            for rate in ("cancellation_rate", "on_time_rate", "reliability_rate")
        ),
        _between("departures", 0, None, "departures not negative"),
        _rows(
            "period is 'all' or YYYY-MM",
            "SELECT * FROM {batch} WHERE period <> 'all' "
            "AND NOT regexp_full_match(period, '[0-9][0-9][0-9][0-9]-(0[1-9]|1[0-2])')",
        ),
    ]


def correlation_suite(context: SuiteContext) -> list[Any]:
    return [
        *_schema("gold_correlation", schema_columns(GOLD_SCHEMAS["correlation"])),
        *_not_null(("network", "line_id", "period", "variable", "lag_h", "y_kind", "n")),
        _unique(("network", "line_id", "period", "variable", "lag_h", "y_kind")),
        _in_set("variable", list(CORRELATION_VARIABLES), "variable is a weather variable"),
        _in_set("y_kind", list(Y_KINDS), "y_kind is raw or anomaly"),
        _between("lag_h", 0, 3, "lag_h within 0..3"),
        _between("n", 0, None, "n not negative"),
        _between("pearson_r", -1, 1, "pearson_r within -1..1"),
        _between("spearman_rho", -1, 1, "spearman_rho within -1..1"),
        _between("p_value", 0, 1, "p_value within 0..1"),
        _rows(
            "ci_low <= pearson_r <= ci_high",
            "SELECT * FROM {batch} WHERE pearson_r < ci_low - 1e-9 OR pearson_r > ci_high + 1e-9",
        ),
    ]


SUITES = {
    "silver_departures": departures_suite,
    "silver_weather_hourly": weather_suite,
    "gold_punctuality_hourly": punctuality_suite,
    "gold_mobility_weather_hourly": mobility_suite,
    "gold_weather_impact": impact_suite,
    "gold_correlation": correlation_suite,
}
