"""`umwi quality`: run the quality checks on lake tables and print what they found."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from umwi.cli._app import app, state
from umwi.cli._output import FORMAT_OPTION, Chunks, OutputFormat, emit, show_table


@app.command()
def quality(
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table",
            help="Only this table, `<layer>_<table>` (repeatable), e.g. silver_departures.",
        ),
    ] = None,
    every_check: Annotated[
        bool,
        typer.Option(
            "--all",
            help="List every check (the default table lists only those that did not pass).",
        ),
    ] = False,
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """Check silver and published gold; exit 1 when an error-severity check fails."""
    from umwi_core.runs import new_run_id
    from umwi_quality import SUMMARY_COLUMNS, check_tables, summary_rows

    from umwi.cli._present import quality_overview

    settings = state.settings
    result = check_tables(state.resources.lake, settings, new_run_id(), table or None)
    title = f"quality checks (report: {result.report_key})"
    if output is OutputFormat.TABLE and not every_check:
        attention, per_table = quality_overview(result)
        console = Console()
        console.print(title)
        if attention.row_count:
            show_table(attention, console)
        show_table(per_table, console)
        console.print(
            f"{len(result.checks)} checks, {attention.row_count} did not pass; "
            "every check: umwi quality --all (or --format json)"
        )
    else:
        emit(Chunks(SUMMARY_COLUMNS, [summary_rows(result)]), output, title=title)
    if not result.passed:
        failed = result.blocking
        names = ", ".join(f"{check.check} on {check.table}" for check in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        typer.echo(f"umwi: {len(failed)} error check(s) failed: {names}{more}", err=True)
        raise typer.Exit(1)
