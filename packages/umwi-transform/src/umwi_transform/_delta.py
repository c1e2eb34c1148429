"""Delta table plumbing shared by the silver, gold and maintenance steps.

One code path for a folder and for `s3://`: only `lake.storage_options()` differs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError
from umwi_core.errors import LakeError
from umwi_core.lake import Lake

from umwi_transform.catalog import open_delta, table_key

log = logging.getLogger("umwi.transform")

T = TypeVar("T")

#: Silver tables record their changes so a gold build can find what moved since the last one.
CDF_CONFIGURATION = {"delta.enableChangeDataFeed": "true"}
COMMIT_ATTEMPTS = 6


def delta_uri(lake: Lake, layer: str, table: str) -> str:
    return lake.uri(table_key(layer, table))


def ensure_table(
    lake: Lake, layer: str, table: str, schema: pa.Schema, *, change_feed: bool = False
) -> DeltaTable:
    """The Delta table, created empty with `schema` when absent (safe if two race)."""
    found = open_delta(lake, layer, table)
    if found is not None:
        return found

    def create() -> DeltaTable:
        return DeltaTable.create(
            delta_uri(lake, layer, table),
            schema,
            mode="ignore",
            configuration=CDF_CONFIGURATION if change_feed else None,
            storage_options=lake.storage_options(),
        )

    return with_commit_retry(f"{layer}/{table}", create)


def with_commit_retry(what: str, attempt: Callable[[], T]) -> T:
    """Run a whole read-decide-commit `attempt`, again when a concurrent commit won.

    Each attempt re-reads the table, so the retry decides on the state that won; a lost
    commit wrote nothing the table references, so nothing is half-written.
    """
    for number in range(1, COMMIT_ATTEMPTS + 1):
        try:
            return attempt()
        except CommitFailedError as error:
            if number == COMMIT_ATTEMPTS:
                raise LakeError(
                    f"{what}: gave up after {number} conflicting commits ({error})"
                ) from None
            log.info("%s: commit conflict, retrying (%d)", what, number)
            time.sleep(0.05 * 2**number)
    raise AssertionError("unreachable")


def read_table(
    lake: Lake, layer: str, table: str, schema: pa.Schema, version: int | None = None
) -> pa.Table:
    """The whole table as Arrow, or an empty one with `schema` when it does not exist yet."""
    delta = open_delta(lake, layer, table, version=version)
    if delta is None:
        return schema.empty_table()
    return delta.to_pyarrow_dataset().to_table()
