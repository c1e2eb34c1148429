"""The default engine: an in-process DuckDB behind Ibis, reading Delta as Arrow datasets."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import ibis  # type: ignore[import-untyped]
import ibis.expr.types as ir  # type: ignore[import-untyped]
import pyarrow as pa
from ibis.backends.duckdb import Backend  # type: ignore[import-untyped]


def connect(memory_limit: str) -> Backend:
    """A fresh DuckDB whose session time zone is UTC (hours and months are UTC).

    `memory_limit` is `Settings.duckdb_memory_limit` (validated there); DuckDB spills
    beyond it instead of growing to its default of 80 % of the machine.
    """
    backend = ibis.duckdb.connect()
    raw = backend.con
    raw.execute("SET TimeZone = 'UTC'")
    raw.execute(f"SET memory_limit = '{memory_limit}'")
    # Hand freed memory back to the system early: a build's steps peak one after the
    # other, and memory kept from one step adds to the next one's peak.
    raw.execute("SET allocator_flush_threshold = '64MB'")
    spill = os.path.join(tempfile.gettempdir(), f"umwi-duckdb-{os.getpid()}")
    raw.execute(f"SET temp_directory = '{spill}'")
    return backend


def register(backend: Backend, name: str, data: Any) -> ir.Table:
    """Expose an Arrow table or dataset to Ibis without copying it."""
    backend.con.register(name, data)
    return backend.table(name)


def read_parquet_files(backend: Backend, name: str, files: list[str]) -> ir.Table:
    """Local Parquet files (a Delta table's active files) as a view DuckDB scans itself.

    DuckDB's own reader stays inside its memory limit and reads in parallel; an Arrow
    dataset scan buffers ahead outside it (at 10 M departures, ~0.4 GiB more at the peak).
    Only for local files: reading `s3://` would need DuckDB's httpfs extension, which
    cannot be downloaded here or in Lambda. delta-rs writes no deletion vectors, so the
    active files are the table.
    """
    listed = ", ".join("'" + file.replace("'", "''") + "'" for file in files)
    backend.con.execute(
        f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet([{listed}], '
        "union_by_name = true)"
    )
    return backend.table(name)


def to_arrow(expression: ir.Table) -> pa.Table:
    return expression.to_pyarrow()
