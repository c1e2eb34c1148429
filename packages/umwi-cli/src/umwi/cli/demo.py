"""`umwi demo`: the whole pipeline on the sample city through Prefect, then the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from time import perf_counter

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from umwi_core.resources import Resources

from umwi.cli._app import app, state
from umwi.cli._output import cell, printable, show_table

#: A fixed, past month: the same seed and days give the same gold on every machine.
DEMO_START = date(2026, 1, 5)

#: The summary's columns: (gold column, header). Short headers keep it one table at 80
#: columns; `umwi kpi weather-impact` shows every column under its gold name.
SUMMARY_COLUMNS = (
    ("weather_class", "class"),
    ("departures", "departures"),
    ("on_time_rate", "on time"),
    ("reliability_rate", "reliable"),
    ("mean_delay_s", "delay s"),
    ("uplift_s", "uplift s"),
)


def _summary_cell(name: str, value: object) -> Text:
    if isinstance(value, float) and name.endswith("_rate"):
        return Text(f"{100 * value:.1f} %")
    if isinstance(value, float):
        return Text(f"{value:.1f}")
    return cell(value)


def kpi_summary(resources: Resources) -> list[Table]:
    """The published `weather_impact` rows of all lines over the whole period, a table per
    network."""
    from umwi_api.queries import GoldReader, KpiFilters

    page = GoldReader(resources).page("weather-impact", KpiFilters(line_id="*", period="all"))
    tables: dict[str, Table] = {}
    for row in page.rows:
        network = str(row["network"])
        table = tables.get(network)
        if table is None:
            table = Table(
                title=Text(f"weather impact on {printable(network)}, all lines, whole period")
            )
            for name, header in SUMMARY_COLUMNS:
                table.add_column(header, justify="left" if name == "weather_class" else "right")
            tables[network] = table
        table.add_row(*(_summary_cell(name, row.get(name)) for name, _ in SUMMARY_COLUMNS))
    return list(tables.values())


def outlook_summary(resources: Resources) -> list[Table]:
    """Per line, the published 48 h outlook at a glance: the mean expected delay, its worst
    hour, and the forecast precipitation over the line's hours (DESIGN.md §8)."""
    from umwi_api.queries import GoldReader, KpiFilters

    reader = GoldReader(resources)
    first = reader.page("outlook", KpiFilters())
    rows = list(first.rows)
    while len(rows) < first.total:
        rows += reader.page("outlook", KpiFilters(), offset=len(rows)).rows
    lines: dict[tuple[str, str], list[dict[str, object]]] = {}
    for row in rows:
        if row["expected_mean_delay_s"] is not None:
            lines.setdefault((str(row["network"]), str(row["line_id"])), []).append(row)
    if not lines:
        return []
    issued = str(rows[0]["issued_at"])[:16].replace("T", " ")
    table = Table(title=Text(f"next 48 h, forecast issued {issued}Z"))
    for header in ("line", "delay s", "worst hour", "worst s", "rain mm"):
        table.add_column(header, justify="left" if header in ("line", "worst hour") else "right")
    for (_, line), found in sorted(lines.items()):
        delays = [float(str(r["expected_mean_delay_s"])) for r in found]
        worst = max(found, key=lambda r: float(str(r["expected_mean_delay_s"])))
        # The forecast over the line's hours, per weather location it runs at.
        places = len({r["location_id"] for r in found})
        rain = sum(float(str(r["precipitation_mm"] or 0.0)) for r in found) / places
        table.add_row(
            cell(line),
            f"{sum(delays) / len(delays):.1f}",
            str(worst["hour"])[5:16].replace("T", " "),
            f"{float(str(worst['expected_mean_delay_s'])):.1f}",
            f"{rain:.1f}",
        )
    return [table]


def timings_table(import_s: float, pipeline_s: float, flow: dict[str, float]) -> Table:
    """Where the demo's time went; Prefect's start is what the flows themselves did not use."""
    rows = [
        ("start Prefect, load the flows (together)", import_s),
        ("flow-run overhead", pipeline_s - flow["total"]),
        ("ingest: generate, bronze, silver", flow["ingest"]),
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

    flows = load_flows(settings, verbose=state.debug)

    # Only after load_flows, which imports umwi_quality while Prefect's server boots.
    from umwi.cli._present import ingest_table, print_build, progress_bar

    loaded = perf_counter()
    start, end = DEMO_START, DEMO_START + timedelta(days=days)
    sources = {"sample": {"start": start.isoformat(), "days": days, "seed": seed}}
    console.print(
        f"umwi demo: sample city, {days} days from {start} (seed {seed}); "
        f"state in {settings.state_dir}"
    )
    # The forecast for the 48 h after the history, issued as it ends (DESIGN.md §8): the
    # pipeline's build then publishes the outlook with the rest.
    from umwi_connectors import sample_forecast
    from umwi_transform import land_forecast

    issued = datetime(end.year, end.month, end.day, tzinfo=UTC)
    forecast = sample_forecast(seed, end, issued)
    land_forecast(state.resources.lake, forecast, "demo-forecast", source="sample")
    with progress_bar("demo pipeline"):
        summary = flows.pipeline(sources=sources, start=start.isoformat(), end=end.isoformat())
    finished = perf_counter()
    show_table(ingest_table(summary.ingest), console)
    print_build(console, summary.build)
    for table in kpi_summary(state.resources):
        show_table(table, console)
    for table in outlook_summary(state.resources):
        show_table(table, console)
    show_table(timings_table(loaded - began, finished - loaded, summary.timings_s), console)
    if not serve:
        return
    from umwi_api import serve as serve_api

    console.print(f"serving the API and dashboard on http://{host}:{port} (Ctrl-C stops)")
    serve_api(state.resources, host=host, port=port)
