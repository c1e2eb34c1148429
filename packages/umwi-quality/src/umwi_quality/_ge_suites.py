"""The Great Expectations suites, as code: one per checked view, derived from its table's
contract in `umwi_core.contracts` (schema, non-null columns, key, value rules, row rules),
plus the cross-table rules no single contract can state.

Every expectation carries its check name as `description` (so the Data Docs show it) and
in `meta["check"]` (so results map back to it). Row-level and cross-table rules that GE has
no built-in for are `UnexpectedRowsExpectation`s: plain DuckDB SQL run where the data is.
Import only inside functions: `great_expectations` takes seconds to import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from umwi_core.contracts import TableContract
from umwi_core.settings import Settings

from umwi_quality._sqltypes import contract_columns
from umwi_quality._views import VIEW_CONTRACTS
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


def _between(column: str, low: float | None, high: float | None, check: str) -> Any:
    return _named(
        _gx().ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high), check
    )


def _in_set(column: str, values: list[Any], check: str) -> Any:
    return _named(_gx().ExpectColumnValuesToBeInSet(column=column, value_set=values), check)


def contract_suite(contract: TableContract, view: str, context: SuiteContext) -> list[Any]:
    """Every rule `contract` states, as expectations on `view`."""
    rules = [
        *_schema(view, contract_columns(contract)),
        *_not_null(contract.required),
        _unique(contract.key),
    ]
    for column in contract.columns:
        if column.one_of is not None:
            check = column.one_of.check_name(column.name)
            rules.append(_in_set(column.name, list(column.one_of.values), check))
        if column.range is not None:
            low, high = column.range.low, column.range.high
            rules.append(_between(column.name, low, high, column.range.check_name(column.name)))
    for rule in contract.rules:
        failing = rule.sql(context.future_limit)
        rules.append(_rows(rule.name, f"SELECT * FROM {{batch}} WHERE {failing}"))
    return rules


def _punctuality_across_tables(context: SuiteContext) -> list[Any]:
    return [
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


Suite = Callable[[SuiteContext], list[Any]]

#: The rules that read other views besides the checked one.
_ACROSS_TABLES: dict[str, Suite] = {"gold_punctuality_hourly": _punctuality_across_tables}


def _suite(contract: TableContract, view: str) -> Suite:
    across = _ACROSS_TABLES.get(view)

    def suite(context: SuiteContext) -> list[Any]:
        extra = [] if across is None else across(context)
        return [*contract_suite(contract, view, context), *extra]

    return suite


#: Every checked view and its suite.
SUITES: dict[str, Suite] = {
    view: _suite(contract, view) for view, contract in VIEW_CONTRACTS.items()
}
