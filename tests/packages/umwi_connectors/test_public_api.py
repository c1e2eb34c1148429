"""Pins `umwi_connectors.__all__`: the web connectors' names and the offline ones together."""

from __future__ import annotations

import umwi_connectors

PUBLIC_API = {
    # web connectors (Open-Meteo, Navitia, bronze plumbing)
    "NavitiaClient",
    "OpenMeteoClient",
    "RateLimiter",
    "WeatherLocation",
    "fetch_departures",
    "fetch_forecast",
    "fetch_weather",
    "land",
    "read_meta",
    "stage_bronze_payload",
    "sync_iter",
    # offline connectors (GTFS-Realtime, files, sample city, replay)
    "GtfsStatic",
    "SAMPLE_EFFECT",
    "WeatherEffect",
    "generate_sample",
    "read_departures_file",
    "read_trip_updates",
    "read_weather_file",
    "replay_bronze",
    "sample_forecast",
    "sample_tables",
    "stage_trip_updates",
    "write_sample_files",
    # the source registry (one declaration per source; entry point group `umwi.sources`)
    "Batches",
    "Cli",
    "Layout",
    "Schedule",
    "Source",
    "SourceJob",
    "SourcesConfig",
    "Span",
    "Windowing",
    "get_source",
    "register_source",
    "registered_sources",
}


def test_all_is_pinned_and_importable() -> None:
    assert set(umwi_connectors.__all__) == PUBLIC_API
    assert len(umwi_connectors.__all__) == len(PUBLIC_API)
    for name in umwi_connectors.__all__:
        assert getattr(umwi_connectors, name) is not None, name


def test_offline_helpers_stay_private() -> None:
    for name in ("parse_feed", "stage_file", "restage_sample", "sample_city", "FileSpec"):
        assert name not in umwi_connectors.__all__
