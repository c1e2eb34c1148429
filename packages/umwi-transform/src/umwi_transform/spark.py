"""The gold builders on Spark, through Ibis's PySpark backend (the optional `spark` group).

The DuckDB driver (`umwi_transform._gold`) and this one call the same
`umwi_transform.gold_expressions` builders; only the way data gets in and out differs.
Spark gets silver as the Parquet files of each Delta table's current version
(`DeltaTable.file_uris()`), because the delta-spark connector comes from Maven; on a real
cluster with delta-spark, `register_silver_frames` takes DataFrames read as Delta instead
(docs/scale-out.md). Results leave Spark through `DataFrame.toArrow()`, never through
pandas, which would turn null floats into NaN.

This is always a full build: the incremental bookkeeping of `build_gold` is DuckDB's. A
gold table written by `write_candidates` is one the DuckDB driver did not write, so its
next build is a full rebuild (it notices the version change).

pyspark is imported only inside functions, so importing this module needs no Spark.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis  # type: ignore[import-untyped]
import ibis.expr.types as ir  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.parquet as pq
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import DEPARTURES, WEATHER_HOURLY
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.publication import GOLD_TABLES
from umwi_core.settings import Settings

from umwi_transform import _gold_exprs as gx
from umwi_transform._gold import GoldCandidate, _candidate, _write
from umwi_transform._schemas import conform
from umwi_transform._stats import correlation_table
from umwi_transform.catalog import open_delta

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "SparkGold",
    "build_gold_spark",
    "build_gold_tables",
    "connect",
    "local_session",
    "register_silver",
    "register_silver_frames",
    "write_candidates",
]

_CONTRACTS = {"departures": DEPARTURES, "weather_hourly": WEATHER_HOURLY}


@dataclass(frozen=True)
class SparkGold:
    """The four gold tables (gold schemas, Arrow) and how long each step took."""

    tables: dict[str, pa.Table]
    seconds: dict[str, float]


def local_session(work_dir: Path | None = None, *, cores: int = 2) -> SparkSession:
    """A Spark local-mode session configured as the builders need it.

    UTC session time zone (hours, months and weekdays are UTC by contract), no UI, a few
    shuffle partitions (the default 200 is for clusters), and the warehouse and Derby
    metastore under `work_dir` (a fresh temporary folder when None) so nothing lands in
    the working directory.
    """
    from pyspark.sql import SparkSession

    base = Path(tempfile.mkdtemp(prefix="umwi-spark-")) if work_dir is None else work_dir
    base.mkdir(parents=True, exist_ok=True)
    builder: Any = SparkSession.builder
    return (  # type: ignore[no-any-return]
        builder.master(f"local[{cores}]")
        .appName("umwi-gold")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(2 * cores))
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={base / 'derby'}")
        .getOrCreate()
    )


def connect(session: SparkSession) -> Any:
    """An Ibis PySpark backend on `session`; refuses a session whose time zone is not UTC."""
    zone = session.conf.get("spark.sql.session.timeZone")
    if zone not in ("UTC", "Etc/UTC", "+00:00", "Z"):
        raise InputError(
            f"spark.sql.session.timeZone is {zone!r}; the gold builders need 'UTC' "
            "(hours, months and weekdays are UTC by contract)"
        )
    return ibis.pyspark.connect(session)


def _empty_parquet(table: str, folder: Path) -> str:
    path = folder / f"empty-{table}.parquet"
    pq.write_table(arrow_schema(_CONTRACTS[table]).empty_table(), path)
    return str(path)


def register_silver(
    backend: Any, lake: Lake, versions: Mapping[str, int] | None = None
) -> tuple[ir.Table, ir.Table]:
    """Silver departures and weather as Spark views over their current Parquet files.

    `versions` pins a Delta version per table (the latest when absent). A table that does
    not exist yet is an empty one of the contract's schema.
    """
    session = backend._session
    frames: dict[str, DataFrame] = {}
    scratch: Path | None = None
    for table in _CONTRACTS:
        delta = open_delta(lake, "silver", table, (versions or {}).get(table))
        files = [] if delta is None else delta.file_uris()
        if not files:
            scratch = scratch or Path(tempfile.mkdtemp(prefix="umwi-spark-empty-"))
            files = [_empty_parquet(table, scratch)]
        frames[table] = session.read.parquet(*[_spark_path(f) for f in files])
    return register_silver_frames(backend, frames["departures"], frames["weather_hourly"])


def _spark_path(uri: str) -> str:
    # Hadoop's S3 filesystem answers to s3a://; deltalake names objects s3://.
    return "s3a://" + uri.removeprefix("s3://") if uri.startswith("s3://") else uri


def register_silver_frames(
    backend: Any, departures: DataFrame, weather: DataFrame
) -> tuple[ir.Table, ir.Table]:
    """Silver as Ibis tables from Spark DataFrames (e.g. `spark.read.format("delta")`)."""
    for name, frame, contract in (
        ("silver_departures", departures, DEPARTURES),
        ("silver_weather_hourly", weather, WEATHER_HOURLY),
    ):
        missing = [c for c in arrow_schema(contract).names if c not in frame.columns]
        if missing:
            raise InputError(f"{name}: the Spark DataFrame lacks column(s) {', '.join(missing)}")
        frame.createOrReplaceTempView(name)
    return backend.table("silver_departures"), backend.table("silver_weather_hourly")


def _materialise(backend: Any, name: str, expression: ir.Table) -> tuple[ir.Table, pa.Table]:
    """Run `expression` once on Spark, keep it cached as view `name`, and collect it."""
    frame = backend._session.sql(backend.compile(expression)).cache()
    frame.createOrReplaceTempView(name)
    return backend.table(name), frame.toArrow()


def build_gold_tables(
    backend: Any, departures: ir.Table, weather: ir.Table, settings: Settings
) -> SparkGold:
    """The four gold tables, built in full by the shared builders on `backend`."""
    seconds: dict[str, float] = {}

    def timed(step: str, started: datetime) -> None:
        seconds[step] = (datetime.now(UTC) - started).total_seconds()

    started = datetime.now(UTC)
    stops = gx.stop_locations(departures, weather, settings.max_weather_distance_km)
    enriched = gx.departures_with_weather(
        departures,
        weather,
        stops,
        on_time_threshold_s=settings.on_time_threshold_s,
        early_tolerance_s=settings.early_tolerance_s,
    )
    punctuality, punctuality_arrow = _materialise(
        backend, "gold_punctuality", gx.punctuality_hourly(enriched)
    )
    timed("punctuality_hourly", started)
    started = datetime.now(UTC)
    mobility, mobility_arrow = _materialise(
        backend, "gold_mobility", gx.mobility_weather_hourly(punctuality, weather)
    )
    timed("mobility_weather_hourly", started)
    started = datetime.now(UTC)
    _, impact_arrow = _materialise(
        backend, "gold_impact", gx.weather_impact(punctuality, mobility, None)
    )
    timed("weather_impact", started)
    started = datetime.now(UTC)
    # The sums are one row per (network, line, period, variable, lag, y kind): small
    # enough to finish the closed-form statistics on the driver.
    _, sums = _materialise(backend, "gold_correlation_sums", gx.correlation_sums(mobility, weather))
    correlation = correlation_table(sums)
    timed("correlation", started)
    for name in ("gold_punctuality", "gold_mobility", "gold_impact", "gold_correlation_sums"):
        backend._session.catalog.dropTempView(name)
    raw = {
        "punctuality_hourly": punctuality_arrow,
        "mobility_weather_hourly": mobility_arrow,
        "weather_impact": impact_arrow,
        "correlation": correlation,
    }
    return SparkGold({name: conform(raw[name], name) for name in GOLD_TABLES}, seconds)


def build_gold_spark(
    session: SparkSession,
    lake: Lake,
    settings: Settings,
    versions: Mapping[str, int] | None = None,
) -> SparkGold:
    """Read silver from the lake into Spark and build every gold table there."""
    backend = connect(session)
    departures, weather = register_silver(backend, lake, versions)
    return build_gold_tables(backend, departures, weather, settings)


def write_candidates(lake: Lake, gold: SparkGold) -> dict[str, GoldCandidate]:
    """Commit the tables as new gold Delta versions, ready for the quality gate."""
    now = datetime.now(UTC)
    return {
        table: _candidate(table, _write(lake, table, gold.tables[table], None), True, now)
        for table in GOLD_TABLES
    }
