"""`GET /kpi/outlook`: the published `outlook_hourly`, with the other KPI routes' filters,
paging, `X-Total-Count` and ETag (DESIGN.md §7–8)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from umwi_core.lake import Lake
from umwi_core.resources import build_resources
from umwi_core.settings import Settings
from umwi_transform import build_gold, commit_batch, land_forecast, publish_gold

from tests.api.gold_sample import publish, sample_tables, to_parquet
from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    forecast_table,
    weather,
    weather_batch,
)

WEEK = 24 * 7


@pytest.fixture
def outlook_client(lake: Lake, settings: Settings) -> Iterator[TestClient]:
    """Two lines on Mondays 08:00 and 09:00 for three weeks, then a forecast for week 3."""
    rows = [
        departure(trip=f"{line}{w}{h}", line=line, scheduled=at(hours=WEEK * w + h), delay=30 * w)
        for line in ("L1", "L2")
        for w in range(3)
        for h in range(2)
    ]
    commit_batch(departures_batch(rows), lake, settings, "d")
    hours = [weather(hour=at(hours=WEEK * w), precipitation=float(w == 1)) for w in range(3)]
    hours += [weather(hour=at(hours=WEEK * w + 1), precipitation=0.0) for w in range(3)]
    commit_batch(weather_batch(hours), lake, settings, "w")
    issued = at(hours=3 * WEEK - 1)
    land_forecast(
        lake, forecast_table(issued, [(at(hours=3 * WEEK + h), 0.5) for h in (0, 1)]), "f"
    )
    candidates = build_gold(lake, settings, "b")
    publish_gold(lake, candidates, run_id="b", gate={}, quality_report=None)
    from umwi_api import create_app

    with TestClient(create_app(build_resources(settings))) as client:
        yield client


def test_outlook_rows_filter_page_and_carry_the_publication(outlook_client: TestClient) -> None:
    """Mutation: drop the `/kpi/outlook` route from `routes.kpi.ROUTES` → 404: red."""
    every = outlook_client.get("/kpi/outlook")
    assert every.status_code == 200
    rows = every.json()
    # L1, L2 and * at both forecast hours.
    assert every.headers["X-Total-Count"] == "6"
    assert {(r["line_id"], r["hour"]) for r in rows} == {
        (line, f"2026-03-23T0{h}:00:00Z") for line in ("*", "L1", "L2") for h in (8, 9)
    }
    assert all(r["weather_class"] == "light_rain" for r in rows)
    assert all(r["issued_at"] == "2026-03-23T07:00:00Z" for r in rows)
    one_line = outlook_client.get(
        "/kpi/outlook",
        params={"line_id": "L1", "start": "2026-03-23T09:00:00Z", "limit": 1},
    )
    assert one_line.headers["X-Total-Count"] == "1"
    assert one_line.json()[0]["hour"] == "2026-03-23T09:00:00Z"
    etag = every.headers["ETag"]
    assert outlook_client.get("/kpi/outlook", headers={"If-None-Match": etag}).status_code == 304


def test_a_publication_without_the_outlook_answers_no_rows(lake: Lake, settings: Settings) -> None:
    """A lake published before the outlook existed (or before any forecast).

    Mutation: raise in `ServingStore._load` for every missing table → 503: red."""
    serving = {
        name: to_parquet(frame, name)
        for name, frame in sample_tables().items()
        if name != "outlook_hourly"
    }
    at_once = datetime(2024, 4, 8, tzinfo=UTC)
    publish(lake, serving, publication_id="pub-old", updated_at=at_once, published_at=at_once)
    from umwi_api import create_app

    with TestClient(create_app(build_resources(settings))) as client:
        found = client.get("/kpi/outlook")
        assert found.status_code == 200
        assert found.json() == []
        assert found.headers["X-Total-Count"] == "0"
        assert client.get("/kpi/weather-impact").status_code == 200
