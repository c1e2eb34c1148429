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
