"""Commit a staged batch to `silver/<table>` and `quarantine/<table>` (DESIGN.md §3)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from umwi_core.arrow import StagedBatch, arrow_schema
from umwi_core.contracts import LINEAGE_COLUMNS, SILVER_TABLES, TableContract
from umwi_core.lake import Lake
from umwi_core.runs import RunManifest, TableCounts, write_manifest
from umwi_core.settings import Settings

from umwi_transform._delta import delta_uri, ensure_table, log, read_table, with_commit_retry
from umwi_transform._rules import QUARANTINE_SCHEMA, check_batch


@dataclass(frozen=True)
class _Plan:
    rows: pa.Table  # to insert or replace
    unchanged: int
    stale: int  # older than the stored record


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _dedup(valid: pa.Table, contract: TableContract) -> pa.Table:
    """One record per key: the latest `as_of`, then the later record of the input."""
    keys = ", ".join(_quote(k) for k in contract.key)
    columns = ", ".join(_quote(c) for c in contract.column_names)
    with duckdb.connect(":memory:") as connection:
        connection.register("batch", valid)
        winners = connection.execute(
            f"SELECT {columns} FROM batch QUALIFY row_number() OVER "
            f"(PARTITION BY {keys} ORDER BY as_of DESC, _seq DESC) = 1"
        ).to_arrow_table()
    return winners.cast(arrow_schema(contract))


def _plan(lake: Lake, contract: TableContract, batch: pa.Table) -> _Plan:
    """Classify each winner against the stored row with the same key."""
    delta = ensure_table(lake, "silver", contract.name, arrow_schema(contract), change_feed=True)
    time_column = "scheduled_at" if contract.name == "departures" else "hour"
    values = [c for c in contract.column_names if c not in (*LINEAGE_COLUMNS, *contract.key)]
    same = " AND ".join(f"b.{_quote(c)} IS NOT DISTINCT FROM s.{_quote(c)}" for c in values)
    join = " AND ".join(f"b.{_quote(k)} = s.{_quote(k)}" for k in contract.key)
    with duckdb.connect(":memory:") as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("batch", batch)
        connection.register("stored_all", delta.to_pyarrow_dataset())
        # The time range lets the scan skip files whose statistics lie outside the batch.
        connection.execute(
            f"CREATE TEMP VIEW stored AS SELECT * FROM stored_all WHERE {time_column} BETWEEN "
            f"(SELECT min({time_column}) FROM batch) AND (SELECT max({time_column}) FROM batch)"
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
        columns = ", ".join(_quote(c) for c in contract.column_names)
        rows = connection.execute(
            f"SELECT {columns} FROM judged WHERE _verdict IN ('insert', 'replace')"
        ).to_arrow_table()
    return _Plan(
        rows=rows.cast(arrow_schema(contract)),
        unchanged=int(counts.get("unchanged", 0)),
        stale=int(counts.get("stale", 0)),
    )


def _time_range(contract: TableContract, rows: pa.Table) -> str:
    """A literal range on the target's time column.

    delta-rs prunes the target's files by their statistics only from literal bounds; without
    them every MERGE scans the whole table and ingestion grows quadratically with history.
    """
    column = "scheduled_at" if contract.name == "departures" else "hour"
    bounds = pc.min_max(rows[column])
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is None or high is None:
        return ""
    return (
        f" AND t.{_quote(column)} >= '{low.isoformat()}'"
        f" AND t.{_quote(column)} <= '{high.isoformat()}'"
    )


def _merge_silver(lake: Lake, contract: TableContract, batch: pa.Table) -> TableCounts:
    def attempt() -> TableCounts:
        plan = _plan(lake, contract, batch)
        if plan.rows.num_rows == 0:
            return TableCounts(unchanged=plan.unchanged, superseded=plan.stale)
        delta = ensure_table(
            lake, "silver", contract.name, arrow_schema(contract), change_feed=True
        )
        on = " AND ".join(f"s.{_quote(k)} = t.{_quote(k)}" for k in contract.key)
        on += _time_range(contract, plan.rows)
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


def _merge_quarantine(lake: Lake, table: str, rows: pa.Table) -> None:
    if rows.num_rows == 0:
        return
    with duckdb.connect(":memory:") as connection:
        connection.register("rows", rows)
        unique = connection.execute(
            "SELECT * FROM rows QUALIFY row_number() OVER (PARTITION BY record_hash) = 1"
        ).to_arrow_table()
    unique = unique.cast(QUARANTINE_SCHEMA)

    def attempt() -> None:
        delta = ensure_table(lake, "quarantine", table, QUARANTINE_SCHEMA)
        delta.merge(
            unique, "s.record_hash = t.record_hash", source_alias="s", target_alias="t"
        ).when_not_matched_insert_all().execute()

    with_commit_retry(f"quarantine/{table}", attempt)


def commit_batch(batch: StagedBatch, lake: Lake, settings: Settings, run_id: str) -> TableCounts:
    """Validate, dedup and MERGE one staged batch; quarantine what cannot be silver.

    `read = inserted + replaced + unchanged + superseded + quarantined`, where superseded
    counts records that lost to a newer one, in the same input or already stored.
    """
    del settings  # the silver rules take no setting today; the signature is the contract
    contract = SILVER_TABLES[batch.table]
    read = batch.records.num_rows
    checked = check_batch(batch.table, batch.records, batch.source, run_id, datetime.now(UTC))
    _merge_quarantine(lake, batch.table, checked.quarantine)
    winners = _dedup(checked.valid, contract) if checked.valid.num_rows else None
    if winners is None or winners.num_rows == 0:
        merged = TableCounts()
    else:
        merged = _merge_silver(lake, contract, winners)
    within_input = checked.valid.num_rows - (winners.num_rows if winners is not None else 0)
    counts = TableCounts(
        read=read,
        inserted=merged.inserted,
        replaced=merged.replaced,
        unchanged=merged.unchanged,
        superseded=merged.superseded + within_input,
        quarantined=checked.quarantine.num_rows,
    )
    if not counts.balanced:  # a bug, never bad input: refuse to report wrong numbers
        raise AssertionError(f"{batch.table} counts do not add up: {counts}")
    log.info("%s: %s", batch.table, counts.model_dump())
    return counts


def _add(total: TableCounts, more: TableCounts) -> TableCounts:
    return TableCounts(
        **{name: getattr(total, name) + getattr(more, name) for name in TableCounts.model_fields}
    )


def ingest_batches(
    batches: Iterable[StagedBatch],
    lake: Lake,
    settings: Settings,
    run_id: str,
    *,
    kind: str = "ingest",
    source: str | None,
    parameters: Mapping[str, Any],
) -> RunManifest:
    """Commit every batch, sum the counts per table, and write the run manifest.

    A failure still writes the manifest (status `failed`, the error's message) and then
    re-raises; the batches committed before it stay committed.
    """
    manifest = RunManifest(
        run_id=run_id,
        kind=kind,
        source=source,
        started_at=datetime.now(UTC),
        parameters=dict(parameters),
    )
    started = time.perf_counter()
    try:
        for batch in batches:
            counts = commit_batch(batch, lake, settings, run_id)
            manifest.counts[batch.table] = _add(
                manifest.counts.get(batch.table, TableCounts()), counts
            )
            manifest.inputs.extend(i for i in batch.inputs if i not in manifest.inputs)
    except BaseException as error:
        manifest.status = "failed"
        manifest.error = str(error) or type(error).__name__
        raise
    else:
        manifest.status = "succeeded"
    finally:
        manifest.finished_at = datetime.now(UTC)
        manifest.timings_s["commit"] = round(time.perf_counter() - started, 3)
        write_manifest(lake, manifest)
    return manifest


def read_silver(lake: Lake, table: str, version: int | None = None) -> pa.Table:
    """Every row of `silver/<table>` (empty with the contract's schema before the first)."""
    return read_table(lake, "silver", table, arrow_schema(SILVER_TABLES[table]), version)


def read_quarantine(lake: Lake, table: str) -> pa.Table:
    """Every row of `quarantine/<table>`."""
    if table not in SILVER_TABLES:
        raise KeyError(table)
    return read_table(lake, "quarantine", table, QUARANTINE_SCHEMA)


def silver_uri(lake: Lake, table: str) -> str:
    return delta_uri(lake, "silver", table)
