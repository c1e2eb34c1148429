"""`umwi backfill`: a long range, chunked by day, a few chunks at a time, resumable."""

from __future__ import annotations

from typing import Annotated

import typer

from umwi.cli._app import app, state
from umwi.cli.build import EngineOption, engine_name
from umwi.cli.run import SOURCE_HELP, run_pipeline


@app.command()
def backfill(
    start: str = typer.Option(..., "--start", help="First UTC day (inclusive)."),
    end: str = typer.Option(..., "--end", help="Last UTC day (exclusive)."),
    source: Annotated[list[str] | None, typer.Option("--source", help=SOURCE_HELP)] = None,
    concurrency: int | None = typer.Option(
        None, "--concurrency", min=1, max=16, help="Chunks in flight (umwi.toml [backfill])."
    ),
    chunk_days: int | None = typer.Option(
        None, "--chunk-days", min=1, max=92, help="Days per chunk (umwi.toml [backfill])."
    ),
    force: bool = typer.Option(False, "--force", help="Redo windows already done."),
    engine: EngineOption = None,
) -> None:
    """Ingest [start, end) in day chunks, then build; a re-run resumes where it stopped."""
    from umwi_flows import load_config

    defaults = load_config(state.settings.config_file).backfill
    run_pipeline(
        "backfill",
        start,
        end,
        source,
        force,
        chunk_days=chunk_days or defaults.chunk_days,
        concurrency=concurrency or defaults.concurrency,
        engine=engine_name(engine),
    )
