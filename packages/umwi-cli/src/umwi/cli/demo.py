"""`umwi demo`: the whole pipeline on the sample city through Prefect, then the dashboard."""

from __future__ import annotations

from datetime import date, timedelta
from time import perf_counter

import typer
from rich.console import Console
from rich.table import Table
from umwi_core.resources import Resources

from umwi.cli._app import app, state

#: A fixed, past month: the same seed and days give the same gold on every machine.
DEMO_START = date(2026, 1, 5)

KPI_COLUMNS = (
    "network",
    "weather_class",
    "departures",
    "on_time_rate",
    "reliability_rate",
    "mean_delay_s",
    "uplift_s",
)


def kpi_summary(resources: Resources) -> Table:
    """The published `weather_impact` rows of all lines over the whole period."""
    from umwi_api.queries import GoldReader, KpiFilters

    page = GoldReader(resources).page(
        "weather-impact", KpiFilters(line_id="*", period="all"), limit=100
    )
    table = Table(title="weather impact, all lines, whole period (published gold)")
    for name in KPI_COLUMNS:
        table.add_column(name, justify="left" if name in ("network", "weather_class") else "right")
    for row in page.rows:
        cells = []
        for name in KPI_COLUMNS:
            value = row.get(name)
            if value is None:
                cells.append("–")
            elif name.endswith("_rate"):
                cells.append(f"{100 * value:.1f} %")
            elif isinstance(value, float):
                cells.append(f"{value:.1f}")
            else:
                cells.append(str(value))
        table.add_row(*cells)
    return table


def timings_table(import_s: float, pipeline_s: float, flow: dict[str, float]) -> Table:
    """Where the demo's time went; Prefect's start is what the flows themselves did not use."""
    rows = [
        ("import Prefect and the flows", import_s),
        ("start Prefect (ephemeral server) and flow-run overhead", pipeline_s - flow["total"]),
        ("ingest: generate, land in bronze, commit to silver", flow["ingest"]),
        ("build gold, quality gate, publish", flow["build"]),
        ("total", import_s + pipeline_s),
    ]
    table = Table(title="timings")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for name, seconds in rows:
        table.add_row(name, f"{seconds:.1f}")
    return table


@app.command()
def demo(
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="Serve the API and dashboard after the pipeline."
    ),
    days: int = typer.Option(14, "--days", min=1, max=366, help="Days of the sample city."),
    seed: int = typer.Option(7, "--seed", help="Sample city seed."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to serve on."),
    port: int = typer.Option(8000, "--port", help="Port to serve on."),
) -> None:
    """Sample city → Prefect pipeline → KPI summary, then serve http://127.0.0.1:8000."""
    began = perf_counter()
    settings = state.settings
    console = Console()
    from umwi_flows import load_flows

    from umwi.cli._present import ingest_table, print_build, progress_bar

    flows = load_flows(settings, verbose=state.debug)
    loaded = perf_counter()
    start, end = DEMO_START, DEMO_START + timedelta(days=days)
    sources = {"sample": {"start": start.isoformat(), "days": days, "seed": seed}}
    console.print(
        f"umwi demo: sample city, {days} days from {start} (seed {seed}); "
        f"state in {settings.state_dir}"
    )
    with progress_bar("demo pipeline"):
        summary = flows.pipeline(sources=sources, start=start.isoformat(), end=end.isoformat())
    finished = perf_counter()
    console.print(ingest_table(summary.ingest))
    print_build(console, summary.build)
    console.print(kpi_summary(state.resources))
    console.print(timings_table(loaded - began, finished - loaded, summary.timings_s))
    if not serve:
        return
    from umwi_api import serve as serve_api

    console.print(f"serving the API and dashboard on http://{host}:{port} (Ctrl-C stops)")
    serve_api(state.resources, host=host, port=port)
