"""The fixed geography, timetable and injected weather effect of the synthetic sample city."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "SAMPLE_EFFECT",
    "SAMPLE_LOCATIONS",
    "SAMPLE_NETWORK",
    "SAMPLE_TIMEZONE",
    "SampleCity",
    "SampleLine",
    "WeatherEffect",
    "sample_city",
]

SAMPLE_NETWORK = "umwi-sample"
SAMPLE_TIMEZONE = "Europe/Zurich"
_CENTER = (47.37, 8.54)
#: (location_id, latitude, longitude): two weather stations ~13.6 km apart.
SAMPLE_LOCATIONS: tuple[tuple[str, float, float], ...] = (
    ("sample-east", 47.37, 8.63),
    ("sample-west", 47.37, 8.45),
)


@dataclass(frozen=True)
class WeatherEffect:
    """How the sample city's weather moves its delays and cancellations (the injected truth).

    For a non-cancelled departure in an hour with `precipitation_mm` P and `snowfall_cm` S
    at its stop's nearest weather location:
    `delay_s = round(base_delay_s + rush_delay_s·[weekday rush hour] + per_mm_s·P + per_cm_snow_s·S
    + N(0, noise_s))`, floored at `min_delay_s`. Rush hours are 07–09 and 16–19 local time on
    weekdays. A departure is cancelled with the probability of its hour's weather class
    (DESIGN.md §5 classes).
    """

    base_delay_s: float = 40.0
    rush_delay_s: float = 45.0
    per_mm_s: float = 30.0
    per_cm_snow_s: float = 120.0
    noise_s: float = 45.0
    min_delay_s: float = -180.0
    cancel_probability: dict[str, float] = field(
        default_factory=lambda: {
            "dry": 0.004,
            "light_rain": 0.006,
            "moderate_rain": 0.012,
            "heavy_rain": 0.03,
            "snow": 0.05,
        }
    )


SAMPLE_EFFECT = WeatherEffect()


@dataclass(frozen=True)
class SampleLine:
    line_id: str
    name: str
    mode: str
    stops: int
    hop_s: int  # running time between consecutive stops
    headway_factor: float  # × the city's base headway


_LINES = (
    SampleLine("B1", "Bus 1", "bus", 10, 120, 1.0),
    SampleLine("B2", "Bus 2", "bus", 9, 120, 1.0),
    SampleLine("B3", "Bus 3", "bus", 8, 150, 1.5),
    SampleLine("B4", "Bus 4", "bus", 8, 150, 1.5),
    SampleLine("T1", "Tram 1", "tram", 10, 90, 1.0),
    SampleLine("T2", "Tram 2", "tram", 9, 90, 1.0),
    SampleLine("M1", "Metro 1", "metro", 8, 100, 0.5),
    SampleLine("R1", "Rail 1", "rail", 6, 300, 2.0),
)

#: Base headways in minutes: (from local hour, to local hour, minutes).
WEEKDAY_HEADWAYS = ((5, 7, 15), (7, 9, 6), (9, 16, 10), (16, 19, 6), (19, 24, 15))
WEEKEND_HEADWAYS = ((6, 9, 20), (9, 20, 12), (20, 24, 20))


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class SampleCity:
    """Lines, stops (flat arrays) and the daily timetable templates (local seconds)."""

    lines: tuple[SampleLine, ...]
    stop_ids: np.ndarray
    stop_names: np.ndarray
    stop_lat: np.ndarray
    stop_lon: np.ndarray
    stop_line: np.ndarray  # line index of each stop
    stop_location: np.ndarray  # index into SAMPLE_LOCATIONS of the nearest station
    #: day type ("weekday"/"weekend") → (seconds after noon−12h, stop index, trip number,
    #: line index, direction); one entry per scheduled departure of the day.
    templates: dict[str, dict[str, np.ndarray]]


def _trip_starts(headways: tuple[tuple[int, int, int], ...], factor: float) -> list[int]:
    starts: list[int] = []
    for begin, end, minutes in headways:
        step = max(120, round(minutes * factor * 60))
        starts += range(begin * 3600, end * 3600, step)
    return starts


def sample_city(seed: int) -> SampleCity:
    """The city of a seed: stops laid along straight lines through the centre."""
    rng = np.random.default_rng([seed, 0])
    ids: list[str] = []
    names: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    owners: list[int] = []
    first_stop: list[int] = []
    for index, line in enumerate(_LINES):
        angle = rng.uniform(0, math.pi)
        length = rng.uniform(0.08, 0.14)  # degrees from end to end
        first_stop.append(len(ids))
        for k in range(line.stops):
            t = k / (line.stops - 1) - 0.5
            ids.append(f"{line.line_id}-{k + 1:02d}")
            names.append(f"{line.name} stop {k + 1}")
            lats.append(round(_CENTER[0] + t * length * math.sin(angle), 5))
            lons.append(round(_CENTER[1] + t * length * math.cos(angle) * 1.4, 5))
            owners.append(index)
    nearest = [
        min(
            range(len(SAMPLE_LOCATIONS)),
            key=lambda i: (
                round(_haversine_km(lat, lon, *SAMPLE_LOCATIONS[i][1:]), 3),
                SAMPLE_LOCATIONS[i][0],
            ),
        )
        for lat, lon in zip(lats, lons, strict=True)
    ]
    templates: dict[str, dict[str, np.ndarray]] = {}
    for day_type, headways in (("weekday", WEEKDAY_HEADWAYS), ("weekend", WEEKEND_HEADWAYS)):
        seconds: list[int] = []
        stops: list[int] = []
        trips: list[int] = []
        line_of: list[int] = []
        direction: list[int] = []
        for index, line in enumerate(_LINES):
            for way in (0, 1):
                order = range(line.stops) if way == 0 else range(line.stops - 1, -1, -1)
                for number, start in enumerate(_trip_starts(headways, line.headway_factor)):
                    for hop, k in enumerate(order):
                        seconds.append(start + hop * line.hop_s)
                        stops.append(first_stop[index] + k)
                        trips.append(number)
                        line_of.append(index)
                        direction.append(way)
        templates[day_type] = {
            "seconds": np.asarray(seconds, dtype=np.int64),
            "stop": np.asarray(stops, dtype=np.int32),
            "trip": np.asarray(trips, dtype=np.int32),
            "line": np.asarray(line_of, dtype=np.int32),
            "direction": np.asarray(direction, dtype=np.int8),
        }
    return SampleCity(
        lines=_LINES,
        stop_ids=np.asarray(ids),
        stop_names=np.asarray(names),
        stop_lat=np.asarray(lats),
        stop_lon=np.asarray(lons),
        stop_line=np.asarray(owners, dtype=np.int32),
        stop_location=np.asarray(nearest, dtype=np.int32),
        templates=templates,
    )
