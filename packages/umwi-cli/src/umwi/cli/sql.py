"""`umwi sql`: read-only DuckDB SQL over every lake table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import typer
from umwi_core.errors import UmwiError

from umwi.cli._app import app, state
from umwi.cli._output import CHUNK_ROWS, FORMAT_OPTION, OUTPUT_OPTION, Chunks, OutputFormat, emit


class SqlError(UmwiError):
    pass


@app.command()
def sql(
    query: str = typer.Argument(..., help='SQL, e.g. "SELECT count(*) FROM silver_departures".'),
    output: OutputFormat = FORMAT_OPTION,
    path: Path | None = OUTPUT_OPTION,
) -> None:
    """Run read-only SQL; each lake table is a view `<layer>_<table>` (gold as published)."""
    from umwi_transform.catalog import open_read_only_catalog

    connection, views = open_read_only_catalog(state.resources.lake)
    try:
        # One statement only, and no writes: the views are all there is to read.
        statements = connection.extract_statements(query)
        if len(statements) != 1:
            raise SqlError(f"expected one SQL statement, got {len(statements)}")
        if statements[0].type != duckdb.StatementType.SELECT:
            raise SqlError(f"only SELECT queries are allowed, got {statements[0].type.name}")
        relation = connection.sql(query)
        columns = list(relation.columns)
        reader = relation.fetch_arrow_reader(CHUNK_ROWS)
        # One stream, read either as Arrow batches (Parquet) or as rows (the rest).
        batches = _batches(reader, views)
        chunks = Chunks(columns, rows=(batch.to_pylist() for batch in batches), batches=batches)
        emit(chunks, output, path=path)
    except duckdb.Error as error:
        raise _sql_error(error, views) from None
    finally:
        connection.close()


def _sql_error(error: duckdb.Error, views: list[str]) -> SqlError:
    available = ", ".join(views) or "none yet (run `umwi demo` or `umwi ingest`)"
    message = str(error).splitlines()[0]
    return SqlError(f"{message} (views: {available})")


def _batches(reader: Any, views: list[str]) -> Iterator[Any]:
    """The result's record batches; an error while streaming is reported like any other."""
    try:
        yield from reader
    except duckdb.Error as error:
        raise _sql_error(error, views) from None
