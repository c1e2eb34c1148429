"""Stage every batch of a run on disk, then commit silver in time windows.

Committing each connector batch on its own costs one MERGE per batch, and a batch whose
rows span the whole history (a file in no particular order) makes every MERGE scan every
silver file. Staging first lets one dedup see the whole input, and committing it in
consecutive time windows writes silver files that each cover a short stretch of time, so
the next MERGE's literal time bounds skip all the others. Batches are staged as Parquet
files and deduplicated by a DuckDB with a memory limit and a spill folder: an input of any
size spills to disk instead of filling memory.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from umwi_core.arrow import StagedBatch, arrow_schema
from umwi_core.contracts import SILVER_TABLES, TableContract
from umwi_core.failpoints import failpoint
from umwi_core.lake import Lake
from umwi_core.runs import RunManifest, RunStatus, TableCounts, recorded_run
from umwi_core.settings import Settings

from umwi_transform._delta import log
from umwi_transform._engine import configure, release_arrow_memory, sql_string
from umwi_transform._rules import check_batch
from umwi_transform._silver import merge_quarantine, merge_silver, quote, time_column

#: Rows per silver commit: large enough that a MERGE's fixed cost is small, small enough
#: that the rows and delta-rs' working set stay a few hundred MiB.
WINDOW_ROWS = 250_000


@dataclass
class _Tally:
    read: int = 0
    quarantined: int = 0
    staged: int = 0
    by_code: Counter[str] = field(default_factory=Counter)


def hour_windows(hours: list[tuple[datetime, int]], limit: int) -> list[tuple[datetime, datetime]]:
    """Consecutive [start, end) ranges of whole hours, each holding at most `limit` rows
    unless one hour alone holds more; `hours` are (hour, rows) in time order."""
    windows: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    rows = 0
    previous: datetime | None = None
    for hour, count in hours:
        if start is not None and rows + count > limit:
            assert previous is not None
            windows.append((start, previous + timedelta(hours=1)))
            start, rows = None, 0
        if start is None:
            start = hour
        rows += count
        previous = hour
    if start is not None and previous is not None:
        windows.append((start, previous + timedelta(hours=1)))
    return windows


class SilverLoader:
    """Collect staged batches with `add`, commit them all with `finish`.

    Within one loader the later of two records with the same key and `as_of` wins, as if
    the batches had been committed one after the other. A failure in `finish` leaves the
    windows committed before it in silver; running the same input again is harmless.
    """

    def __init__(
        self, lake: Lake, settings: Settings, run_id: str, *, window_rows: int = WINDOW_ROWS
    ) -> None:
        self._lake = lake
        self._run_id = run_id
        self._window_rows = window_rows
        self._folder = Path(tempfile.mkdtemp(prefix="umwi-staging-"))
        # Only queries run here (the data is in Parquet files), spilling beyond the limit.
        self._db = duckdb.connect(":memory:")
        configure(self._db, settings.duckdb_memory_limit, self._folder / "spill")
        self._db.execute("SET preserve_insertion_order = false")
        self._tally: dict[str, _Tally] = {}
        self._next_seq = 0
        self._files_written = 0
        self._finished = False

    def __enter__(self) -> SilverLoader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def add(self, batch: StagedBatch) -> None:
        """Check the batch's rows and stage them; nothing reaches the lake yet."""
        if self._finished:
            raise RuntimeError("this loader has finished; start a new one")
        contract = SILVER_TABLES[batch.table]
        checked = check_batch(
            batch.table, batch.records, batch.source, self._run_id, datetime.now(UTC)
        )
        valid = checked.valid
        written: list[Path] = []
        try:
            if checked.quarantine.num_rows:
                written.append(self._stage("quarantine", batch.table, checked.quarantine))
            if valid.num_rows:
                # Offsetting `_seq` keeps "later record wins" across batches, not only
                # within one.
                seq = valid.column("_seq")
                valid = valid.set_column(
                    valid.schema.get_field_index("_seq"),
                    "_seq",
                    pc.add(seq, pa.scalar(self._next_seq, pa.int64())),
                )
                written.append(self._stage("staged", contract.name, valid))
                self._next_seq += int(pc.max(seq).as_py()) + 1
        except BaseException:
            for path in written:  # a batch is staged whole or not at all
                path.unlink(missing_ok=True)
            raise
        # Counted only once staged: a batch that failed half-way is not in the counts, and
        # the counts of what `finish` commits still add up.
        tally = self._tally.setdefault(batch.table, _Tally())
        tally.read += batch.records.num_rows
        tally.quarantined += checked.quarantine.num_rows
        tally.by_code.update(checked.quarantine.column("reason_code").to_pylist())
        tally.staged += valid.num_rows

    def _files(self, kind: str, table: str) -> Path:
        return self._folder / kind / table

    def _scan(self, kind: str, table: str) -> str:
        return f"read_parquet({sql_string(f'{self._files(kind, table)}/*.parquet')})"

    def _stage(self, kind: str, table: str, rows: pa.Table) -> Path:
        # Parquet files, not DuckDB tables: written and freed batch by batch, so staging
        # holds no memory however large the input, and DuckDB later scans them in parallel.
        folder = self._files(kind, table)
        folder.mkdir(parents=True, exist_ok=True)
        self._files_written += 1
        path = folder / f"{self._files_written:08d}.parquet"
        try:
            pq.write_table(rows, path, compression="lz4")
        except BaseException:
            path.unlink(missing_ok=True)  # a half-written file would poison `finish`
            raise
        return path

    def finish(self) -> dict[str, TableCounts]:
        """Commit quarantine and silver; the counts per table of everything added."""
        if self._finished:
            raise RuntimeError("this loader has finished; start a new one")
        self._finished = True
        release_arrow_memory()
        counts: dict[str, TableCounts] = {}
        for table, tally in self._tally.items():
            contract = SILVER_TABLES[table]
            if tally.quarantined:
                self._commit_quarantine(table)
            merged = self._commit_silver(contract, tally.staged) if tally.staged else TableCounts()
            result = merged + TableCounts(
                read=tally.read,
                quarantined=tally.quarantined,
                quarantined_by_code=dict(tally.by_code),
            )
            if not result.balanced:  # a bug, never bad input: refuse to report wrong numbers
                raise AssertionError(f"{table} counts do not add up: {result}")
            counts[table] = result
        return counts

    def _commit_quarantine(self, table: str) -> None:
        # One row per record hash: the same bad record twice is one quarantine row.
        reader = self._db.execute(
            f"SELECT * FROM {self._scan('quarantine', table)} "
            "QUALIFY row_number() OVER (PARTITION BY record_hash) = 1"
        ).fetch_record_batch(self._window_rows)
        for chunk in reader:
            merge_quarantine(self._lake, table, pa.Table.from_batches([chunk]))

    def _commit_silver(self, contract: TableContract, staged: int) -> TableCounts:
        """MERGE the winners of the `staged` rows; the staged rows that lost to another
        staged record of the same key count as superseded.

        The key holds the time column, so a record and all its rivals fall in one hour:
        the staged rows are sorted by time once (DuckDB's sort spills), then each window
        of hours picks its winners alone. One window function over the whole input would
        have to hold it: it ran out of memory on a 10 M-row file at a 170 MB limit.
        """
        column_name = time_column(contract)
        if column_name not in contract.key:
            raise AssertionError(f"{contract.name}: the key must hold {column_name}")
        keys = ", ".join(quote(k) for k in contract.key)
        columns = ", ".join(quote(c) for c in contract.column_names)
        column = quote(column_name)
        folder = self._files("sorted", contract.name)
        folder.mkdir(parents=True)
        target = sql_string(str(folder / "sorted.parquet"))
        # Sorted by time, the row groups each cover a short stretch, so every window below
        # reads only its own.
        self._db.execute(
            f"COPY (SELECT {columns}, _seq FROM {self._scan('staged', contract.name)} "
            f"ORDER BY {column}) TO {target} (FORMAT parquet, COMPRESSION lz4, "
            "ROW_GROUP_SIZE 65536)"
        )
        shutil.rmtree(self._files("staged", contract.name))
        scan = self._scan("sorted", contract.name)
        hours = self._db.execute(
            f"SELECT date_trunc('hour', {column}) AS hour, count(*) FROM {scan} "
            "GROUP BY ALL ORDER BY hour"
        ).fetchall()
        total = TableCounts()
        winners = 0
        schema = arrow_schema(contract)
        for start, end in hour_windows(hours, self._window_rows):
            rows = self._db.execute(
                f"SELECT {columns} FROM {scan} WHERE {column} >= ? AND {column} < ? "
                f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY as_of DESC, "
                "_seq DESC) = 1",
                [start, end],
            ).to_arrow_table()
            winners += rows.num_rows
            total += merge_silver(self._lake, contract, rows.cast(schema), (start, end))
            failpoint("silver.merge.window")
        return total + TableCounts(superseded=staged - winners)


def commit_batch(batch: StagedBatch, lake: Lake, settings: Settings, run_id: str) -> TableCounts:
    """Validate, dedup and MERGE one staged batch; quarantine what cannot be silver.

    `read = inserted + replaced + unchanged + superseded + quarantined`, where superseded
    counts records that lost to a newer one, in the same input or already stored.
    """
    with SilverLoader(lake, settings, run_id) as loader:
        loader.add(batch)
        counts = loader.finish()[batch.table]
    log.info("%s: %s", batch.table, counts.model_dump())
    return counts


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
    """Stage every batch, commit them together, and write the run manifest with the counts
    per table.

    A failure still writes the manifest (status `failed`, the error's message) and then
    re-raises. When the batches themselves fail, what they delivered before is committed
    first; when a commit fails, the silver windows committed before it stay committed.
    """
    with recorded_run(lake, kind, run_id=run_id, source=source, parameters=parameters) as manifest:
        started = time.perf_counter()
        try:
            with SilverLoader(lake, settings, run_id) as loader:
                try:
                    for batch in batches:
                        loader.add(batch)
                        manifest.inputs.extend(i for i in batch.inputs if i not in manifest.inputs)
                except Exception:
                    # What arrived before the source failed is kept, as a commit per batch
                    # would have kept it; a re-run merges it again harmlessly.
                    manifest.counts = loader.finish()
                    raise
                manifest.counts = loader.finish()
        finally:
            manifest.timings_s["commit"] = round(time.perf_counter() - started, 3)
        for table, counts in manifest.counts.items():
            log.info("%s: %s", table, counts.model_dump())
        manifest.status = RunStatus.SUCCEEDED
    return manifest


__all__ = ["SilverLoader", "commit_batch", "hour_windows", "ingest_batches"]
