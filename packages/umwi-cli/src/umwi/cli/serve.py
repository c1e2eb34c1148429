"""`umwi serve`: the KPI API and the dashboard on one origin."""

from __future__ import annotations

import typer

from umwi.cli._app import app, state


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Serve the HTTP API and the dashboard (at /) until interrupted."""
    from umwi_api import serve as run

    typer.echo(f"umwi: dashboard and API on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    run(state.resources, host=host, port=port)
