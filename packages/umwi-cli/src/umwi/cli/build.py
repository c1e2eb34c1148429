"""`umwi build`: gold candidates from silver, the quality gate, publication on pass."""

from __future__ import annotations

import typer
from rich.console import Console

from umwi.cli._app import app, state


@app.command()
def build(
    from_bronze: bool = typer.Option(
        False, "--from-bronze", help="First rebuild silver from the raw payloads in bronze."
    ),
) -> None:
    """Build the gold KPI tables; publish them only if the quality gate passes."""
    from umwi_flows import load_flows

    from umwi.cli._present import print_build

    flows = load_flows(state.settings, verbose=state.debug)
    summary = flows.build(from_bronze=from_bronze)
    print_build(Console(), summary)
