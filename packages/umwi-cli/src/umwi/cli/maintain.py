"""`umwi maintain`: compact, checkpoint and vacuum the lake's Delta tables."""

from __future__ import annotations

import json

import typer

from umwi.cli._app import app, state


@app.command()
def maintain(
    retain_hours: int = typer.Option(
        168, "--retain-hours", min=0, help="History kept for audits and time travel."
    ),
) -> None:
    """Compact small commits, checkpoint, vacuum old files, prune unpublished copies."""
    from umwi_flows import load_flows

    flows = load_flows(state.settings, verbose=state.debug)
    summary = flows.maintain(retain_hours=retain_hours)
    typer.echo(json.dumps(summary.maintenance, indent=2, default=str))
