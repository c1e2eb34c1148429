"""umwi_connectors: the umwi data sources as a library (no Prefect, GE or Pulumi)."""

# One sorted list for every connector (web: Open-Meteo, Navitia; offline: GTFS-RT, files,
# sample, replay) and the source registry; each side pins its own names in its
# public-API test.
from umwi_connectors._bronze import land, read_meta
from umwi_connectors._bronze_stage import stage_bronze_payload
from umwi_connectors._files import read_departures_file, read_weather_file
from umwi_connectors._gtfs_rt import stage_trip_updates
from umwi_connectors._gtfs_rt_read import read_trip_updates
from umwi_connectors._gtfs_static import GtfsStatic
from umwi_connectors._http import RateLimiter, sync_iter
from umwi_connectors._navitia import NavitiaClient, fetch_departures
from umwi_connectors._openmeteo import OpenMeteoClient, fetch_weather
from umwi_connectors._openmeteo_forecast import fetch_forecast
from umwi_connectors._openmeteo_parse import WeatherLocation
from umwi_connectors._registry import (
    get_source,
    register_source,
    registered_sources,
)
from umwi_connectors._replay import replay_bronze
from umwi_connectors._sample import generate_sample, sample_tables, write_sample_files
from umwi_connectors._sample_city import SAMPLE_EFFECT, WeatherEffect
from umwi_connectors._sample_weather import sample_forecast
from umwi_connectors._source import (
    Batches,
    Cli,
    Layout,
    Schedule,
    Source,
    SourceJob,
    Span,
    Windowing,
)
from umwi_connectors._sources_config import SourcesConfig

__all__: list[str] = [
    "SAMPLE_EFFECT",
    "Batches",
    "Cli",
    "GtfsStatic",
    "Layout",
    "NavitiaClient",
    "OpenMeteoClient",
    "RateLimiter",
    "Schedule",
    "Source",
    "SourceJob",
    "SourcesConfig",
    "Span",
    "WeatherEffect",
    "WeatherLocation",
    "Windowing",
    "fetch_departures",
    "fetch_forecast",
    "fetch_weather",
    "generate_sample",
    "get_source",
    "land",
    "read_departures_file",
    "read_meta",
    "read_trip_updates",
    "read_weather_file",
    "register_source",
    "registered_sources",
    "replay_bronze",
    "sample_forecast",
    "sample_tables",
    "stage_bronze_payload",
    "stage_trip_updates",
    "sync_iter",
    "write_sample_files",
]
