"""`umwi sql`: read-only DuckDB SQL over every lake table."""

from __future__ import annotations

import duckdb
import typer
from umwi_core.errors import UmwiError

from umwi.cli._app import app, state
from umwi.cli._output import FORMAT_OPTION, OutputFormat, emit


class SqlError(UmwiError):
    pass


@app.command()
def sql(
    query: str = typer.Argument(..., help='SQL, e.g. "SELECT count(*) FROM silver_departures".'),
    output: OutputFormat = FORMAT_OPTION,
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
        rows = [dict(zip(columns, values, strict=True)) for values in relation.fetchall()]
    except duckdb.Error as error:
        available = ", ".join(views) or "none yet (run `umwi demo` or `umwi ingest`)"
        message = str(error).splitlines()[0]
        raise SqlError(f"{message} (views: {available})") from None
    finally:
        connection.close()
    emit(rows, columns, output)
