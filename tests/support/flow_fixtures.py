"""Fixtures of the flows and CLI tests: one temporary Prefect server for the session.

A pytest plugin (the root conftest loads it), so tests/flows and tests/packages/umwi_cli
share one server. Prefect's home goes to a temporary folder before Prefect is first
imported, so no test touches `~/.prefect`; the server starts once and every flow test
reuses it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from umwi_core.settings import Settings, load_settings

_HOME = tempfile.mkdtemp(prefix="umwi-prefect-test-")
for _name, _value in {
    "PREFECT_HOME": _HOME,
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """Flows in this session report to one temporary Prefect server."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def fast_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose flows load them from the environment: short retries, tmp state."""
    values = {
        "UMWI_STATE_DIR": str(tmp_path / "state"),
        "UMWI_TASK_RETRIES": "1",
        "UMWI_TASK_RETRY_DELAY_S": "0",
        "UMWI_HTTP_MAX_RETRIES": "1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.fixture
def fake_api_settings(
    fake_api: Any, fast_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """`fast_settings` pointed at the fake Open-Meteo/Navitia server, also in the env."""
    for name, value in fake_api.settings_env().items():
        monkeypatch.setenv(name, value)
    return load_settings()


def write_small_city(
    folder: Path, *, days: int = 3, no_realtime_share: float = 0.0, seed: int = 3
) -> tuple[Path, Path]:
    """Departures (3 stops, every 15 min) and hourly weather (1 location) as canonical CSVs.

    Delays grow with the hour's rain; `no_realtime_share` of the departures have neither a
    delay nor an observed time (silver quarantines those).
    """
    import csv
    import math
    import random
    from datetime import UTC, datetime, timedelta

    rng = random.Random(seed)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    stops = [("s1", 48.850, 2.350), ("s2", 48.860, 2.360), ("s3", 48.870, 2.340)]
    weather, departures = folder / "weather.csv", folder / "departures.csv"
    rain: dict[int, float] = {}
    with weather.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["location_id", "latitude", "longitude", "hour", "temperature_c",
                      "precipitation_mm", "rain_mm", "snowfall_cm", "wind_speed_kmh",
                      "weather_code", "visibility_m"])  # fmt: skip
        for h in range(24 * days):
            rain[h] = max(0.0, round(3 * math.sin(h / 5) + rng.random() - 0.5, 1))
            out.writerow(["centre", 48.855, 2.35, (start + timedelta(hours=h)).isoformat(),
                          round(8 + 3 * math.sin(h / 12), 1), rain[h], rain[h], 0, 12,
                          61 if rain[h] > 0 else 0, 10_000])  # fmt: skip
    with departures.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["network", "line_id", "line_name", "mode", "stop_id", "stop_name",
                      "trip_id", "scheduled_at", "delay_s", "cancelled", "stop_lat",
                      "stop_lon"])  # fmt: skip
        for h in range(24 * days):
            for minute in range(0, 60, 15):
                for stop_id, lat, lon in stops:
                    when = start + timedelta(hours=h, minutes=minute)
                    delay: int | str = int(rng.gauss(40 + 30 * rain[h], 60))
                    if rng.random() < no_realtime_share:
                        delay = ""
                    out.writerow(["demo", "L1", "Line 1", "bus", stop_id, stop_id.upper(),
                                  f"T{h}-{minute}", when.isoformat(), delay, "false", lat,
                                  lon])  # fmt: skip
    return departures, weather


@pytest.fixture
def small_city(tmp_path: Path) -> dict[str, Any]:
    """The `[sources]` table of a file source over `write_small_city`'s files."""
    departures, weather = write_small_city(tmp_path)
    return {"file": [{"departures": str(departures), "weather": str(weather)}]}
