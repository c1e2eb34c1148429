"""`sample`: the offline synthetic sample city (departures and weather)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Annotated

import pyarrow.parquet as pq
from pydantic import Field
from umwi_core import Lake, Settings, SourceError
from umwi_core.arrow import StagedBatch

from umwi_connectors._sample import generate_sample, restage_sample
from umwi_connectors._source import Batches, Cli, Layout, Source, Span
from umwi_connectors._sources._strict import StrictOptions

__all__ = ["SampleOptions", "SampleSource"]

_TABLES = ("departures", "weather_hourly")


class SampleOptions(StrictOptions):
    # In umwi.toml no start means the run's; `umwi ingest sample` has its own defaults.
    start: Annotated[
        date | None,
        Field(description="First UTC day, YYYY-MM-DD."),
        Cli(default="2026-01-05"),
    ] = None
    days: Annotated[
        int, Field(ge=1, le=3660, description="Days of the sample city."), Cli(default=28)
    ] = 30
    seed: Annotated[int, Field(description="Seed: the same seed gives the same city.")] = 7


class SampleSource(Source[SampleOptions]):
    name = "sample"
    options = SampleOptions
    help = "The offline synthetic sample city (departures and weather)."
    bronze = "sample"
    layout = Layout.ONE

    def stream(self, options: SampleOptions) -> str:
        return f"sample:{options.seed}"

    def default_range(self, options: SampleOptions) -> tuple[date, date] | None:
        if options.start is None:
            return None
        return options.start, options.start + timedelta(days=options.days)

    def fetch(
        self, options: SampleOptions, settings: Settings, lake: Lake, run_id: str, span: Span
    ) -> Batches:
        assert span.start is not None
        assert span.end is not None
        return generate_sample(
            lake=lake,
            run_id=run_id,
            start=span.start,
            days=(span.end - span.start).days,
            seed=options.seed,
        )

    def replay(self, lake: Lake, key: str, dataset: str, run_id: str) -> Iterable[StagedBatch]:
        if dataset not in _TABLES:
            raise SourceError(f"{key}: no parser for bronze {self.bronze}/{dataset}")
        table = pq.read_table(io.BytesIO(lake.read_bytes(key)))
        return [restage_sample(table, dataset, input_key=key)]
