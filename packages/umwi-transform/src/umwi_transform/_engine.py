"""The default engine: an in-process DuckDB behind Ibis, reading Delta as Arrow datasets."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import ibis  # type: ignore[import-untyped]
import ibis.expr.types as ir  # type: ignore[import-untyped]
import pyarrow as pa
from ibis.backends.duckdb import Backend  # type: ignore[import-untyped]


def configure(connection: duckdb.DuckDBPyConnection, memory_limit: str, spill: Path) -> None:
    """UTC sessions (hours and months are UTC), bounded memory, spilling into `spill`.

    `memory_limit` is `Settings.duckdb_memory_limit` (validated there); DuckDB spills
    beyond it instead of growing to its default of 80 % of the machine.
    """
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"SET memory_limit = '{memory_limit}'")
    # Hand freed memory back to the system early: a run's steps peak one after the
    # other, and memory kept from one step adds to the next one's peak.
    connection.execute("SET allocator_flush_threshold = '64MB'")
    connection.execute(f"SET temp_directory = {sql_string(str(spill))}")


def release_arrow_memory() -> None:
    """Hand the memory Arrow's pool kept from freed buffers back to the system.

    The pool keeps freed pages for reuse, and a run's steps peak one after the other: at
    10 M departures the pages left by reading and staging the input (~0.35 GiB) otherwise
    add to the deduplication's peak. Called between steps, never in a loop.
    """
    pa.default_memory_pool().release_unused()


def sql_string(text: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def connect(memory_limit: str) -> Backend:
    """A fresh Ibis DuckDB backend, `configure`d."""
    backend = ibis.duckdb.connect()
    spill = Path(tempfile.gettempdir()) / f"umwi-duckdb-{os.getpid()}"
    configure(backend.con, memory_limit, spill)
    return backend


def register(backend: Backend, name: str, data: Any) -> ir.Table:
    """Expose an Arrow table or dataset to Ibis without copying it."""
    backend.con.register(name, data)
    return backend.table(name)


def register_scan(backend: Backend, name: str, scan: str) -> ir.Table:
    """A view over a DuckDB table function (`catalog.local_parquet_scan`)."""
    backend.con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM {scan}')
    return backend.table(name)


def to_arrow(expression: ir.Table) -> pa.Table:
    return expression.to_pyarrow()
