"""Error answers tell the client what it did wrong, never what is inside; the log has the
detail under the request id the client is given."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from fastapi.testclient import TestClient
from umwi_api import create_app
from umwi_api._errors import INTERNAL, UNREADABLE
from umwi_api.deps import get_reader
from umwi_api.queries import GoldReader
from umwi_core.lake import Lake
from umwi_core.publication import Publication
from umwi_core.resources import build_resources
from umwi_core.settings import Settings

ID_IN_TEXT = re.compile(r"\(request id ([0-9a-f]{32})\)$")


def _request_id(response: httpx.Response, status: int, message: str) -> str:
    """The request id of an error answer that is `message` and the id, nothing more."""
    assert response.status_code == status
    error = response.json()["error"]
    found = ID_IN_TEXT.search(error)
    assert found is not None, error
    assert error == f"{message} (request id {found.group(1)})"
    assert response.headers["X-Request-Id"] == found.group(1)
    return found.group(1)


def _logged(caplog: pytest.LogCaptureFixture, request_id: str) -> logging.LogRecord:
    records = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert len(records) == 1, [r.getMessage() for r in caplog.records]
    assert request_id in records[0].getMessage()
    return records[0]


def test_unreadable_gold_is_a_503_naming_nothing_inside(
    client: TestClient, lake: Lake, gold: Publication, caplog: pytest.LogCaptureFixture
) -> None:
    """Mutation: make `_errors._unreadable` answer `f"{UNREADABLE}: {exc}"` → red."""
    key = gold.tables["correlation"].serving
    lake.write_bytes(key, b"not parquet")
    with caplog.at_level(logging.ERROR, logger="umwi.api"):
        response = client.get("/correlation")
    request_id = _request_id(response, 503, UNREADABLE)
    for inside in (str(lake.uri(key)), key, "parquet", "Parquet", "serving", "Invalid Input"):
        assert inside not in response.text

    record = _logged(caplog, request_id)
    assert record.levelno == logging.ERROR
    assert "cannot read the serving copy of correlation" in record.getMessage()
    assert "too small to be a Parquet file" in record.getMessage()


class _BrokenReader(GoldReader):
    def publication(self):  # type: ignore[no-untyped-def]  # a failure nobody planned for
        raise RuntimeError("disk /srv/umwi/lake/gold/_published.json: bad sector 7")


def test_an_unexpected_failure_is_a_500_naming_nothing_inside(
    settings: Settings, gold: Publication, caplog: pytest.LogCaptureFixture
) -> None:
    """Mutation: remove the `Exception` handler in `install_error_handlers` → Starlette's
    plain-text 500 without a request id, red."""
    app = create_app(build_resources(settings), serve_web=False)
    broken = _BrokenReader(build_resources(settings))
    app.dependency_overrides[get_reader] = lambda: broken
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="umwi.api"),
    ):
        response = client.get("/kpi/weather-impact")
    request_id = _request_id(response, 500, INTERNAL)
    assert "/srv" not in response.text
    assert "bad sector" not in response.text
    assert "bad sector 7" in _logged(caplog, request_id).getMessage()


def test_not_published_keeps_its_actionable_message(settings: Settings) -> None:
    with TestClient(create_app(build_resources(settings), serve_web=False)) as client:
        response = client.get("/kpi/weather-impact")
    assert response.status_code == 503
    assert response.json()["error"].startswith("no gold has been published yet")
    assert response.headers["Retry-After"] == "60"
