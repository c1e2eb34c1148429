"""Rebuild silver from bronze alone (`umwi build --from-bronze`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from umwi_core.arrow import StagedBatch
from umwi_core.lake import Lake
from umwi_core.settings import Settings

from umwi_flows._results import ReplaySummary

if TYPE_CHECKING:
    from umwi_transform import GoldCandidate


def bronze_payloads(lake: Lake) -> list[str]:
    """Every landed payload, oldest day and run first (replay order decides equal `as_of`)."""
    return [key for key in lake.list("bronze/") if not key.endswith(".meta.json")]


def replay_bronze_all(settings: Settings, lake: Lake, run_id: str) -> ReplaySummary:
    from umwi_connectors import replay_bronze
    from umwi_transform import SilverLoader

    keys = bronze_payloads(lake)
    # One loader for every payload: the later payload wins a tie on `as_of`, as in order.
    with SilverLoader(lake, settings, run_id) as loader:
        for key in keys:
            staged = replay_bronze(lake, key, run_id=run_id)
            batches: Iterable[StagedBatch] = [staged] if isinstance(staged, StagedBatch) else staged
            for batch in batches:
                loader.add(batch)
        counts = loader.finish()
    return ReplaySummary(payloads=len(keys), counts=counts)


def current_publication(lake: Lake, candidates: Mapping[str, GoldCandidate]) -> str | None:
    """The publication id when it already names exactly these gold versions, else None.

    Then the build changed no gold table and there is nothing for the gate to guard.
    """
    from umwi_core.publication import read_publication

    found = read_publication(lake)
    if found is None or any(candidate.changed for candidate in candidates.values()):
        return None
    published = {name: entry.version for name, entry in found[0].tables.items()}
    built = {name: candidate.version for name, candidate in candidates.items()}
    return found[0].publication_id if published == built else None


__all__ = ["bronze_payloads", "current_publication", "replay_bronze_all"]
