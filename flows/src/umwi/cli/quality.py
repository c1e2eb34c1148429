"""`umwi quality`: run the quality checks on lake tables and print what they found."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Annotated, Any

import typer

from umwi.cli._app import app, state
from umwi.cli._output import FORMAT_OPTION, OutputFormat, emit

COLUMNS = ("check", "table", "severity", "status", "observed", "threshold")


def check_row(check: Any) -> dict[str, Any]:
    """One check result as a dict, whatever model the quality package uses."""
    if isinstance(check, dict):
        return check
    if is_dataclass(check) and not isinstance(check, type):
        return asdict(check)
    dump = getattr(check, "model_dump", None)
    if callable(dump):
        return dict(dump())
    return {name: getattr(check, name, None) for name in COLUMNS}


@app.command()
def quality(
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table",
            help="Only this table, `<layer>_<table>` (repeatable), e.g. silver_departures.",
        ),
    ] = None,
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """Check silver and published gold; exit 1 when an error-severity check fails."""
    from umwi_core.lake import make_lake
    from umwi_core.runs import new_run_id
    from umwi_quality import check_tables

    settings = state.settings
    result = check_tables(make_lake(settings), settings, new_run_id(), table or None)
    rows = [check_row(check) for check in result.checks]
    emit(rows, COLUMNS, output, title=f"quality checks (report: {result.report_key})")
    if not result.passed:
        failed = [
            row for row in rows if row.get("severity") == "error" and row.get("status") != "passed"
        ]
        names = ", ".join(f"{row.get('check')} on {row.get('table')}" for row in failed[:3])
        typer.echo(f"umwi: quality: {len(failed)} error check(s) failed: {names}", err=True)
        raise typer.Exit(1)
