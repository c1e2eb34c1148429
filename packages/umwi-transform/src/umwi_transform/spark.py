"""The gold builders on Spark, through Ibis's PySpark backend (the optional `spark` group).

The DuckDB driver (`umwi_transform._gold`) and this one call the same
`umwi_transform.gold_expressions` builders; only the way data gets in and out differs.
Spark gets silver as the Parquet files of each Delta table's current version
(`DeltaTable.file_uris()`), because the delta-spark connector comes from Maven; on a real
cluster with delta-spark, `register_silver_frames` takes DataFrames read as Delta instead
(docs/scale-out.md). Results leave Spark as Arrow (`DataFrame.toArrow()`), never through
pandas, which would turn null floats into NaN.

This is always a full build: the incremental bookkeeping of `build_gold` is DuckDB's. A
gold table written by `write_candidates` is one the DuckDB driver did not write, so its
next build is a full rebuild (it notices the version change).

The same code runs on a classic session (local mode, a cluster's driver) and on a Spark
Connect client session (`remote_session`): it uses only the DataFrame and SQL API that
both offer, never `sparkContext`.

pyspark is imported only inside functions, so importing this module needs no Spark.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis  # type: ignore[import-untyped]
import ibis.expr.types as ir  # type: ignore[import-untyped]
import pyarrow as pa
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import DEPARTURES, HISTORY_TABLES, WEATHER_HOURLY
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.settings import Settings

from umwi_transform import _gold_exprs as gx
from umwi_transform import _outlook as ox
from umwi_transform._gold import GoldCandidate, _candidate, _write
from umwi_transform._schemas import conform
from umwi_transform._sensitivity import line_sensitivity
from umwi_transform._stats import correlation_table
from umwi_transform.catalog import open_delta

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "SparkGold",
    "build_candidates",
    "build_gold_spark",
    "build_gold_tables",
    "connect",
    "local_session",
    "register_silver",
    "register_silver_frames",
    "remote_session",
    "write_candidates",
]

log = logging.getLogger("umwi.transform.spark")

_CONTRACTS = {"departures": DEPARTURES, "weather_hourly": WEATHER_HOURLY}


@dataclass(frozen=True)
class SparkGold:
    """The gold tables (gold schemas, Arrow) and how long each step took."""

    tables: dict[str, pa.Table]
    seconds: dict[str, float]


def local_session(
    work_dir: Path | None = None, *, cores: int = 2, memory: str = "4g"
) -> SparkSession:
    """A Spark local-mode session configured as the builders need it.

    UTC session time zone (hours, months and weekdays are UTC by contract), no UI, a few
    shuffle partitions (the default 200 is for clusters), the driver's heap `memory`
    (`UMWI_SPARK_DRIVER_MEMORY`; it only applies when this process starts its JVM), and
    the warehouse and Derby metastore under `work_dir` (a fresh temporary folder when
    None) so nothing lands in the working directory.
    """
    from pyspark.sql import SparkSession

    # pyspark marks the whole process as Spark Connect once any Connect session was made
    # (SPARK_CONNECT_MODE_ENABLED, never unset), after which the classic builder below
    # would ask for a Connect URL; a local session is classic by definition.
    os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
    base = Path(tempfile.mkdtemp(prefix="umwi-spark-")) if work_dir is None else work_dir
    base.mkdir(parents=True, exist_ok=True)
    builder: Any = SparkSession.builder
    return (  # type: ignore[no-any-return]
        builder.master(f"local[{cores}]")
        .appName("umwi-gold")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(2 * cores))
        # Let adaptive execution merge small shuffle partitions by size: the correlation
        # step unions 48 (lag, variable, y kind) branches, and one task per partition
        # per branch costs more than the work itself on small data.
        .config("spark.sql.adaptive.coalescePartitions.parallelismFirst", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={base / 'derby'}")
        .getOrCreate()
    )


def remote_session(url: str) -> SparkSession:
    """A Spark Connect client session on the server at `url` (`sc://host:port`), in UTC.

    The session time zone is a setting of this client's session only, so it is set here
    rather than required of the server.
    """
    from pyspark.sql import SparkSession

    builder: Any = SparkSession.builder
    session: SparkSession = builder.remote(url).appName("umwi-gold").getOrCreate()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return session


def connect(session: SparkSession) -> Any:
    """An Ibis PySpark backend on `session`; refuses a session whose time zone is not UTC."""
    zone = session.conf.get("spark.sql.session.timeZone")
    if zone not in ("UTC", "Etc/UTC", "+00:00", "Z"):
        raise InputError(
            f"spark.sql.session.timeZone is {zone!r}; the gold builders need 'UTC' "
            "(hours, months and weekdays are UTC by contract)"
        )
    return ibis.pyspark.connect(session)


def register_silver(
    backend: Any, lake: Lake, versions: Mapping[str, int] | None = None
) -> tuple[ir.Table, ir.Table]:
    """Silver departures and weather as Spark views over their current Parquet files.

    `versions` pins a Delta version per table (the latest when absent). A table that does
    not exist yet is an empty one of the contract's schema.
    """
    session = backend._session
    frames: dict[str, DataFrame] = {}
    for table in _CONTRACTS:
        delta = open_delta(lake, "silver", table, (versions or {}).get(table))
        files = [] if delta is None else delta.file_uris()
        if files:
            frames[table] = session.read.parquet(*[_spark_path(f) for f in files])
        else:
            # Made from the schema on the client: a Connect server sees none of its files.
            frames[table] = session.createDataFrame(arrow_schema(_CONTRACTS[table]).empty_table())
    return register_silver_frames(backend, frames["departures"], frames["weather_hourly"])


_S3_SCHEME = re.compile(r"^s3://")


def _spark_path(uri: str) -> str:
    # Hadoop's S3 filesystem answers to s3a://; deltalake names objects s3://. A renaming
    # of the scheme, not a choice of environment: local paths pass unchanged.
    return _S3_SCHEME.sub("s3a://", uri)


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


class _Cache:
    """Intermediate results kept in Spark's memory as temporary views, released together.

    Ibis's PySpark backend cannot create temporary tables, and Spark recomputes a
    DataFrame each time a query uses it: the builders' outputs feed later builders, so
    each is computed once, cached, and read from there.
    """

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.frames: dict[str, DataFrame] = {}

    def keep(self, name: str, expression: ir.Table) -> tuple[ir.Table, DataFrame]:
        session = self.backend._session
        # A union has the partitions of all its branches (correlation_pairs has 48):
        # merging them without a shuffle saves hundreds of tiny tasks downstream.
        # `create_view` also registers the expression's in-memory tables (memtables).
        self.backend.create_view(f"{name}_query", expression, overwrite=True)
        # The shuffle partition count stands for the parallelism: Spark Connect has no
        # `sparkContext.defaultParallelism`, and both are set per cluster anyway.
        partitions = int(session.conf.get("spark.sql.shuffle.partitions"))
        frame = session.table(f"{name}_query").coalesce(partitions).cache()
        frame.createOrReplaceTempView(name)
        self.frames[name] = frame
        return self.backend.table(name), frame

    def release(self) -> None:
        # Unpersist first: on Spark Connect a frame is a plan naming its view, resolved
        # again by the server when it is unpersisted.
        for frame in self.frames.values():
            frame.unpersist()
        for name in self.frames:
            self.backend._session.catalog.dropTempView(name)
            self.backend._session.catalog.dropTempView(f"{name}_query")
        self.frames.clear()


def _to_arrow(frame: DataFrame) -> pa.Table:
    """Collect through Arrow; `toArrow` is Spark 4, EMR 7 ships Spark 3.5."""
    collect: Any = getattr(type(frame), "toArrow", None)
    if collect is not None:
        return pa.table(collect(frame))
    from pyspark.sql.pandas.types import to_arrow_schema

    # Spark 3.5's own route to `toPandas(arrow)`; one batch per partition.
    batches: Any = type(frame)._collect_as_arrow(frame)  # type: ignore[attr-defined]
    return pa.Table.from_batches(batches, schema=to_arrow_schema(frame.schema))


def build_gold_tables(
    backend: Any, departures: ir.Table, weather: ir.Table, settings: Settings
) -> SparkGold:
    """The gold tables, built in full by the shared builders on `backend`."""
    seconds: dict[str, float] = {}
    raw: dict[str, pa.Table] = {}
    cache = _Cache(backend)
    try:
        started = time.perf_counter()
        stops = gx.stop_locations(departures, weather, settings.max_weather_distance_km)
        enriched = gx.departures_with_weather(
            departures,
            weather,
            stops,
            on_time_threshold_s=settings.on_time_threshold_s,
            early_tolerance_s=settings.early_tolerance_s,
        )
        punctuality, frame = cache.keep("umwi_punctuality", gx.punctuality_hourly(enriched))
        raw["punctuality_hourly"] = _to_arrow(frame)
        seconds["punctuality_hourly"] = time.perf_counter() - started

        started = time.perf_counter()
        mobility, frame = cache.keep(
            "umwi_mobility", gx.mobility_weather_hourly(punctuality, weather)
        )
        raw["mobility_weather_hourly"] = _to_arrow(frame)
        seconds["mobility_weather_hourly"] = time.perf_counter() - started

        started = time.perf_counter()
        _, frame = cache.keep("umwi_impact", gx.weather_impact(punctuality, mobility, None))
        raw["weather_impact"] = _to_arrow(frame)
        seconds["weather_impact"] = time.perf_counter() - started

        started = time.perf_counter()
        _, frame = cache.keep("umwi_sensitivity_days", gx.sensitivity_days(mobility))
        # One row per line and day: the day-clustered statistics finish on the driver.
        raw["line_sensitivity"] = line_sensitivity(
            _to_arrow(frame), settings.sensitivity_min_wet_hours
        )
        seconds["line_sensitivity"] = time.perf_counter() - started

        started = time.perf_counter()
        pairs, _ = cache.keep("umwi_pairs", gx.correlation_pairs(mobility, weather))
        _, frame = cache.keep("umwi_sums", gx.correlation_sums_of(pairs))
        # One row per (network, line, period, variable, lag, y kind): small enough to
        # finish the closed-form statistics on the driver.
        raw["correlation"] = correlation_table(_to_arrow(frame))
        seconds["correlation"] = time.perf_counter() - started

        # The outlook's model (DESIGN.md §8); `outlook_hourly` needs a forecast and is
        # built by `build_outlook` from the published model.
        started = time.perf_counter()
        baseline, frame = cache.keep("umwi_baseline", ox.outlook_baseline(mobility))
        raw["outlook_baseline"] = _to_arrow(frame)
        _, frame = cache.keep(
            "umwi_effects",
            ox.outlook_class_effect(mobility, baseline, settings.outlook_shrinkage_hours),
        )
        raw["outlook_class_effect"] = _to_arrow(frame)
        seconds["outlook model"] = time.perf_counter() - started
    finally:
        cache.release()
    return SparkGold({name: conform(raw[name], name) for name in HISTORY_TABLES}, seconds)


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
        for table in HISTORY_TABLES
    }


def _session_for(settings: Settings) -> tuple[SparkSession, bool]:
    """The session the `spark` engine builds on, and whether this build owns it.

    Spark Connect when `UMWI_SPARK_REMOTE` is set (a client session, closed after the
    build); otherwise local mode, unless this process already runs a classic session.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "UMWI_ENGINE=spark needs pyspark: `uv sync --group spark` (local mode or a "
            "Connect client), or `--group spark-client` with UMWI_SPARK_REMOTE"
        ) from None
    if settings.spark_remote is not None:
        return remote_session(settings.spark_remote), True
    if SparkSession.getActiveSession() is not None:
        return SparkSession.builder.getOrCreate(), False
    if importlib.util.find_spec("pyspark.core") is None:  # the thin pyspark-client
        raise InputError(
            "UMWI_SPARK_REMOTE is unset and this pyspark is the Connect client only: "
            "set UMWI_SPARK_REMOTE=sc://host:port or install the spark group for local mode"
        )
    work_dir = settings.state_dir.expanduser().resolve() / "spark"
    return local_session(work_dir, memory=settings.spark_driver_memory), True


def build_candidates(lake: Lake, settings: Settings, run_id: str) -> dict[str, GoldCandidate]:
    """What `umwi build --engine spark` runs: every gold table built on Spark in full and
    committed as gold candidates for the quality gate (the DuckDB engine's contract)."""
    session, owned = _session_for(settings)
    where = settings.spark_remote or "local mode"
    try:
        log.info("gold: full build on Spark (%s), run %s", where, run_id)
        gold = build_gold_spark(session, lake, settings)
    finally:
        if owned:
            session.stop()
    log.info("gold steps on Spark: %s", {k: round(v, 1) for k, v in gold.seconds.items()})
    return write_candidates(lake, gold)
