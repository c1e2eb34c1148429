"""MERGE checked, deduplicated rows into `silver/<table>` and `quarantine/<table>`
(DESIGN.md §3); `_loader` decides what reaches these merges and in which windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import LINEAGE_COLUMNS, SILVER_TABLES, TableContract
from umwi_core.lake import Lake
from umwi_core.runs import TableCounts

from umwi_transform._delta import ensure_table, read_table, with_commit_retry
from umwi_transform._rules import QUARANTINE_SCHEMA

#: [start, end) on the table's time column: every row of a MERGE lies inside it.
Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class _Plan:
    rows: pa.Table  # to insert or replace
    unchanged: int
    stale: int  # older than the stored record


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def time_column(contract: TableContract) -> str:
    return "scheduled_at" if contract.name == "departures" else "hour"


def _literal(moment: datetime) -> str:
    """A timestamp literal built from a datetime, never from user text."""
    return f"'{moment.isoformat()}'"


def _plan(lake: Lake, contract: TableContract, batch: pa.Table, window: Window) -> _Plan:
    """Classify each row against the stored row with the same key."""
    delta = ensure_table(lake, "silver", contract.name, arrow_schema(contract), change_feed=True)
    column = quote(time_column(contract))
    values = [c for c in contract.column_names if c not in (*LINEAGE_COLUMNS, *contract.key)]
    same = " AND ".join(f"b.{quote(c)} IS NOT DISTINCT FROM s.{quote(c)}" for c in values)
    join = " AND ".join(f"b.{quote(k)} = s.{quote(k)}" for k in contract.key)
    start, end = window
    with duckdb.connect(":memory:") as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("batch", batch)
        connection.register("stored_all", delta.to_pyarrow_dataset())
        # Literal bounds reach the Arrow scan, which then skips files and row groups whose
        # statistics lie outside the window.
        connection.execute(
            f"CREATE TEMP VIEW stored AS SELECT * FROM stored_all WHERE {column} >= "
            f"TIMESTAMPTZ {_literal(start)} AND {column} < TIMESTAMPTZ {_literal(end)}"
        )
        connection.execute(
            f"CREATE TEMP TABLE judged AS SELECT b.*, CASE "
            f"WHEN s.as_of IS NULL THEN 'insert' "
            f"WHEN b.as_of < s.as_of THEN 'stale' "
            f"WHEN {same} THEN 'unchanged' ELSE 'replace' END AS _verdict "
            f"FROM batch b LEFT JOIN stored s ON {join}"
        )
        counts = dict(
            connection.execute("SELECT _verdict, count(*) FROM judged GROUP BY 1").fetchall()
        )
        columns = ", ".join(quote(c) for c in contract.column_names)
        rows = connection.execute(
            f"SELECT {columns} FROM judged WHERE _verdict IN ('insert', 'replace')"
        ).to_arrow_table()
    return _Plan(
        rows=rows.cast(arrow_schema(contract)),
        unchanged=int(counts.get("unchanged", 0)),
        stale=int(counts.get("stale", 0)),
    )


def merge_silver(
    lake: Lake, contract: TableContract, rows: pa.Table, window: Window
) -> TableCounts:
    """MERGE rows with unique keys, all inside `window`, into silver.

    The window's literal bounds let delta-rs prune the target's files by their statistics;
    without them every MERGE scans the whole table and ingestion grows quadratically with
    history.
    """
    start, end = window
    column = quote(time_column(contract))

    def attempt() -> TableCounts:
        plan = _plan(lake, contract, rows, window)
        if plan.rows.num_rows == 0:
            return TableCounts(unchanged=plan.unchanged, superseded=plan.stale)
        delta = ensure_table(
            lake, "silver", contract.name, arrow_schema(contract), change_feed=True
        )
        on = " AND ".join(f"s.{quote(k)} = t.{quote(k)}" for k in contract.key)
        on += f" AND t.{column} >= {_literal(start)} AND t.{column} < {_literal(end)}"
        # The guard repeats the plan's rule inside the commit, so a row stored meanwhile
        # by a newer record is never overwritten by an older one.
        metrics = (
            delta.merge(plan.rows, on, source_alias="s", target_alias="t")
            .when_matched_update_all(predicate="s.as_of >= t.as_of")
            .when_not_matched_insert_all()
            .execute()
        )
        inserted = int(metrics["num_target_rows_inserted"])
        replaced = int(metrics["num_target_rows_updated"])
        untouched = plan.rows.num_rows - inserted - replaced
        return TableCounts(
            inserted=inserted,
            replaced=replaced,
            unchanged=plan.unchanged,
            superseded=plan.stale + untouched,
        )

    return with_commit_retry(f"silver/{contract.name}", attempt)


def merge_quarantine(lake: Lake, table: str, rows: pa.Table) -> None:
    """Insert quarantine rows (unique `record_hash`) whose hash is not stored yet.

    Its cost follows the batch, not the table: the stored hashes are looked up in the
    `record_hash` column alone (no `raw`, the bulk of a row), and the MERGE that inserts
    the rest, kept for its commit-conflict check against a concurrent run, reads only
    the target rows ingested since the day before the batch's. Quarantined records often
    have no valid event time, so ingestion time is the bound: each run writes its own
    files, and delta-rs skips the older ones by their statistics.
    """
    if rows.num_rows == 0:
        return
    unique = rows.cast(QUARANTINE_SCHEMA)

    def attempt() -> None:
        delta = ensure_table(lake, "quarantine", table, QUARANTINE_SCHEMA)
        hashes = unique.column("record_hash")
        # No filter pushed into the scan: MERGE writes `string_view` files, which a
        # dataset filter on a string column rejects.
        stored = delta.to_pyarrow_dataset().to_table(columns=["record_hash"])
        known = stored.column("record_hash").cast(pa.string())
        fresh = unique.filter(pc.invert(pc.is_in(hashes, known)))
        if fresh.num_rows == 0:
            return
        earliest = pc.min(fresh.column("ingested_at")).as_py()
        since = datetime(earliest.year, earliest.month, earliest.day, tzinfo=UTC) - timedelta(
            days=1
        )
        # `merge_schema`: a table made before `reason_code` existed gains the column here
        # (its old rows null until `umwi maintain` codes them).
        delta.merge(
            fresh,
            "s.record_hash = t.record_hash "
            f"AND t.ingested_at >= '{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'",
            source_alias="s",
            target_alias="t",
            merge_schema=True,
        ).when_not_matched_insert_all().execute()

    with_commit_retry(f"quarantine/{table}", attempt)


def read_silver(lake: Lake, table: str, version: int | None = None) -> pa.Table:
    """Every row of `silver/<table>` (empty with the contract's schema before the first)."""
    return read_table(lake, "silver", table, arrow_schema(SILVER_TABLES[table]), version)


def read_quarantine(lake: Lake, table: str) -> pa.Table:
    """Every row of `quarantine/<table>`."""
    if table not in SILVER_TABLES:
        raise KeyError(table)
    return read_table(lake, "quarantine", table, QUARANTINE_SCHEMA)
