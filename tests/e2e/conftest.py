"""Fixtures of the end-to-end tests: one Prefect server that every `umwi` child reports to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e._rounds import Baseline, run_baseline
from tests.e2e._support import prefect_server


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API URL of a Prefect server for the session's `umwi` child processes."""
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as url:
        yield url


@pytest.fixture(scope="session")
def baseline(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """Uninterrupted one-day `umwi run`s (local mode): durations and data after each day."""
    return run_baseline(prefect_api, tmp_path_factory.mktemp("baseline"))
