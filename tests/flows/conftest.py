"""Fixtures of the flows tests: one temporary Prefect server for the session.

Prefect's home goes to a temporary folder before Prefect is first imported, so no test
touches `~/.prefect`; the server starts once (10–15 s) and every flow test reuses it.
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
