"""Fixtures for the API tests: sample gold in the test lake, and the app over it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from umwi_core.lake import Lake
from umwi_core.publication import Publication
from umwi_core.resources import build_resources
from umwi_core.settings import Settings

from tests.api.gold_sample import write_sample_gold


@pytest.fixture
def gold(lake: Lake) -> Publication:
    return write_sample_gold(lake)


@pytest.fixture
def client(settings: Settings, gold: Publication) -> Iterator[TestClient]:
    from umwi_api import create_app

    with TestClient(create_app(build_resources(settings))) as test_client:
        yield test_client
