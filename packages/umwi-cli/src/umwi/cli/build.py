"""`umwi build`: gold candidates from silver, the quality gate, publication on pass."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from umwi_core.settings import Engine

from umwi.cli._app import app, state

#: `--engine`, shared by the commands that build gold.
EngineOption = Annotated[
    Engine | None,
    typer.Option(
        "--engine",
        case_sensitive=False,
        help="Build gold with duckdb (in process) or spark (UMWI_SPARK_REMOTE=sc://… for "
        "Spark Connect, else local mode); default UMWI_ENGINE, else duckdb.",
    ),
]


def engine_name(engine: Engine | None) -> str | None:
    """The flows' JSON parameter: None leaves the choice to UMWI_ENGINE."""
    return None if engine is None else engine.value


@app.command()
def build(
    from_bronze: bool = typer.Option(
        False, "--from-bronze", help="First rebuild silver from the raw payloads in bronze."
    ),
    engine: EngineOption = None,
) -> None:
    """Build the gold KPI tables; publish them only if the quality gate passes."""
    from umwi_flows import load_flows

    flows = load_flows(state.settings, verbose=state.debug)

    # Only after load_flows, which imports umwi_quality while Prefect's server boots.
    from umwi.cli._present import print_build

    summary = flows.build(from_bronze=from_bronze, engine=engine_name(engine))
    print_build(Console(), summary)
