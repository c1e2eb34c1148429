"""Pins the web connectors' part of `umwi_connectors.__all__` (the other connectors pin theirs)."""

from __future__ import annotations

import umwi_connectors

WEB_CONNECTOR_API = {
    "NavitiaClient",
    "OpenMeteoClient",
    "RateLimiter",
    "WeatherLocation",
    "fetch_departures",
    "fetch_weather",
    "land",
    "read_meta",
    "stage_bronze_payload",
    "sync_iter",
}


MODULES = {
    "umwi_connectors._bronze",
    "umwi_connectors._bronze_stage",
    "umwi_connectors._http",
    "umwi_connectors._navitia",
    "umwi_connectors._openmeteo",
    "umwi_connectors._openmeteo_parse",
}


def test_web_connector_exports_are_pinned() -> None:
    ours = {
        name
        for name in umwi_connectors.__all__
        if getattr(umwi_connectors, name).__module__ in MODULES
    }
    assert ours == WEB_CONNECTOR_API
    assert len(umwi_connectors.__all__) == len(set(umwi_connectors.__all__))
    for name in umwi_connectors.__all__:
        assert getattr(umwi_connectors, name) is not None, name


def test_private_helpers_stay_private() -> None:
    for name in ("parse_openmeteo", "parse_navitia", "HttpSource", "ordered_gather"):
        assert name not in umwi_connectors.__all__
