"""One in-memory DuckDB that every engine reads: the lake tables registered as views.

Great Expectations reaches it through SQLAlchemy (duckdb-engine) and Soda through the raw
DuckDB connection. Both must share ONE connection: views over registered Arrow datasets
exist only on the connection that registered them, and GE's SQLAlchemy engine loses query
results on a pooled duckdb connection (every metric fails with IndexError), hence the
`StaticPool`. Delta tables enter as pyarrow datasets; the tables every check scans (the
batch, the candidates) are loaded once into DuckDB's own columnar storage, in a temporary
database file so memory stays bounded: a pyarrow dataset is re-read and decoded on every
scan (from S3, every GET again), and the suites scan each table some hundred times. Nothing
is copied into pandas.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import SILVER_TABLES
from umwi_core.lake import Lake
from umwi_transform import GOLD_SCHEMAS, open_delta
from umwi_transform.catalog import scan_source


def sql_timestamp(moment: datetime) -> str:
    """A UTC timestamp literal; built from a datetime, never from user text."""
    return f"TIMESTAMPTZ '{moment.isoformat()}'"


@dataclass
class Workspace:
    """The shared connection and the names of the views registered on it."""

    engine: sa.Engine
    connection: Any  # duckdb_engine's wrapper around the one DuckDBPyConnection
    folder: tempfile.TemporaryDirectory[str] | None = None
    views: dict[str, int] = field(default_factory=dict)  # view name -> rows
    since: datetime | None = None

    @classmethod
    def open(cls, memory_limit: str) -> Workspace:
        """`memory_limit` is `Settings.duckdb_memory_limit`: beyond it DuckDB spills."""
        folder = tempfile.TemporaryDirectory(prefix="umwi-quality-")
        database = Path(folder.name) / "workspace.duckdb"
        engine = sa.create_engine(f"duckdb:///{database}", poolclass=StaticPool)
        connection: Any = engine.raw_connection().driver_connection
        connection.execute("SET enable_progress_bar = false")
        connection.execute(f"SET memory_limit = '{memory_limit}'")
        connection.execute(f"SET temp_directory = '{Path(folder.name) / 'spill'}'")
        connection.execute("SET preserve_insertion_order = false")
        return cls(engine=engine, connection=connection, folder=folder)

    def close(self) -> None:
        self.engine.dispose()
        if self.folder is not None:
            self.folder.cleanup()

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self.connection.execute(query).fetchall()
        return rows

    def scalar(self, query: str) -> Any:
        rows = self.sql(query)
        return rows[0][0] if rows else None

    def register(
        self, view: str, data: Any, where: str | None = None, *, load: bool = False
    ) -> None:
        """`data` (an Arrow table or dataset, or a `scan_source` SQL scan) as `main.<view>`:
        a view, or with `load` a table loaded once.

        In `main` (not DuckDB's replacement scan) so that Soda's and GE's
        information_schema lookups see its columns and types.
        """
        source = f"_arrow_{view}"
        if isinstance(data, str):
            scan = data
        else:
            self.connection.register(source, data)
            scan = f'"{source}"'
        condition = f" WHERE {where}" if where else ""
        kind = "TABLE" if load else "VIEW"
        self.connection.execute(f'DROP VIEW IF EXISTS main."{view}"')
        self.connection.execute(f'DROP TABLE IF EXISTS main."{view}"')
        self.connection.execute(f'CREATE {kind} main."{view}" AS SELECT * FROM {scan}{condition}')
        if load and not isinstance(data, str):
            self.connection.unregister(source)
        self.views[view] = int(self.scalar(f'SELECT count(*) FROM main."{view}"'))

    def columns(self, view: str) -> list[tuple[str, str]]:
        return [
            (str(name), str(kind))
            for name, kind in self.sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_schema = 'main' AND table_name = '{view}' ORDER BY ordinal_position"
            )
        ]


#: The event time of each silver table.
EVENT_COLUMNS = {"departures": "scheduled_at", "weather_hourly": "hour"}


def register_silver(
    workspace: Workspace,
    lake: Lake,
    since: datetime | None,
    *,
    whole: bool,
    history_days: int | None = None,
    also_from: datetime | None = None,
) -> None:
    """`silver_<t>` (the batch: rows ingested after `since`, or everything when `whole`),
    `silver_<t>_all` (the history the checks compare with) and `quarantine_<t>` (the
    batch's rejects).

    With `history_days`, `silver_<t>_all` holds only the rows whose event time is at most
    that many days (and one more) before the earliest of the batch's event times and
    `also_from` (the earliest gold hour being checked): all a check reads, so a daily gate
    does not scan years of silver. The tables' files are written in time windows, so
    DuckDB skips the others by their statistics.
    """
    workspace.since = since
    batch_filter = None if whole or since is None else f"ingested_at > {sql_timestamp(since)}"
    sources = {}
    for table, contract in SILVER_TABLES.items():
        delta = open_delta(lake, "silver", table)
        sources[table] = scan_source(delta, arrow_schema(contract).empty_table())
        workspace.register(f"silver_{table}", sources[table], batch_filter, load=True)
    history = None
    if history_days is not None and batch_filter is not None:
        found = [
            workspace.scalar(f'SELECT min({EVENT_COLUMNS[table]}) FROM main."silver_{table}"')
            for table in SILVER_TABLES
        ]
        earliest = min(
            (moment for moment in [*found, also_from] if moment is not None), default=None
        )
        if earliest is not None:
            history = earliest - timedelta(days=history_days + 1)
    for table in SILVER_TABLES:
        column = EVENT_COLUMNS[table]
        where = None if history is None else f"{column} >= {sql_timestamp(history)}"
        workspace.register(f"silver_{table}_all", sources[table], where)
    no_rejects = pa.table(
        {
            "source": pa.array([], pa.string()),
            "ingested_at": pa.array([], pa.timestamp("us", tz="UTC")),
            "reason_code": pa.array([], pa.string()),
        }
    )
    for table in SILVER_TABLES:
        rejects = scan_source(open_delta(lake, "quarantine", table), no_rejects)
        workspace.register(f"quarantine_{table}", rejects, batch_filter)


def register_gold(
    workspace: Workspace,
    lake: Lake,
    versions: dict[str, int],
    scopes: dict[str, str] | None = None,
) -> list[str]:
    """`gold_<t>` at the given Delta versions, cut to `scopes[t]` (a SQL predicate) where
    given; returns the registered view names."""
    names: list[str] = []
    for table, version in versions.items():
        delta = open_delta(lake, "gold", table, version=version)
        data: Any = (
            GOLD_SCHEMAS[table].empty_table() if delta is None else delta.to_pyarrow_dataset()
        )
        workspace.register(f"gold_{table}", data, (scopes or {}).get(table), load=True)
        names.append(f"gold_{table}")
    return names
