"""`umwi.toml`: which sources `umwi run` and the scheduled deployments ingest, and when.

The schema is documented in flows/README.md and shipped as `umwi.toml.example`.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from umwi_core.errors import InputError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocationConfig(_Strict):
    location_id: Annotated[str, Field(min_length=1)]
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]


class WeatherConfig(_Strict):
    """Open-Meteo: hourly weather at each location."""

    locations: list[LocationConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> WeatherConfig:
        ids = [location.location_id for location in self.locations]
        duplicates = sorted({name for name in ids if ids.count(name) > 1})
        if duplicates:
            raise ValueError(f"location_id {duplicates[0]!r} is listed twice")
        return self


class NavitiaConfig(_Strict):
    """Navitia: real-time departures of stop areas of one coverage, polled."""

    coverage: Annotated[str, Field(min_length=1)]
    stop_areas: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    endpoint: Literal["departures", "stop_schedules"] = "departures"
    duration_s: Annotated[int, Field(ge=60, le=86_400)] = 3_600
    count: Annotated[int, Field(ge=1, le=1_000)] = 100


class GtfsRtConfig(_Strict):
    """GTFS-Realtime TripUpdates (URL or file) joined to its static GTFS feed."""

    network: Annotated[str, Field(min_length=1)]
    static: Annotated[str, Field(min_length=1)]
    trip_updates: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)


class FileConfig(_Strict):
    departures: Path | None = None
    weather: Path | None = None
    network: str | None = None
    timezone: str | None = None

    @model_validator(mode="after")
    def _something(self) -> FileConfig:
        if self.departures is None and self.weather is None:
            raise ValueError("give departures, weather or both")
        return self


class SampleConfig(_Strict):
    """The synthetic sample city (offline)."""

    start: date | None = Field(None, description="First day; default: `umwi run --start`.")
    days: Annotated[int, Field(ge=1, le=3660)] = 30
    seed: int = 7


class SourcesConfig(_Strict):
    weather: WeatherConfig | None = None
    navitia: list[NavitiaConfig] = Field(default_factory=list)
    gtfs_rt: list[GtfsRtConfig] = Field(default_factory=list)
    file: list[FileConfig] = Field(default_factory=list)
    sample: SampleConfig | None = None

    def names(self) -> list[str]:
        """The data names of the configured sources, in ingest order (weather first)."""
        found = []
        if self.weather is not None and self.weather.locations:
            found.append("weather")
        for name in ("navitia", "gtfs_rt", "file"):
            if getattr(self, name):
                found.append(name)
        if self.sample is not None:
            found.append("sample")
        return found


class SchedulesConfig(_Strict):
    """Cron strings (5 fields) and intervals of the deployments, in `timezone`."""

    timezone: str = "UTC"
    weather: str = "5 * * * *"
    realtime_interval_s: Annotated[int, Field(ge=60, le=86_400)] = 300
    gold: str = "30 2 * * *"
    maintenance: str = "0 4 * * 0"
    weather_lookback_days: Annotated[int, Field(ge=1, le=92)] = 2

    @model_validator(mode="after")
    def _crons(self) -> SchedulesConfig:
        for name in ("weather", "gold", "maintenance"):
            value = getattr(self, name)
            if len(value.split()) != 5:
                raise ValueError(f"{name}: {value!r} is not a 5-field cron expression")
        return self


class BackfillConfig(_Strict):
    concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    chunk_days: Annotated[int, Field(ge=1, le=92)] = 1


class UmwiConfig(_Strict):
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    schedules: SchedulesConfig = Field(default_factory=SchedulesConfig)
    backfill: BackfillConfig = Field(default_factory=BackfillConfig)


def _describe(error: ValidationError, path: Path) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{path}: {where}: {message}" if where else f"{path}: {message}"


def parse_config(text: str, path: Path) -> UmwiConfig:
    """Validate the TOML text; `InputError` naming the file, the field and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    try:
        return UmwiConfig.model_validate(data)
    except ValidationError as error:
        raise InputError(_describe(error, path)) from None


def load_config(path: Path) -> UmwiConfig:
    """Read `umwi.toml` (the `UMWI_CONFIG_FILE` setting)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such file (copy umwi.toml.example, or set UMWI_CONFIG_FILE)"
        ) from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None
    return parse_config(text, path)


__all__ = [
    "BackfillConfig",
    "FileConfig",
    "GtfsRtConfig",
    "LocationConfig",
    "NavitiaConfig",
    "SampleConfig",
    "SchedulesConfig",
    "SourcesConfig",
    "UmwiConfig",
    "WeatherConfig",
    "load_config",
    "parse_config",
]
