"""`replay_bronze`: re-stage any landed payload with the registered source of its key."""

from __future__ import annotations

from collections.abc import Iterator

from umwi_core import Lake, SourceError
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze import BRONZE_PREFIX
from umwi_connectors._registry import find_bronze_source

__all__ = ["replay_bronze"]


def replay_bronze(lake: Lake, key: str, *, run_id: str) -> Iterator[StagedBatch]:
    """The staged records of a landed payload, as when it was first ingested.

    The source whose `bronze` name is the key's second segment parses it (`Source.replay`);
    a static GTFS feed holds no records by itself and replays to no batch. `run_id` is the
    replaying run; `as_of` comes from the payload, so a replay converges on the rows the
    first ingestion wrote.
    """
    parts = key.split("/")
    if len(parts) != 6 or parts[0] != BRONZE_PREFIX or not parts[3].startswith("date="):
        raise SourceError(f"{key}: not a bronze payload key (bronze/<source>/<dataset>/date=…)")
    bronze, dataset = parts[1], parts[2]
    source = find_bronze_source(bronze)
    if source is None:
        raise SourceError(f"{key}: no parser for bronze {bronze}/{dataset}")
    return iter(source.replay(lake, key, dataset, run_id))
