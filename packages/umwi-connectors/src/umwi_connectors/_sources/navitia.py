"""`navitia`: real-time departures of stop areas of one Navitia coverage, polled."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field
from umwi_core import Lake, Settings
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze_stage import replay_landed
from umwi_connectors._input_windows import poll_window
from umwi_connectors._navitia import fetch_departures
from umwi_connectors._source import Batches, Cli, Schedule, Source, Span, Windowing
from umwi_connectors._sources._strict import StrictOptions

__all__ = ["NavitiaOptions", "NavitiaSource"]


class NavitiaOptions(StrictOptions):
    coverage: Annotated[
        str, Field(min_length=1, description="Navitia coverage (region), e.g. fr-idf.")
    ]
    stop_areas: Annotated[
        list[Annotated[str, Field(min_length=1)]],
        Field(min_length=1, description="Stop area id (repeatable)."),
        Cli(flag="--stop-area"),
    ]
    endpoint: Annotated[
        Literal["departures", "stop_schedules"],
        Field(description="departures or stop_schedules."),
    ] = "departures"
    duration_s: Annotated[int, Field(ge=60, le=86_400, description="Look-ahead of each poll.")] = (
        3_600
    )
    count: Annotated[int, Field(ge=1, le=1_000, description="Departures per page.")] = 100


class NavitiaSource(Source[NavitiaOptions]):
    name = "navitia"
    options = NavitiaOptions
    help = "Poll real-time departures of stop areas (token from UMWI_NAVITIA_TOKEN)."
    bronze = "navitia"
    windowing = Windowing.INPUTS
    schedule = Schedule.POLL

    def stream(self, options: NavitiaOptions) -> str:
        return f"navitia:{options.coverage}:" + ",".join(sorted(options.stop_areas))

    def input_window(self, options: NavitiaOptions, now: datetime) -> str:
        return poll_window(now)

    def fetch(
        self, options: NavitiaOptions, settings: Settings, lake: Lake, run_id: str, span: Span
    ) -> Batches:
        return fetch_departures(
            settings,
            lake,
            run_id,
            region=options.coverage,
            stop_areas=list(options.stop_areas),
            endpoint=options.endpoint,
            duration_s=options.duration_s,
            count=options.count,
        )

    def replay(self, lake: Lake, key: str, dataset: str, run_id: str) -> Iterable[StagedBatch]:
        return replay_landed(self.bronze, lake, key, dataset, run_id)
