"""Hourly weather of the sample city: seasons, daily anomalies, rain and snow episodes.

Each UTC day is drawn from its own seeded generator, so any day's weather is the same
whatever range it is generated in (re-runs and overlapping windows agree).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
from umwi_core.contracts import WEATHER_MEASURES

from umwi_connectors._sample_city import SAMPLE_LOCATIONS

__all__ = ["HourlyWeather", "sample_forecast", "sample_weather", "weather_class_codes"]

HourlyWeather = dict[str, np.ndarray]

#: Weather classes in DESIGN.md §5 order of the codes `weather_class_codes` returns.
CLASSES = ("dry", "light_rain", "moderate_rain", "heavy_rain", "snow")


def _day(seed: int, day: date) -> dict[str, np.ndarray]:
    """One UTC day at every location: arrays of shape (locations, 24)."""
    regional = np.random.default_rng([seed, 1, day.toordinal()])
    hours = np.arange(24)
    doy = day.timetuple().tm_yday
    seasonal = 9.0 - 11.0 * math.cos(2 * math.pi * (doy - 15) / 365.25)
    anomaly = regional.normal(0.0, 3.5)
    diurnal = 4.0 * np.sin(2 * np.pi * (hours - 9) / 24)
    wind_level = regional.gamma(3.0, 4.0)
    episode = np.zeros(24)
    if regional.random() < 0.4:
        start = int(regional.integers(0, 24))
        length = int(regional.integers(2, 11))
        intensity = regional.gamma(1.5, 1.6)
        span = hours[start : start + length]
        episode[span] = intensity * regional.lognormal(0.0, 0.5, size=span.size)
    n = len(SAMPLE_LOCATIONS)
    temperature = np.empty((n, 24))
    precipitation = np.empty((n, 24))
    wind = np.empty((n, 24))
    for index in range(n):
        local = np.random.default_rng([seed, 2, index, day.toordinal()])
        temperature[index] = seasonal + anomaly + diurnal + local.normal(0.0, 0.7)
        seen = local.random() < 0.85
        precipitation[index] = episode * local.uniform(0.6, 1.4) * seen
        wind[index] = np.clip(
            wind_level + local.normal(0.0, 2.0, 24) + 4.0 * (episode > 0), 0, None
        )
    temperature = np.round(temperature, 1)
    precipitation = np.round(precipitation, 1)
    snowing = (temperature < 0.5) & (precipitation > 0)
    snowfall = np.where(snowing, np.round(precipitation * 0.7, 2), 0.0)
    rain = np.where(snowing, 0.0, precipitation)
    code = np.select(
        [snowing & (snowfall >= 2.0), snowing & (snowfall >= 0.7), snowing],
        [75, 73, 71],
        default=np.select(
            [precipitation > 7.6, precipitation > 2.5, precipitation > 0, wind > 25],
            [65, 63, 61, 3],
            default=1,
        ),
    )
    visibility = np.where(
        snowing,
        np.clip(10_000 - 3_000 * snowfall, 300, None),
        np.clip(24_000 - 1_500 * precipitation, 1_000, None),
    )
    return {
        "temperature_c": temperature,
        "precipitation_mm": precipitation,
        "rain_mm": rain,
        "snowfall_cm": snowfall,
        "wind_speed_kmh": np.round(wind, 1),
        "weather_code": code.astype(np.int16),
        "visibility_m": np.round(visibility, 0),
    }


def sample_weather(seed: int, first: date, days: int) -> HourlyWeather:
    """Weather of UTC days [first, first+days): arrays (locations, days·24) plus `hour_us`."""
    parts = [_day(seed, date.fromordinal(first.toordinal() + k)) for k in range(days)]
    weather = {name: np.concatenate([p[name] for p in parts], axis=1) for name in parts[0]}
    epoch_day = first.toordinal() - date(1970, 1, 1).toordinal()
    weather["hour_us"] = (epoch_day * 24 + np.arange(days * 24, dtype=np.int64)) * 3_600_000_000
    return weather


def weather_class_codes(precipitation: np.ndarray, snowfall: np.ndarray) -> np.ndarray:
    """Index into `CLASSES` of each hour (DESIGN.md §5 rules, first match wins)."""
    return np.select(
        [snowfall > 0, precipitation == 0, precipitation <= 2.5, precipitation <= 7.6],
        [4, 0, 1, 2],
        default=3,
    ).astype(np.int8)


def sample_forecast(seed: int, first: date, issued_at: datetime) -> pa.Table:
    """The sample city's forecast for the 48 h from midnight of `first`, issued at
    `issued_at`: the weather the city will have (each day is seeded alone), as a perfect
    forecast, in `weather_forecast`'s columns."""
    days = 2
    weather = sample_weather(seed, first, days)
    hours = days * 24
    columns: dict[str, list[object]] = {
        "location_id": [],
        "latitude": [],
        "longitude": [],
        "issued_at": [],
        "hour": [],
    }
    stamps = [datetime.fromtimestamp(int(us) / 1_000_000, tz=UTC) for us in weather["hour_us"]]
    for location_id, latitude, longitude in SAMPLE_LOCATIONS:
        columns["location_id"] += [location_id] * hours
        columns["latitude"] += [latitude] * hours
        columns["longitude"] += [longitude] * hours
        columns["issued_at"] += [issued_at] * hours
        columns["hour"] += stamps
    table = pa.table(
        {
            **columns,
            **{name: pa.array(weather[name].reshape(-1)) for name in WEATHER_MEASURES},
        }
    )
    return table.cast(
        table.schema.set(
            table.schema.get_field_index("issued_at"),
            pa.field("issued_at", pa.timestamp("us", tz="UTC")),
        ).set(table.schema.get_field_index("hour"), pa.field("hour", pa.timestamp("us", tz="UTC")))
    )
