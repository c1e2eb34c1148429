"""Publication of gold candidates: serving copies, then the pointer (DESIGN.md §6)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from umwi_core.contracts import GOLD_CONTRACTS, HISTORY_TABLES
from umwi_core.errors import LakeError
from umwi_core.failpoints import failpoint
from umwi_core.lake import Lake
from umwi_core.publication import (
    GOLD_TABLES,
    Publication,
    PublishedTable,
    new_publication_id,
    read_publication,
    serving_key,
    write_publication,
)

from umwi_transform._gold import GoldCandidate
from umwi_transform._schemas import GOLD_SCHEMAS
from umwi_transform.catalog import open_delta

_SORT = {
    "punctuality_hourly": ("network", "line_id", "hour"),
    "mobility_weather_hourly": ("network", "line_id", "hour"),
    "weather_impact": ("network", "line_id", "period", "weather_class"),
    "correlation": ("network", "line_id", "period", "variable", "lag_h", "y_kind"),
    "line_sensitivity": ("network", "line_id", "period"),
}


def read_gold(
    lake: Lake,
    table: str,
    version: int | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pa.Table:
    """`gold/<table>` at `version` (the latest when None); hourly tables cut to
    `start <= hour < end` when given."""
    delta = open_delta(lake, "gold", table, version=version)
    if delta is None:
        return GOLD_SCHEMAS[table].empty_table()
    dataset = delta.to_pyarrow_dataset()
    condition = None
    if start is not None:
        condition = pc.field("hour") >= pa.scalar(start, type=pa.timestamp("us", tz="UTC"))
    if end is not None:
        upper = pc.field("hour") < pa.scalar(end, type=pa.timestamp("us", tz="UTC"))
        condition = upper if condition is None else condition & upper
    return dataset.to_table(filter=condition)


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", row_group_size=256_000)
    return sink.getvalue()


def publish_gold(
    lake: Lake,
    candidates: Mapping[str, GoldCandidate],
    *,
    run_id: str,
    gate: dict[str, Any],
    quality_report: str | None,
) -> Publication:
    """Write the serving copies, then swap `gold/_published.json` conditionally.

    The pointer is the only thing readers follow, so until it is replaced nothing they see
    changes; `ConflictError` when another publisher replaced it since it was read. A table
    whose version is already published keeps its serving copy. A table without a candidate
    keeps its published entry (the outlook publishes alone, DESIGN.md §8); one that was
    never published needs a candidate, but for `outlook_hourly`, which may have none yet.
    """
    previous = read_publication(lake)
    token = previous[1] if previous else None
    published = previous[0].tables if previous else {}
    missing = [t for t in HISTORY_TABLES if t not in candidates and t not in published]
    if missing:
        raise LakeError(f"cannot publish: no candidate for gold table {missing[0]}")
    publication_id = new_publication_id()
    tables: dict[str, PublishedTable] = {}
    for table in GOLD_TABLES:
        candidate = candidates.get(table)
        before = published.get(table)
        if candidate is None:
            if before is not None:
                tables[table] = before
            continue
        if (
            before is not None
            and before.version == candidate.version
            and lake.exists(before.serving)
        ):
            tables[table] = before
            continue
        data = read_gold(lake, table, candidate.version)
        data = data.sort_by(
            [(column, "ascending") for column in _SORT.get(table, GOLD_CONTRACTS[table].order)]
        )
        key = serving_key(publication_id, table)
        lake.write_bytes(key, _parquet(data))
        tables[table] = PublishedTable(
            version=candidate.version,
            serving=key,
            rows=data.num_rows,
            updated_at=candidate.updated_at,
        )
    failpoint("publish.serving.written")
    publication = Publication(
        publication_id=publication_id,
        published_at=datetime.now(UTC),
        run_id=run_id,
        tables=tables,
        quality_report=quality_report,
        gate=gate,
    )
    write_publication(lake, publication, token)
    failpoint("publish.pointer.replaced")
    return publication
