"""One class per source: its ledger stream, its windows, and the connector call that
fetches a claimed range as staged batches. Only glue: the connectors do the work."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from umwi_core.arrow import StagedBatch
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.settings import Settings

from umwi_flows._config import (
    FileConfig,
    GtfsRtConfig,
    LocationConfig,
    NavitiaConfig,
    SampleConfig,
    SourcesConfig,
)
from umwi_flows._windows import day_windows

Batches = Iterable[StagedBatch] | AsyncIterable[StagedBatch]


@dataclass(frozen=True)
class Span:
    """The part of the requested range one fetch covers: [start, end) days, or one input."""

    windows: tuple[str, ...]
    start: date | None = None
    end: date | None = None


class SourceJob(ABC):
    """One source instance: what its windows are and how to fetch a span of them."""

    source: str
    by_day: bool = True

    @property
    @abstractmethod
    def stream(self) -> str:
        """The ledger's `source` key, stable across runs with the same parameters."""

    @abstractmethod
    def parameters(self) -> dict[str, Any]:
        """JSON-ready parameters for the run manifest."""

    def windows(self, start: date | None, end: date | None, now: datetime) -> list[str]:
        if not self.by_day:
            return [self.input_window(now)]
        if start is None or end is None:
            raise InputError(f"{self.source}: --start and --end are required")
        return [day.isoformat() for day in day_windows(start, end)]

    def input_window(self, now: datetime) -> str:
        raise NotImplementedError(f"{type(self).__name__} has day windows")

    def complete_at(self, window: str) -> datetime | None:
        """When the window's data can no longer change (a day's end); None: at once."""
        if not self.by_day:
            return None
        return datetime.combine(date.fromisoformat(window), datetime.min.time(), UTC) + timedelta(
            days=1
        )

    @abstractmethod
    def fetch(self, settings: Settings, lake: Lake, run_id: str, span: Span) -> Batches:
        """The staged batches of the span; each raw payload lands in bronze first."""


def _digest(*parts: bytes | str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return "sha256:" + hasher.hexdigest()[:32]


def _file_digest(path: Path, option: str) -> bytes:
    try:
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        return hasher.digest()
    except FileNotFoundError:
        raise InputError(f"{option}: no such file: {path}") from None
    except OSError as error:
        raise InputError(f"{option}: cannot read {path}: {error.strerror}") from None


def _poll_window(now: datetime) -> str:
    """A poll's window is its UTC minute: polling twice in a minute adds nothing."""
    return "poll:" + now.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True)
class WeatherJob(SourceJob):
    location: LocationConfig
    source = "open_meteo"

    @property
    def stream(self) -> str:
        return f"open_meteo:{self.location.location_id}"

    def parameters(self) -> dict[str, Any]:
        return self.location.model_dump()

    def fetch(self, settings: Settings, lake: Lake, run_id: str, span: Span) -> Batches:
        from umwi_connectors import WeatherLocation, fetch_weather

        assert span.start is not None
        assert span.end is not None
        place = WeatherLocation(
            self.location.location_id, self.location.latitude, self.location.longitude
        )
        return fetch_weather(settings, lake, run_id, [place], span.start, span.end)


@dataclass(frozen=True)
class NavitiaJob(SourceJob):
    config: NavitiaConfig
    source = "navitia"
    by_day = False

    @property
    def stream(self) -> str:
        return f"navitia:{self.config.coverage}:" + ",".join(sorted(self.config.stop_areas))

    def parameters(self) -> dict[str, Any]:
        return self.config.model_dump()

    def input_window(self, now: datetime) -> str:
        return _poll_window(now)

    def fetch(self, settings: Settings, lake: Lake, run_id: str, span: Span) -> Batches:
        from umwi_connectors import fetch_departures

        return fetch_departures(
            settings,
            lake,
            run_id,
            region=self.config.coverage,
            stop_areas=list(self.config.stop_areas),
            endpoint=self.config.endpoint,
            duration_s=self.config.duration_s,
            count=self.config.count,
        )


@dataclass(frozen=True)
class GtfsRtJob(SourceJob):
    config: GtfsRtConfig
    source = "gtfs_rt"
    by_day = False

    @property
    def stream(self) -> str:
        return f"gtfs_rt:{self.config.network}"

    def parameters(self) -> dict[str, Any]:
        return self.config.model_dump()

    def _is_url(self) -> bool:
        return any(url.startswith(("http://", "https://")) for url in self.config.trip_updates)

    def input_window(self, now: datetime) -> str:
        if self._is_url():
            return _poll_window(now)
        # Files: the same snapshots are the same window, whenever they are ingested.
        parts = [self.config.static, *sorted(self.config.trip_updates)]
        digests = [_file_digest(Path(path), "trip updates") for path in parts]
        return _digest(*digests)

    def fetch(self, settings: Settings, lake: Lake, run_id: str, span: Span) -> Batches:
        from umwi_connectors import read_trip_updates

        return read_trip_updates(
            settings,
            lake,
            run_id,
            static=self.config.static,
            trip_updates=list(self.config.trip_updates),
            network=self.config.network,
        )


@dataclass(frozen=True)
class FileJob(SourceJob):
    config: FileConfig
    source = "file"
    by_day = False

    @property
    def stream(self) -> str:
        return "file"

    def parameters(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def input_window(self, now: datetime) -> str:
        digests: list[bytes | str] = []
        for option in ("departures", "weather"):
            path = getattr(self.config, option)
            digests.append(_file_digest(path, f"--{option}") if path is not None else "-")
        digests += [self.config.network or "-", self.config.timezone or "-"]
        return _digest(*digests)

    def fetch(self, settings: Settings, lake: Lake, run_id: str, span: Span) -> Batches:
        from umwi_connectors import read_departures_file, read_weather_file

        def batches() -> Iterable[StagedBatch]:
            if self.config.weather is not None:
                yield from read_weather_file(
                    self.config.weather,
                    lake=lake,
                    run_id=run_id,
                    timezone=self.config.timezone,
                )
            if self.config.departures is not None:
                yield from read_departures_file(
                    self.config.departures,
                    lake=lake,
                    run_id=run_id,
                    network=self.config.network,
                    timezone=self.config.timezone,
                )

        return batches()


@dataclass(frozen=True)
class SampleJob(SourceJob):
    config: SampleConfig
    source = "sample"

    @property
    def stream(self) -> str:
        return f"sample:{self.config.seed}"

    def parameters(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def windows(self, start: date | None, end: date | None, now: datetime) -> list[str]:
        if start is None and end is None and self.config.start is not None:
            start = self.config.start
            end = start + timedelta(days=self.config.days)
        return super().windows(start, end, now)

    def fetch(self, settings: Settings, lake: Lake, run_id: str, span: Span) -> Batches:
        from umwi_connectors import generate_sample

        assert span.start is not None
        assert span.end is not None
        return generate_sample(
            lake=lake,
            run_id=run_id,
            start=span.start,
            days=(span.end - span.start).days,
            seed=self.config.seed,
        )


def jobs_from_config(sources: SourcesConfig, only: Iterable[str] | None = None) -> list[SourceJob]:
    """The jobs of the configured sources (weather first, so gold finds its weather)."""
    wanted = set(sources.names() if only is None else only)
    unknown = wanted - set(sources.names())
    if unknown:
        configured = ", ".join(sources.names()) or "none"
        raise InputError(
            f"--source {sorted(unknown)[0]!r} is not configured in umwi.toml "
            f"(configured: {configured})"
        )
    jobs: list[SourceJob] = []
    if "weather" in wanted and sources.weather is not None:
        jobs += [WeatherJob(location) for location in sources.weather.locations]
    if "navitia" in wanted:
        jobs += [NavitiaJob(item) for item in sources.navitia]
    if "gtfs_rt" in wanted:
        jobs += [GtfsRtJob(item) for item in sources.gtfs_rt]
    if "file" in wanted:
        jobs += [FileJob(item) for item in sources.file]
    if "sample" in wanted and sources.sample is not None:
        jobs.append(SampleJob(sources.sample))
    return jobs


__all__ = [
    "Batches",
    "FileJob",
    "GtfsRtJob",
    "NavitiaJob",
    "SampleJob",
    "SourceJob",
    "Span",
    "WeatherJob",
    "jobs_from_config",
]
