"""The KPI routes' fast path: a cached local answer never leaves the event loop."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

PARAMS = {"line_id": "*", "period": "all", "variable": "rain_mm", "lag_h": 0, "y_kind": "raw"}


@pytest.fixture
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every function handed to a worker thread while the test runs."""
    hops: list[Any] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return hops


def test_cached_local_answers_skip_the_thread_pool(
    client: TestClient, thread_hops: list[Any]
) -> None:
    """The point of the local fast path: a thread hop is most of a cached request's cost.

    Mutation: delete the `if reader.nonblocking:` block of `routes.kpi.answer` (or make
    `deps.get_reader` a plain `def`) → the repeat takes a thread hop and this fails.
    """
    first = client.get("/correlation", params=PARAMS)
    assert first.status_code == 200
    assert len(thread_hops) == 1  # a miss: DuckDB runs in the pool
    thread_hops.clear()

    again = client.get("/correlation", params=PARAMS)
    assert again.status_code == 200
    assert thread_hops == []
    assert again.content == first.content
    for header in ("ETag", "X-Total-Count", "Cache-Control"):
        assert again.headers[header] == first.headers[header]

    # Another page of the same table is another query: back to the pool.
    client.get("/correlation", params={**PARAMS, "offset": 1})
    assert len(thread_hops) == 1


def test_repeats_are_answered_before_routing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation and dependency solving are most of a cached request's cost, so a repeat
    of the same query string skips them, with the same bytes and headers.

    Mutation: drop `app.add_middleware(FastPath, ...)` in `create_app` → the repeat reaches
    the route, red.
    """
    import umwi_api.routes.kpi as kpi_routes

    routed: list[str] = []
    real = kpi_routes.answer

    async def counting(request: Any, *args: Any) -> Any:
        routed.append(request.url.path)
        return await real(request, *args)

    monkeypatch.setattr(kpi_routes, "answer", counting)
    first = client.get("/kpi/weather-impact", params={"line_id": "*"})
    again = client.get("/kpi/weather-impact", params={"line_id": "*"})
    assert routed == ["/kpi/weather-impact"]
    assert again.content == first.content
    assert {**again.headers, "x-request-id": ""} == {**first.headers, "x-request-id": ""}
    # Conditional requests still reach the route, which answers 304.
    etag = first.headers["ETag"]
    assert (
        client.get(
            "/kpi/weather-impact", params={"line_id": "*"}, headers={"If-None-Match": etag}
        ).status_code
        == 304
    )
    assert len(routed) == 2


def test_daily_rows_page_like_hourly_ones(client: TestClient) -> None:
    """`grain=day` pages with `limit`/`offset`, counts in `X-Total-Count`, and carries the
    publication as its `ETag` (a 304 for it), as the hourly rows do.

    Mutation: count the hourly rows for `X-Total-Count` of a daily page → red.
    """
    params = {"grain": "day", "line_id": "*"}
    whole = client.get("/kpi/hourly", params={**params, "limit": 1000})
    assert whole.status_code == 200
    assert whole.headers["X-Total-Count"] == "28"  # two locations × 14 days
    rows = whole.json()
    assert len(rows) == 28
    assert rows[0]["day"] == "2024-03-25T00:00:00Z"
    pages = []
    for offset in range(0, 28, 5):
        page = client.get("/kpi/hourly", params={**params, "limit": 5, "offset": offset})
        assert page.headers["X-Total-Count"] == "28"
        assert page.headers["ETag"] == whole.headers["ETag"]
        pages += page.json()
    assert pages == rows
    again = client.get(
        "/kpi/hourly", params=params, headers={"If-None-Match": whole.headers["ETag"]}
    )
    assert again.status_code == 304
    # A filter narrows the days; the default grain is the hourly rows, unchanged.
    narrowed = client.get("/kpi/hourly", params={**params, "start": "2024-04-01"})
    assert narrowed.headers["X-Total-Count"] == "14"
    hourly = client.get("/kpi/hourly", params={"line_id": "*", "limit": 3})
    assert client.get(
        "/kpi/hourly", params={"line_id": "*", "limit": 3, "grain": "hour"}
    ).content == (hourly.content)
    assert "hour" in hourly.json()[0]


@pytest.mark.parametrize("grain", ["week", "DAY", ""])
def test_an_unknown_grain_is_422_naming_it(client: TestClient, grain: str) -> None:
    response = client.get("/kpi/hourly", params={"grain": grain})
    assert response.status_code == 422
    assert response.json()["error"].startswith("invalid parameter grain: ")


def test_openapi_documents_grain_and_the_daily_row(client: TestClient) -> None:
    """Mutation: give `/kpi/hourly` the hourly-only grain dependency → no `grain`, red."""
    from umwi_api._daily import MOBILITY_WEATHER_DAILY

    schema = client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/kpi/hourly"]["get"]["parameters"]}
    grain = parameters["grain"]
    assert grain["schema"]["enum"] == ["hour", "day"]
    assert grain["schema"]["default"] == "hour"
    assert "departure-weighted" in grain["description"]
    body = schema["paths"]["/kpi/hourly"]["get"]["responses"]["200"]["content"]
    refs = [option["items"]["$ref"] for option in body["application/json"]["schema"]["anyOf"]]
    assert refs == ["#/components/schemas/HourlyRow", "#/components/schemas/DailyRow"]
    daily = schema["components"]["schemas"]["DailyRow"]
    assert list(daily["properties"]) == list(MOBILITY_WEATHER_DAILY.column_names)
    assert daily["required"] == list(MOBILITY_WEATHER_DAILY.column_names)
    # Only the table with daily rows takes the parameter.
    punctuality = schema["paths"]["/kpi/punctuality"]["get"]["parameters"]
    assert "grain" not in {p["name"] for p in punctuality}
