"""The Mangum handler with API Gateway HTTP API (payload v2) events, good and bad."""

from __future__ import annotations

import base64
import gzip
import importlib
import json
import logging
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from umwi_core.lake import Lake
from umwi_core.publication import Publication
from umwi_core.settings import Settings

API_ID = "a1b2c3d4e5"


def event(path: str, query: str = "", method: str = "GET", **headers: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": f"{API_ID}.execute-api.eu-west-1.amazonaws.com", **headers},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": API_ID,
            "domainName": f"{API_ID}.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": API_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "pytest",
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "08/Apr/2024:00:10:00 +0000",
            "timeEpoch": 1712535000000,
        },
        "isBase64Encoded": False,
    }


@pytest.fixture
def handler_module(
    settings: Settings, gold: Publication, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    monkeypatch.setenv("UMWI_STATE_DIR", str(settings.state_dir))
    import umwi_api.lambda_handler as module

    # The module reads its settings at import, as Lambda's init phase does.
    return importlib.reload(module)


def body(response: dict[str, Any]) -> Any:
    raw = response["body"]
    data = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    if response["headers"].get("content-encoding") == "gzip":
        data = gzip.decompress(data)
    return json.loads(data)


def test_kpi_request(handler_module: ModuleType, gold: Publication) -> None:
    response = handler_module.handler(event("/kpi/weather-impact", "line_id=%2A&period=all"), None)
    assert response["statusCode"] == 200
    rows = body(response)
    assert {row["weather_class"] for row in rows} >= {"dry", "wet"}
    assert all(row["line_id"] == "*" for row in rows)
    assert response["headers"]["etag"] == f'"{gold.publication_id}"'
    assert int(response["headers"]["x-total-count"]) == len(rows)


def test_gzip_through_api_gateway(handler_module: ModuleType) -> None:
    response = handler_module.handler(
        event("/kpi/hourly", "limit=300", **{"accept-encoding": "gzip"}), None
    )
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert response["headers"]["content-encoding"] == "gzip"
    assert len(body(response)) == 300


def test_correlation_alias_and_304(handler_module: ModuleType, gold: Publication) -> None:
    query = "variable=precipitation_mm&lag_h=0&y_kind=raw&period=all&line_id=L2"
    response = handler_module.handler(event("/correlation", query), None)
    assert response["statusCode"] == 200
    assert len(body(response)) == 1
    again = handler_module.handler(
        event("/correlation", query, **{"if-none-match": f'"{gold.publication_id}"'}), None
    )
    assert again["statusCode"] == 304


@pytest.mark.parametrize(
    ("path", "query", "method", "status"),
    [
        ("/kpi/correlation", "lag_h=9", "GET", 422),
        ("/kpi/hourly", "start=not-a-time", "GET", 422),
        ("/kpi/weather-impact", "", "POST", 405),
        ("/nowhere", "", "GET", 404),
    ],
)
def test_bad_requests_are_4xx(
    handler_module: ModuleType, path: str, query: str, method: str, status: int
) -> None:
    response = handler_module.handler(event(path, query, method), None)
    assert response["statusCode"] == status
    if status == 422:
        assert body(response)["error"].startswith("invalid parameter")


@pytest.mark.parametrize(
    "bad_event",
    [
        {},
        {"version": "2.0"},
        {"version": "2.0", "requestContext": {}},
        {"Records": [{"eventSource": "aws:s3"}]},
        "not an event",
    ],
)
def test_unusable_events_get_400(
    handler_module: ModuleType, bad_event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Mutation: put the exception's text back into the 400 body → red."""
    context = SimpleNamespace(aws_request_id="lambda-req-9")
    with caplog.at_level(logging.WARNING, logger="umwi.api.lambda"):
        response = handler_module.handler(bad_event, context)
    assert response["statusCode"] == 400
    assert response["headers"]["x-request-id"] == "lambda-req-9"
    error = json.loads(response["body"])["error"]
    assert error == f"{handler_module.UNUSABLE_EVENT} (request id lambda-req-9)"
    (record,) = [r for r in caplog.records if getattr(r, "request_id", None) == "lambda-req-9"]
    assert "lambda-req-9" in record.getMessage()
    assert any(kind in record.getMessage() for kind in ("RuntimeError", "KeyError"))


def test_request_id_is_api_gateways(handler_module: ModuleType) -> None:
    """Mutation: ignore `aws.event` in `RequestIdMiddleware` → a random id, red."""
    response = handler_module.handler(event("/health"), SimpleNamespace(aws_request_id="x"))
    assert response["headers"]["x-request-id"] == "req-1"


def test_unreadable_gold_through_lambda_names_the_gateway_request(
    handler_module: ModuleType, gold: Publication, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    lake.write_bytes(gold.tables["weather_impact"].serving, b"not parquet")
    with caplog.at_level(logging.ERROR, logger="umwi.api"):
        response = handler_module.handler(event("/kpi/weather-impact"), None)
    assert response["statusCode"] == 503
    assert body(response)["error"].endswith("(request id req-1)")
    assert "parquet" not in json.dumps(body(response)).lower()
    (record,) = [r for r in caplog.records if getattr(r, "request_id", None) == "req-1"]
    assert "serving copy of weather_impact" in record.getMessage()


def test_health_and_no_dashboard_or_docs_on_lambda(handler_module: ModuleType) -> None:
    assert body(handler_module.handler(event("/health"), None)) == {"status": "ok"}
    assert handler_module.handler(event("/"), None)["statusCode"] == 404
    assert handler_module.handler(event("/docs"), None)["statusCode"] == 404
    assert handler_module.handler(event("/openapi.json"), None)["statusCode"] == 200
