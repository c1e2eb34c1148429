"""Fixtures shared by the whole suite: isolated settings, a lake, a moto server."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from umwi_core.lake import Lake
from umwi_core.resources import make_lake
from umwi_core.settings import Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures"

# Hypothesis: in CI (`CI=true`, as `.ci/run` runs) every property draws the same examples
# each run (derandomized, no example database), so a red CI run is reproducible and a
# green one is not luck; elsewhere examples are random, to find new failures. Each test
# bounds its own `max_examples`.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
# The Prefect server and flow settings of tests/flows and tests/packages/umwi_cli.
pytest_plugins = ["tests.support.flow_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's UMWI_* variables, .env, AWS profile or Prefect home."""
    for name in list(os.environ):
        if name.startswith(("UMWI_", "AWS_", "PREFECT_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("SODA_CORE_TELEMETRY_ENABLED", "false")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(state_dir=tmp_path / "state")


@pytest.fixture
def lake(settings: Settings) -> Lake:
    return make_lake(settings)


@contextmanager
def reserved_port() -> Iterator[int]:
    """A port of 127.0.0.1 the OS chose, held until the block ends.

    A port found free and closed before a child binds it may be handed to anyone else
    meanwhile. This one stays bound (with SO_REUSEADDR, never listening), so the OS gives
    it to no one else, while a server that binds with SO_REUSEADDR (uvicorn, werkzeug,
    http.server) may take it: start the child inside the block and leave the block once
    it answers.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server process on 127.0.0.1 for the whole session; yields its endpoint URL.

    Its DynamoDB writes are atomic per request, as DynamoDB's are (`support/moto_server.py`).
    """
    from tests.support.moto_process import moto_process

    with moto_process() as endpoint:
        yield endpoint


@pytest.fixture
def aws_resources(moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Fresh, uniquely named umwi resources on the moto server, and aws settings for them."""
    from tests.support.aws import create_resources

    return create_resources(moto_server, tmp_path, monkeypatch)


@pytest.fixture
def fake_api() -> Iterator[Any]:
    """A fake Open-Meteo + Navitia server on 127.0.0.1 (tests/support/fake_servers.py)."""
    from tests.support.fake_servers import FakeApiServer

    with FakeApiServer() as server:
        yield server
