"""`umwi run`: ingest the sources of umwi.toml over a range, then build and publish."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from umwi.cli._app import app, state
from umwi.cli._output import show_table
from umwi.cli.build import EngineOption, engine_name

# The names come from the source registry, which `umwi run --help` does not load (it is slow).
SOURCE_HELP = "Only this configured source (repeatable): a name `umwi ingest --help` lists."


def source_names(values: list[str] | None) -> list[str] | None:
    """CLI words use dashes, data names underscores (`gtfs-rt` → `gtfs_rt`)."""
    return None if not values else [value.replace("-", "_") for value in values]


@app.command()
def run(
    start: str | None = typer.Option(None, "--start", help="First UTC day (inclusive)."),
    end: str | None = typer.Option(None, "--end", help="Last UTC day (exclusive)."),
    source: Annotated[list[str] | None, typer.Option("--source", help=SOURCE_HELP)] = None,
    lookback_days: int = typer.Option(
        2, "--lookback-days", min=0, help="Without --start/--end: the last N days and today."
    ),
    force: bool = typer.Option(False, "--force", help="Redo windows already done."),
    engine: EngineOption = None,
) -> None:
    """Ingest from the sources configured in umwi.toml, then build, gate and publish gold."""
    if (start is None) != (end is None):
        raise typer.BadParameter("give both --start and --end, or neither")
    run_pipeline(
        "run",
        start,
        end,
        source,
        force,
        lookback_days=lookback_days if start is None else None,
        engine=engine_name(engine),
    )


def run_pipeline(
    label: str,
    start: str | None,
    end: str | None,
    source: list[str] | None,
    force: bool,
    *,
    lookback_days: int | None = None,
    chunk_days: int | None = None,
    concurrency: int = 1,
    engine: str | None = None,
) -> None:
    """The pipeline flow under a progress bar named `label`, then what it ingested and built
    (`umwi run` and `umwi backfill`)."""
    from umwi_flows import load_flows

    flows = load_flows(state.settings, verbose=state.debug)

    # Only after load_flows, which imports umwi_quality while Prefect's server boots.
    from umwi.cli._present import ingest_table, print_build, progress_bar

    with progress_bar(label):
        summary = flows.pipeline(
            start=start,
            end=end,
            only=source_names(source),
            force=force,
            lookback_days=lookback_days,
            chunk_days=chunk_days,
            concurrency=concurrency,
            engine=engine,
        )
    console = Console()
    show_table(ingest_table(summary.ingest), console)
    print_build(console, summary.build)
