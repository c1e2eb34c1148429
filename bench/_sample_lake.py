"""The sample city in a fresh lake, and a Spark build beside DuckDB's: shared by the
benchmark scripts that compare them (`scale_benchmark.py`, `engine_benchmark.py`)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from umwi_core.lake import Lake
    from umwi_core.settings import Settings

START = date(2020, 1, 6)


def ingest_sample(folder: Path, size: int, run_id: str) -> tuple[Settings, Lake, int]:
    """A lake under `folder` with about `size` sample departures ingested: its settings,
    the lake and the departures read."""
    from umwi_connectors import generate_sample
    from umwi_core.resources import make_lake
    from umwi_core.settings import load_settings
    from umwi_transform import ingest_batches

    settings = load_settings(state_dir=folder / "state")
    lake = make_lake(settings)
    batches = generate_sample(lake=lake, run_id=run_id, start=START, target_departures=size)
    manifest = ingest_batches(
        batches, lake, settings, run_id, source="sample", parameters={"size": size}
    )
    return settings, lake, manifest.counts["departures"].read


def spark_build(
    session: Any, lake: Lake, settings: Settings, duckdb_rows: dict[str, int]
) -> dict[str, Any]:
    """The Spark gold build on `session`: its seconds, each step's, and whether every table
    it makes has DuckDB's row count. The history build on Spark leaves out
    `outlook_hourly`, which the outlook flow builds (DESIGN.md §8)."""
    from umwi_transform import spark as umwi_spark

    started = time.perf_counter()
    gold = umwi_spark.build_gold_spark(session, lake, settings)
    seconds = time.perf_counter() - started
    agree = bool(gold.tables) and all(
        table.num_rows == duckdb_rows[name] for name, table in gold.tables.items()
    )
    return {"build_s": seconds, "steps_s": gold.seconds, "rows_agree": agree}
