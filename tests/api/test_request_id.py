"""Each request gets an id, sent back as `X-Request-Id`; on Lambda it is API Gateway's."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from umwi_api._request_id import lambda_request_id


def test_every_answer_carries_its_own_request_id(client: TestClient) -> None:
    """Mutation: drop `app.add_middleware(RequestIdMiddleware)` → no header, red."""
    etag = client.get("/kpi/weather-impact").headers["ETag"]
    answers = [
        client.get("/health"),
        client.get("/kpi/weather-impact", headers={"Accept-Encoding": "gzip"}),
        client.get("/kpi/weather-impact", headers={"If-None-Match": etag}),
        client.get("/kpi/correlation", params={"lag_h": 9}),
        client.get("/nowhere.json"),
        client.get("/"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 304, 422, 404, 200]
    ids = [a.headers["X-Request-Id"] for a in answers]
    assert len(set(ids)) == len(ids)
    assert all(len(found) == 32 for found in ids)


def test_a_client_cannot_choose_its_request_id(client: TestClient) -> None:
    """An id must name one request in the logs, so a sent one is not taken."""
    response = client.get("/health", headers={"X-Request-Id": "chosen-by-client"})
    assert response.headers["X-Request-Id"] != "chosen-by-client"


@pytest.mark.parametrize(
    ("event", "context", "expected"),
    [
        (
            {"requestContext": {"requestId": "Ab1-gw"}},
            SimpleNamespace(aws_request_id="l"),
            "Ab1-gw",
        ),
        ({"requestContext": {}}, SimpleNamespace(aws_request_id="lambda-1"), "lambda-1"),
        ("not an event", SimpleNamespace(aws_request_id="lambda-2"), "lambda-2"),
    ],
)
def test_lambda_ids_prefer_api_gateway(event: object, context: object, expected: str) -> None:
    assert lambda_request_id(event, context) == expected


@pytest.mark.parametrize("bad", ["", "x" * 101, "line\nbreak", "caf\u00e9", 42])
def test_unusable_lambda_ids_are_replaced(bad: object) -> None:
    """Mutation: drop the length/printable check → a header-breaking id passes, red."""
    found = lambda_request_id({"requestContext": {"requestId": bad}}, None)
    assert found != bad
    assert len(found) == 32
