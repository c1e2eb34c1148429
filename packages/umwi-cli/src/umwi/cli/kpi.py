"""`umwi kpi`: published gold rows, through the same query layer as the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer
from umwi_core.errors import UmwiError

from umwi.cli._app import app, state
from umwi.cli._output import FORMAT_OPTION, OUTPUT_OPTION, Chunks, OutputFormat, emit

if TYPE_CHECKING:
    from umwi_api.queries import GoldReader, KpiFilters, QueryError
    from umwi_core.contracts import TableContract


class KpiOptionError(UmwiError):
    pass


class KpiRepublishedError(UmwiError):
    """A new publication replaced the one being read: pages would mix two versions."""


class KpiGrain(StrEnum):
    HOUR = "hour"
    DAY = "day"


class KpiTable(StrEnum):
    WEATHER_IMPACT = "weather-impact"
    PUNCTUALITY = "punctuality"
    CORRELATION = "correlation"
    HOURLY = "hourly"
    OUTLOOK = "outlook"
    SENSITIVITY = "sensitivity"


@app.command()
def kpi(
    table: Annotated[
        KpiTable,
        typer.Argument(
            help="weather-impact, punctuality, correlation, hourly (mobility_weather_hourly), "
            "sensitivity (line_sensitivity) or outlook (outlook_hourly: the next 48 h of the "
            "latest forecast)."
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
        None, "--limit", help="At most this many rows (default: every matching row)."
    ),
    offset: int = typer.Option(0, "--offset", help="Rows to skip."),
    grain: Annotated[
        KpiGrain,
        typer.Option(
            "--grain",
            help="hourly only: hour (the gold rows) or day (one row per UTC day, aggregated).",
        ),
    ] = KpiGrain.HOUR,
    output: OutputFormat = FORMAT_OPTION,
    path: Path | None = OUTPUT_OPTION,
) -> None:
    """Show published gold KPI rows (the same objects as the HTTP API returns)."""
    from umwi_api.queries import (
        DAILY_TABLES,
        KPI_TABLES,
        GoldReader,
        KpiFilters,
        QueryError,
        parse_time,
    )
    from umwi_core.contracts import GOLD_CONTRACTS
    from umwi_transform import GOLD_SCHEMAS

    if limit is not None and limit < 1:
        raise KpiOptionError("--limit: must be at least 1")
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
        reader = GoldReader(state.resources)
        asked = _Asked(table.value, filters, grain.value)
        first = reader.page(
            table.value,
            filters,
            grain=grain.value,
            limit=_page_size(reader, limit),
            offset=offset,
        )
    except QueryError as error:
        raise _option_error(error) from None
    gold_table = KPI_TABLES[table.value]
    wanted = max(0, first.total - offset) if limit is None else min(limit, first.total - offset)
    rows = _pages(reader, asked, first, offset, max(0, wanted))
    contract = DAILY_TABLES[gold_table] if grain is KpiGrain.DAY else GOLD_CONTRACTS[gold_table]
    schema = _arrow_schema(contract) if grain is KpiGrain.DAY else GOLD_SCHEMAS[gold_table]
    chunks = Chunks(contract.column_names, rows=rows, arrow_schema=schema)
    title = f"{contract.name} ({first.total} rows)"
    written = emit(chunks, output, path=path, title=title)
    if written < first.total and output is not OutputFormat.TABLE:
        typer.echo(
            f"umwi: {written} of {first.total} rows (--offset {offset}"
            + (f", --limit {limit}" if limit is not None else "")
            + "); change them to get the rest",
            err=True,
        )


class _Asked(NamedTuple):
    kpi: str
    filters: KpiFilters
    grain: str


def _arrow_schema(contract: TableContract) -> Any:
    """Daily rows' Parquet schema, from their contract as the gold schemas are."""
    import pyarrow as pa
    from umwi_core.arrow import arrow_type

    return pa.schema(
        [pa.field(column.name, arrow_type(column.type)) for column in contract.columns]
    )


def _option_error(error: QueryError) -> KpiOptionError:
    # Name the option as the user typed it, not the API's parameter.
    option = "--" + error.parameter.replace("_", "-")
    return KpiOptionError(f"{option}: {error.message}")


def _page_size(reader: GoldReader, limit: int | None) -> int:
    """The API's page size: a command line reads every page, not just the first."""
    largest = reader.settings.api_max_limit
    return largest if limit is None else min(limit, largest)


def _pages(
    reader: GoldReader, asked: _Asked, first: Any, offset: int, wanted: int
) -> Iterator[list[dict[str, Any]]]:
    """`wanted` rows from `offset` on, page by page, all from one publication."""
    from umwi_api.queries import QueryError

    page, given = first, 0
    while True:
        rows = page.rows[: wanted - given]
        if rows:
            yield rows
        given += len(rows)
        if given >= wanted or not page.rows:
            return
        try:
            page = reader.page(
                asked.kpi,
                asked.filters,
                grain=asked.grain,
                limit=_page_size(reader, wanted - given),
                offset=offset + given,
            )
        except QueryError as error:
            raise _option_error(error) from None
        if page.publication_id != first.publication_id:
            raise KpiRepublishedError(
                f"gold was republished while reading ({first.publication_id} → "
                f"{page.publication_id}); run the command again"
            )
