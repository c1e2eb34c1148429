"""`umwi kpi`: published gold rows, through the same query layer as the HTTP API."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from umwi_core.errors import UmwiError

from umwi.cli._app import app, state
from umwi.cli._output import FORMAT_OPTION, OutputFormat, emit


class KpiOptionError(UmwiError):
    pass


class KpiTable(StrEnum):
    WEATHER_IMPACT = "weather-impact"
    PUNCTUALITY = "punctuality"
    CORRELATION = "correlation"
    HOURLY = "hourly"


@app.command()
def kpi(
    table: Annotated[
        KpiTable,
        typer.Argument(
            help="weather-impact, punctuality, correlation or hourly (mobility_weather_hourly)."
        ),
    ],
    network: str | None = typer.Option(None, "--network", help="Network name."),
    line_id: str | None = typer.Option(None, "--line-id", help="Line id; '*' = all lines."),
    period: str | None = typer.Option(None, "--period", help="'all' or a month YYYY-MM."),
    start: str | None = typer.Option(
        None, "--start", help="Hourly tables: first hour, inclusive (date or ISO time)."
    ),
    end: str | None = typer.Option(
        None, "--end", help="Hourly tables: end, exclusive (date or ISO time)."
    ),
    variable: str | None = typer.Option(None, "--variable", help="Correlation variable."),
    lag_h: int | None = typer.Option(None, "--lag-h", help="Correlation lag in hours (0–3)."),
    y_kind: str | None = typer.Option(None, "--y-kind", help="Correlation y: raw or anomaly."),
    limit: int | None = typer.Option(
        None, "--limit", help="At most this many rows (default: UMWI_API_MAX_LIMIT)."
    ),
    offset: int = typer.Option(0, "--offset", help="Rows to skip."),
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """Show published gold KPI rows (the same objects as the HTTP API returns)."""
    from umwi_api.queries import KPI_TABLES, GoldReader, KpiFilters, QueryError, parse_time
    from umwi_core.contracts import GOLD_COLUMNS

    try:
        filters = KpiFilters(
            network=network,
            line_id=line_id,
            period=period,
            start=None if start is None else parse_time(start, "start"),
            end=None if end is None else parse_time(end, "end"),
            variable=variable,
            lag_h=lag_h,
            y_kind=y_kind,
        )
        page = GoldReader(state.resources).page(table.value, filters, limit=limit, offset=offset)
    except QueryError as error:
        # Name the option as the user typed it, not the API's parameter.
        option = "--" + error.parameter.replace("_", "-")
        raise KpiOptionError(f"{option}: {error.message}") from None
    gold_table = KPI_TABLES[table.value]
    title = f"{gold_table} ({page.total} rows)"
    emit(page.rows, GOLD_COLUMNS[gold_table], output, title=title)
