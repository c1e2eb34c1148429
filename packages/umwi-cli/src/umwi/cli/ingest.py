"""`umwi ingest <source>`: land one source's records in bronze and commit them to silver."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from umwi.cli._app import app, state

ingest_app = typer.Typer(
    help="Ingest one source into bronze and silver (re-runs skip finished windows).",
    no_args_is_help=True,
)
app.add_typer(ingest_app, name="ingest")

FORCE = typer.Option(False, "--force", help="Redo windows already done.")
START = typer.Option(..., "--start", help="First UTC day, YYYY-MM-DD (inclusive).")
END = typer.Option(..., "--end", help="Last UTC day, YYYY-MM-DD (exclusive).")


def _ingest(sources: dict[str, Any], *, start: str | None, end: str | None, force: bool) -> None:
    from umwi_flows import load_flows

    from umwi.cli._present import ingest_table, progress_bar

    flows = load_flows(state.settings, verbose=state.debug)
    with progress_bar("ingest"):
        summary = flows.ingest(sources=sources, start=start, end=end, force=force)
    Console().print(ingest_table(summary))


@ingest_app.command("weather")
def weather(
    location_id: str = typer.Option(..., "--location-id", help="Stable id of the place."),
    latitude: float = typer.Option(..., "--latitude", help="WGS84 latitude."),
    longitude: float = typer.Option(..., "--longitude", help="WGS84 longitude."),
    start: str = START,
    end: str = END,
    force: bool = FORCE,
) -> None:
    """Hourly weather from Open-Meteo (archive for old days, forecast API for recent ones)."""
    location = {"location_id": location_id, "latitude": latitude, "longitude": longitude}
    _ingest({"weather": {"locations": [location]}}, start=start, end=end, force=force)


@ingest_app.command("navitia")
def navitia(
    coverage: Annotated[
        str, typer.Option("--coverage", help="Navitia coverage (region), e.g. fr-idf.")
    ],
    stop_area: Annotated[list[str], typer.Option("--stop-area", help="Stop area id (repeatable).")],
    endpoint: str = typer.Option("departures", "--endpoint", help="departures or stop_schedules."),
    duration_s: int = typer.Option(3_600, "--duration-s", help="Look-ahead of each poll."),
    count: int = typer.Option(100, "--count", help="Departures per page."),
    force: bool = FORCE,
) -> None:
    """Poll real-time departures of stop areas (token from UMWI_NAVITIA_TOKEN)."""
    config = {
        "coverage": coverage,
        "stop_areas": stop_area,
        "endpoint": endpoint,
        "duration_s": duration_s,
        "count": count,
    }
    _ingest({"navitia": [config]}, start=None, end=None, force=force)


@ingest_app.command("gtfs-rt")
def gtfs_rt(
    network: Annotated[str, typer.Option("--network", help="Network name stored with each row.")],
    static: Annotated[str, typer.Option("--static", help="Static GTFS zip (path or URL).")],
    trip_updates: Annotated[
        list[str],
        typer.Option("--trip-updates", help="TripUpdates feed, .pb path or URL (repeatable)."),
    ],
    force: bool = FORCE,
) -> None:
    """GTFS-Realtime TripUpdates joined to the static feed."""
    config = {"network": network, "static": static, "trip_updates": trip_updates}
    _ingest({"gtfs_rt": [config]}, start=None, end=None, force=force)


@ingest_app.command("file")
def file(
    departures: Annotated[Path | None, typer.Option("--departures", help="CSV or Parquet.")] = None,
    weather: Annotated[Path | None, typer.Option("--weather", help="CSV or Parquet.")] = None,
    network: str | None = typer.Option(
        None, "--network", help="Needed when the departures file has no network column."
    ),
    timezone: str | None = typer.Option(
        None, "--timezone", help="Zone of times written without an offset, e.g. Europe/Paris."
    ),
    force: bool = FORCE,
) -> None:
    """Departures and/or weather from files with the canonical column names."""
    config: dict[str, Any] = {
        "departures": None if departures is None else str(departures.resolve()),
        "weather": None if weather is None else str(weather.resolve()),
        "network": network,
        "timezone": timezone,
    }
    _ingest({"file": [config]}, start=None, end=None, force=force)


@ingest_app.command("sample")
def sample(
    start: str = typer.Option("2026-01-05", "--start", help="First UTC day, YYYY-MM-DD."),
    days: int = typer.Option(28, "--days", min=1, help="Days of the sample city."),
    seed: int = typer.Option(7, "--seed", help="Seed: the same seed gives the same city."),
    force: bool = FORCE,
) -> None:
    """The offline synthetic sample city (departures and weather)."""
    from umwi_flows import parse_day

    first = parse_day(start, "--start")
    end = (first + timedelta(days=days)).isoformat()
    config = {"start": first.isoformat(), "days": days, "seed": seed}
    _ingest({"sample": config}, start=first.isoformat(), end=end, force=force)
