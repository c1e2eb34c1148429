"""umwi_connectors: the umwi data sources as a library (no Prefect, GE or Pulumi)."""

# --- Open-Meteo and Navitia (web connectors) ---
from umwi_connectors._bronze import land, read_meta
from umwi_connectors._bronze_stage import stage_bronze_payload
from umwi_connectors._http import RateLimiter, sync_iter
from umwi_connectors._navitia import NavitiaClient, fetch_departures
from umwi_connectors._openmeteo import OpenMeteoClient, fetch_weather
from umwi_connectors._openmeteo_parse import WeatherLocation

__all__: list[str] = [
    # --- Open-Meteo and Navitia (web connectors) ---
    "NavitiaClient",
    "OpenMeteoClient",
    "RateLimiter",
    "WeatherLocation",
    "fetch_departures",
    "fetch_weather",
    "land",
    "read_meta",
    "stage_bronze_payload",
    "sync_iter",
]
