"""Every lake table as a read-only DuckDB view named `<layer>_<table>` (DESIGN.md §7).

Gold is read at the versions `gold/_published.json` names, so readers never see an
unpublished candidate. A local table is read by DuckDB's own Parquet reader; an `s3://` one
as a pyarrow dataset, which needs no DuckDB extension (none can be downloaded here or on
Lambda).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from umwi_core.contracts import SILVER_TABLES, WEATHER_FORECAST
from umwi_core.lake import Lake
from umwi_core.publication import GOLD_TABLES, read_publication

from umwi_transform._engine import sql_string


def table_key(layer: str, table: str) -> str:
    return f"{layer}/{table}"


def open_delta(lake: Lake, layer: str, table: str, version: int | None = None) -> DeltaTable | None:
    """The Delta table at `<lake>/<layer>/<table>` (at `version`), or None if absent."""
    uri = lake.uri(table_key(layer, table))
    # Not `DeltaTable.is_deltatable`: it holds the GIL during its request, which
    # deadlocks against an S3 endpoint served from the same process (moto in tests).
    try:
        return DeltaTable(uri, version=version, storage_options=lake.storage_options())
    except TableNotFoundError:
        return None


def local_parquet_scan(delta: DeltaTable | None) -> str | None:
    """`read_parquet([...])` over the table's active files when they are local files, else
    None (no table, no file yet, or `s3://`).

    DuckDB's own reader stays inside its memory limit and reads in parallel; an Arrow
    dataset scan buffers ahead outside it (at 10 M departures, ~0.4 GiB more at the peak).
    Reading `s3://` this way would need DuckDB's httpfs extension, which cannot be
    downloaded here or in Lambda. delta-rs writes no deletion vectors, so the active
    files are the table.
    """
    files = [] if delta is None else delta.file_uris()
    if not files or not all(Path(uri).is_absolute() for uri in files):
        return None
    listed = ", ".join(sql_string(file) for file in files)
    return f"read_parquet([{listed}], union_by_name = true)"


def arrow_scan(delta: DeltaTable) -> ds.Scanner:
    """The table as a pyarrow scanner, for a DuckDB that runs arbitrary SQL on it.

    Not the dataset itself: DuckDB pushes its filters (`=`, `<`, `IN`) into a dataset's
    Parquet scan, where Arrow compares them with each file's own string type. delta-rs's
    MERGE writes `string_view` while the Delta schema says `string`, and the scan fails
    (`Function 'equal' has no kernel matching input types (string, string_view)`); typed
    `string_view` instead, it fails on other kernels (`is_in`, `array_filter`). DuckDB
    reads a scanner's batches, already cast to the table's schema, through a scanner of
    its own, where its filters meet the types they were bound to. The price: no file or
    row-group pruning and no column projection at the source; each query reads the table.
    """
    return delta.to_pyarrow_dataset().scanner()


def scan_source(delta: DeltaTable | None, empty: pa.Table) -> str | pa.Table | ds.Dataset:
    """What a DuckDB reads for a Delta table: its `local_parquet_scan` (SQL) when local,
    else its Arrow dataset (to register), or `empty` when there is no table.

    For the build and the gate, whose own SQL filters only times and numbers: a dataset
    prunes files by those, but cannot take a string filter (`arrow_scan`).
    """
    scan = local_parquet_scan(delta)
    if scan is not None:
        return scan
    return empty if delta is None else delta.to_pyarrow_dataset()


def lake_tables(lake: Lake) -> dict[str, DeltaTable]:
    """Every existing lake table by view name: silver and quarantine at their latest
    version, gold at its published one."""
    tables: dict[str, DeltaTable] = {}
    for layer in ("silver", "quarantine"):
        for table in SILVER_TABLES:
            delta = open_delta(lake, layer, table)
            if delta is not None:
                tables[f"{layer}_{table}"] = delta
    forecast = open_delta(lake, "silver", WEATHER_FORECAST.name)
    if forecast is not None:
        tables[f"silver_{WEATHER_FORECAST.name}"] = forecast
    found = read_publication(lake)
    if found is not None:
        publication, _ = found
        for table in GOLD_TABLES:
            entry = publication.tables.get(table)
            if entry is None:
                continue
            delta = open_delta(lake, "gold", table, version=entry.version)
            if delta is not None:
                tables[f"gold_{table}"] = delta
    return tables


def register_lake_views(connection: duckdb.DuckDBPyConnection, lake: Lake) -> list[str]:
    """Register every existing lake table as a view; returns the view names.

    A local table's files are also put in `allowed_paths`, so its view still reads them
    once `enable_external_access` is off, and nothing else does.
    """
    files: list[str] = []
    tables = lake_tables(lake)
    for name, delta in tables.items():
        scan = local_parquet_scan(delta)
        if scan is None:
            connection.register(name, arrow_scan(delta))
        else:
            connection.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM {scan}')
            files.extend(delta.file_uris())
    if files:
        listed = ", ".join(sql_string(file) for file in files)
        connection.execute(f"SET allowed_paths = [{listed}]")
    return list(tables)


def open_read_only_catalog(lake: Lake) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """An in-memory DuckDB whose only data are the lake views, with file access disabled."""
    connection = duckdb.connect(":memory:")
    names = register_lake_views(connection, lake)
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
    return connection, names
