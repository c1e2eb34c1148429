"""The outlook's steps as plain functions (DESIGN.md §8): the forecast refresh from the
configured sources, and the outlook's build, gate and alerts. No historical gold is
rebuilt: `build_outlook` reads the published model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from umwi_connectors import SourcesConfig
from umwi_core.resources import Resources


def refresh_forecasts(resources: Resources, sources: SourcesConfig, run_id: str) -> int:
    """Land the latest forecast of every configured weather location (Open-Meteo) and of
    the sample city (the 48 h after its configured days); returns the hours landed."""
    from umwi_connectors import WeatherLocation, fetch_forecast, sample_forecast
    from umwi_transform import land_forecast

    landed = 0
    if "weather" in sources.names():
        places = [
            WeatherLocation(o.location_id, o.latitude, o.longitude)  # type: ignore[attr-defined]
            for o in sources.instances("weather")
        ]
        table = fetch_forecast(resources.settings, resources.lake, run_id, places)
        land_forecast(resources.lake, table, run_id, source="open_meteo")
        landed += table.num_rows
    for options in sources.instances("sample") if "sample" in sources.names() else ():
        sample: Any = options
        if sample.start is None:
            continue
        end = sample.start + timedelta(days=sample.days)
        issued = datetime(end.year, end.month, end.day, tzinfo=UTC)
        table = sample_forecast(sample.seed, end, issued)
        land_forecast(resources.lake, table, run_id, source="sample")
        landed += table.num_rows
    return landed


def outlook_step(resources: Resources, run_id: str) -> dict[str, Any]:
    """Build `outlook_hourly` from the latest forecast and the published model; when it
    changed, judge and publish it alone; then open or close the alert episodes."""
    from umwi_quality import run_outlook_gate
    from umwi_transform import build_outlook, outlook_alerts

    candidates = build_outlook(resources.lake, resources.settings, run_id)
    candidate = candidates["outlook_hourly"]
    outcome: dict[str, Any] = {"rows": candidate.rows, "changed": candidate.changed}
    if candidate.changed:
        result = run_outlook_gate(
            resources.lake, resources.settings, run_id, candidates, resources.alerts
        )
        outcome["gate"] = "passed" if result.passed else "failed"
        outcome["publication_id"] = (
            None if result.publication is None else result.publication.publication_id
        )
        if not result.passed:
            return outcome
    sent = outlook_alerts(
        resources.lake, resources.settings, resources.ledger, resources.alerts, run_id
    )
    outcome["alerts"] = [alert.title for alert in sent]
    return outcome


__all__ = ["outlook_step", "refresh_forecasts"]
