"""`weather`: hourly weather from Open-Meteo at each configured location."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import Field
from umwi_core import Lake, Settings
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze_stage import replay_landed
from umwi_connectors._openmeteo import fetch_weather
from umwi_connectors._openmeteo_forecast import FORECAST_DATASET
from umwi_connectors._openmeteo_parse import WeatherLocation
from umwi_connectors._source import Batches, Layout, Schedule, Source, Span
from umwi_connectors._sources._strict import StrictOptions

__all__ = ["WeatherOptions", "WeatherSource"]


class WeatherOptions(StrictOptions):
    """One place: `umwi.toml` lists them under `[sources.weather] locations`."""

    location_id: Annotated[str, Field(min_length=1, description="Stable id of the place.")]
    latitude: Annotated[float, Field(ge=-90, le=90, description="WGS84 latitude.")]
    longitude: Annotated[float, Field(ge=-180, le=180, description="WGS84 longitude.")]


class WeatherSource(Source[WeatherOptions]):
    name = "weather"
    options = WeatherOptions
    help = "Hourly weather from Open-Meteo (archive for old days, forecast API for recent ones)."
    bronze = "open_meteo"
    layout = Layout.MANY
    list_key = "locations"
    schedule = Schedule.LOOKBACK

    def stream(self, options: WeatherOptions) -> str:
        return f"open_meteo:{options.location_id}"

    def check(self, instances: Sequence[WeatherOptions]) -> None:
        ids = [location.location_id for location in instances]
        duplicates = sorted({name for name in ids if ids.count(name) > 1})
        if duplicates:
            raise ValueError(f"location_id {duplicates[0]!r} is listed twice")

    def fetch(
        self, options: WeatherOptions, settings: Settings, lake: Lake, run_id: str, span: Span
    ) -> Batches:
        assert span.start is not None
        assert span.end is not None
        place = WeatherLocation(options.location_id, options.latitude, options.longitude)
        return fetch_weather(settings, lake, run_id, [place], span.start, span.end)

    def replay(self, lake: Lake, key: str, dataset: str, run_id: str) -> Iterable[StagedBatch]:
        if dataset == FORECAST_DATASET:
            # Forecast hours never become `weather_hourly` rows (DESIGN.md §8).
            return []
        return replay_landed(self.bronze, lake, key, dataset, run_id)
