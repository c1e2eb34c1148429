"""Through the real pipeline: silver → `build_gold` → `publish_gold` → the API.

The API's rows must be the published gold tables as `umwi_transform.read_gold` sees them at
the published versions (same values, hours as ISO UTC strings, NaN as null).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from umwi_api import create_app
from umwi_core.contracts import GOLD_COLUMNS
from umwi_core.lake import Lake
from umwi_core.publication import Publication
from umwi_core.resources import build_resources
from umwi_core.settings import Settings
from umwi_transform import build_gold, commit_batch, publish_gold, read_gold

from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    weather,
    weather_batch,
)

pytestmark = pytest.mark.slow

HOURS = 72


def _rain(hour: int) -> float:
    return [0.0, 0.0, 0.4, 1.8, 3.5, 9.0][hour % 6] if hour % 11 < 7 else 0.0


def _publish(lake: Lake, settings: Settings) -> Publication:
    departures, weathers = [], []
    for hour in range(HOURS):
        weathers.append(weather(hour=at(hours=hour), precipitation=_rain(hour)))
        for line in ("L1", "L2"):
            for trip in range(3):
                delay = 30 + int(40 * _rain(hour)) + 17 * trip + (25 if line == "L2" else 0)
                departures.append(
                    departure(
                        trip=f"{line}-{hour}-{trip}",
                        line=line,
                        stop=f"S{trip}",
                        scheduled=at(hours=hour) + timedelta(minutes=10 * trip),
                        delay=None if (hour + trip) % 29 == 0 else delay,
                        cancelled=(hour + trip) % 29 == 0,
                    )
                )
    commit_batch(departures_batch(departures), lake, settings, "run-d")
    commit_batch(weather_batch(weathers), lake, settings, "run-w")
    candidates = build_gold(lake, settings, "run-b")
    return publish_gold(
        lake, candidates, run_id="run-b", gate={"status": "passed"}, quality_report=None
    )


def _expected(lake: Lake, publication: Publication, table: str) -> list[dict[str, Any]]:
    frame = read_gold(lake, table, publication.tables[table].version).to_pylist()
    rows = []
    for record in frame:
        row = {}
        for name in GOLD_COLUMNS[table]:
            value = record[name]
            if hasattr(value, "isoformat"):
                value = value.isoformat().replace("+00:00", "Z")
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            row[name] = value
        rows.append(row)
    return rows


def _key(row: dict[str, Any]) -> str:
    return repr(sorted((name, repr(value)) for name, value in row.items()))


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("/kpi/weather-impact", "weather_impact"),
        ("/kpi/punctuality", "punctuality_hourly"),
        ("/kpi/hourly", "mobility_weather_hourly"),
        ("/correlation", "correlation"),
    ],
)
def test_api_serves_the_published_gold(
    settings: Settings, lake: Lake, path: str, table: str
) -> None:
    publication = _publish(lake, settings)
    expected = _expected(lake, publication, table)
    assert expected, f"the pipeline must produce {table} rows"
    with TestClient(create_app(build_resources(settings))) as client:
        response = client.get(path, params={"limit": 5000})
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{publication.publication_id}"'
    served = response.json()
    assert int(response.headers["X-Total-Count"]) == len(expected) == len(served)
    assert sorted(map(_key, served)) == sorted(map(_key, expected))


def test_filters_on_real_gold(settings: Settings, lake: Lake) -> None:
    _publish(lake, settings)
    with TestClient(create_app(build_resources(settings))) as client:
        impact = client.get("/kpi/weather-impact", params={"line_id": "L2", "period": "all"}).json()
        classes = {row["weather_class"]: row for row in impact}
        assert {"dry", "wet"} <= set(classes)
        assert classes["wet"]["uplift_s"] > 0
        correlation = client.get(
            "/correlation",
            params={"line_id": "*", "period": "all", "variable": "precipitation_mm", "lag_h": 0},
        ).json()
        raw = next(row for row in correlation if row["y_kind"] == "raw")
        assert raw["pearson_r"] > 0.9
        assert raw["slope"] == pytest.approx(40, rel=0.1)
        start = at(hours=10).isoformat()
        end = at(hours=12).isoformat()
        hourly = client.get("/kpi/hourly", params={"start": start, "end": end, "line_id": "L1"})
        assert {row["hour"] for row in hourly.json()} == {
            at(hours=10).isoformat().replace("+00:00", "Z"),
            at(hours=11).isoformat().replace("+00:00", "Z"),
        }
        freshness = client.get("/freshness").json()
        assert freshness["last_run_id"] == "run-b"
        assert freshness["gate_status"] == "passed"
