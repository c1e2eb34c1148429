"""`file`: departures and/or weather from CSV or Parquet files with the canonical columns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import pyarrow as pa
from pydantic import Field, model_validator
from umwi_core import Lake, Settings, SourceError
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze import read_meta
from umwi_connectors._files import FileSpec, read_departures_file, read_weather_file, stage_file
from umwi_connectors._input_windows import digest, file_digest
from umwi_connectors._source import Batches, Source, Span, Windowing
from umwi_connectors._sources._strict import StrictOptions
from umwi_connectors._sources.meta import meta_text

__all__ = ["FileOptions", "FileSource"]

_TABLES = ("departures", "weather_hourly")


class FileOptions(StrictOptions):
    departures: Annotated[Path | None, Field(description="CSV or Parquet.")] = None
    weather: Annotated[Path | None, Field(description="CSV or Parquet.")] = None
    network: Annotated[
        str | None, Field(description="Needed when the departures file has no network column.")
    ] = None
    timezone: Annotated[
        str | None,
        Field(description="Zone of times written without an offset, e.g. Europe/Paris."),
    ] = None

    @model_validator(mode="after")
    def _something(self) -> FileOptions:
        if self.departures is None and self.weather is None:
            raise ValueError("give departures, weather or both")
        return self


class FileSource(Source[FileOptions]):
    name = "file"
    options = FileOptions
    help = "Departures and/or weather from files with the canonical column names."
    bronze = "file"
    windowing = Windowing.INPUTS

    def stream(self, options: FileOptions) -> str:
        return "file"

    def input_window(self, options: FileOptions, now: datetime) -> str:
        digests: list[bytes | str] = []
        for option in ("departures", "weather"):
            path = getattr(options, option)
            digests.append(file_digest(path, f"--{option}") if path is not None else "-")
        digests += [options.network or "-", options.timezone or "-"]
        return digest(*digests)

    def fetch(
        self, options: FileOptions, settings: Settings, lake: Lake, run_id: str, span: Span
    ) -> Batches:
        def batches() -> Iterator[StagedBatch]:
            if options.weather is not None:
                yield from read_weather_file(
                    options.weather, lake=lake, run_id=run_id, timezone=options.timezone
                )
            if options.departures is not None:
                yield from read_departures_file(
                    options.departures,
                    lake=lake,
                    run_id=run_id,
                    network=options.network,
                    timezone=options.timezone,
                )

        return batches()

    def replay(self, lake: Lake, key: str, dataset: str, run_id: str) -> Iterable[StagedBatch]:
        if dataset not in _TABLES:
            raise SourceError(f"{key}: no parser for bronze {self.bronze}/{dataset}")
        meta = read_meta(lake, key)
        ingested = meta_text(meta, "ingested_at", key)
        spec = FileSpec(
            table=dataset,
            fmt="parquet" if key.endswith(".parquet") else "csv",
            network=meta_text(meta, "network", key),
            timezone=meta_text(meta, "timezone", key),
            # The landing time, so rows whose as_of was filled in replay to the same as_of.
            ingested_at=(
                datetime.fromisoformat(ingested) if ingested else datetime.now().astimezone()
            ),
        )
        source: pa.NativeFile = pa.BufferReader(lake.read_bytes(key))
        if key.endswith(".gz"):
            source = pa.CompressedInputStream(source, "gzip")
        return stage_file(source, spec, run_id=run_id, input_key=key)
