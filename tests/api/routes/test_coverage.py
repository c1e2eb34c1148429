"""`/coverage`: the hours the published data spans, per network."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from umwi_api.queries import GoldReader
from umwi_core.lake import Lake
from umwi_core.publication import Publication

from tests.api.gold_sample import sample_tables
from tests.api.gold_year import write_year_gold


def _iso(moment: Any) -> str:
    return pd.Timestamp(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expected(tables: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """First and last hour per network from the frames the gold was written from."""
    departures = tables["punctuality_hourly"].groupby("network")["hour"]
    weather = tables["mobility_weather_hourly"].groupby("network")["hour"]
    return [
        {
            "network": network,
            "first_hour": _iso(hours.min()),
            "last_hour": _iso(hours.max()),
            "hours": hours.nunique(),
            "weather_first_hour": _iso(weather.get_group(network).min()),
            "weather_last_hour": _iso(weather.get_group(network).max()),
        }
        for network, hours in departures
    ]


def test_coverage_is_the_data_span_with_the_publication_as_etag(
    client: TestClient, gold: Publication
) -> None:
    """Mutation: answer the newest `updated_at` as `last_hour` → red."""
    response = client.get("/coverage")
    assert response.status_code == 200
    assert response.json() == _expected(sample_tables())
    assert response.json()[0]["last_hour"] == "2024-04-07T23:00:00Z"
    assert response.headers["ETag"] == f'"{gold.publication_id}"'
    again = client.get("/coverage", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_coverage_is_computed_once_per_publication(
    client: TestClient, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutation: drop the publication check in `GoldReader.coverage` → a republish still
    answers the old span, red; drop the memo → two queries for one publication, red."""
    queries: list[str] = []
    real = GoldReader._coverage_query

    def counting(self: GoldReader, publication: Publication) -> list[dict[str, Any]]:
        queries.append(publication.publication_id)
        return real(self, publication)

    monkeypatch.setattr(GoldReader, "_coverage_query", counting)
    first = client.get("/coverage").json()
    assert client.get("/coverage").json() == first
    assert len(queries) == 1

    # A republish with other data: spans differ per network, and departures without
    # weather start an hour before the weather does.
    publication, tables = write_year_gold(lake)
    answered = client.get("/coverage")
    assert queries[-1] == publication.publication_id
    assert len(queries) == 2
    assert answered.headers["ETag"] == f'"{publication.publication_id}"'
    body = answered.json()
    assert body == _expected(tables)
    harbour = body[0]
    assert (harbour["first_hour"], harbour["weather_first_hour"]) == (
        "2025-01-01T04:00:00Z",
        "2025-01-01T05:00:00Z",
    )
