"""Open-Meteo's forecast for the outlook: the 48 h ahead, issued at the fetch, in
`weather_forecast`'s columns and never in `weather_hourly` (DESIGN.md §8)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from umwi_connectors import WeatherLocation, fetch_forecast, replay_bronze
from umwi_connectors._openmeteo_forecast import FORECAST_DATASET
from umwi_core import Lake, load_settings
from umwi_core.contracts import WEATHER_FORECAST
from umwi_transform import land_forecast, read_silver
from umwi_transform.catalog import open_delta

from tests.packages.umwi_connectors.test_openmeteo import FastLimiter
from tests.support.fake_servers import FakeApiServer, true_hour

NOW = datetime(2026, 3, 30, 5, 30, tzinfo=UTC)
BERLIN = WeatherLocation("berlin", 52.52, 13.41)


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    fake = FakeApiServer()
    fake.today = NOW.date()
    yield fake
    fake.stop()


def test_the_forecast_covers_48_hours_from_the_current_one(
    server: FakeApiServer, lake: Lake
) -> None:
    """Mutation: `end = first + timedelta(hours=FORECAST_HOURS)` → 24 h: red."""
    settings = load_settings(**server.settings_overrides())
    table = fetch_forecast(
        settings,
        lake,
        "f1",
        [BERLIN],
        now=NOW,
        transport=server.mock_transport(),
        limiter=FastLimiter(),
    )
    hours = table.column("hour").to_pylist()
    first = datetime(2026, 3, 30, 5, tzinfo=UTC)
    assert hours == [first + timedelta(hours=h) for h in range(48)]
    assert set(table.column("issued_at").to_pylist()) == {NOW}
    truth = true_hour(BERLIN.latitude, BERLIN.longitude, first + timedelta(hours=7))
    row = table.slice(7, 1).to_pylist()[0]
    assert row["temperature_c"] == truth["temperature_2m"]
    land_forecast(lake, table, "f1", source="open_meteo")
    landed = open_delta(lake, "silver", WEATHER_FORECAST.name)
    assert landed is not None
    assert landed.to_pyarrow_dataset().count_rows() == 48
    # The future hours stay out of the observed weather, also when bronze is replayed.
    assert read_silver(lake, "weather_hourly").num_rows == 0
    (key,) = [k for k in lake.list(f"bronze/open_meteo/{FORECAST_DATASET}/") if k.endswith(".json")
              and not k.endswith(".meta.json")]  # fmt: skip
    assert list(replay_bronze(lake, key, run_id="replay")) == []
