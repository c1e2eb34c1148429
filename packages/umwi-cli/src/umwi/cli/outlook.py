"""`umwi outlook`: refresh the forecasts and publish the 48 h outlook alone (DESIGN.md §8)."""

from __future__ import annotations

import json

import typer

from umwi.cli._app import app, state


@app.command()
def outlook() -> None:
    """Land the latest forecasts (Open-Meteo locations, the sample city), rebuild the
    outlook from the published model, publish it through its gate, and alert per line
    and episode. Historical gold is not rebuilt."""
    from umwi_flows import load_flows

    flows = load_flows(state.settings, verbose=state.debug)
    summary = flows.outlook()
    typer.echo(json.dumps(summary.outputs(), indent=2, default=str))
