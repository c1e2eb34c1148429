"""Run ids and run manifests (`<lake>/runs/<run_id>.json`, DESIGN.md §6)."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from umwi_core.lake import Lake


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by time, unique across machines: `20261127T030000Z-1a2b3c4d`."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


class TableCounts(BaseModel):
    """Accounts for every record read: read = inserted + replaced + unchanged +
    superseded (within the input) + quarantined."""

    read: int = 0
    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0
    superseded: int = 0
    quarantined: int = 0
    #: The quarantined records by `reason_code` (they sum to `quarantined`).
    quarantined_by_code: dict[str, int] = Field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        coded = sum(self.quarantined_by_code.values())
        # Manifests written before reason codes have no breakdown at all.
        return (coded == self.quarantined or not self.quarantined_by_code) and self.read == (
            self.inserted + self.replaced + self.unchanged + self.superseded + self.quarantined
        )

    def __add__(self, other: TableCounts) -> TableCounts:
        """Field by field: the counts of two runs (or two windows) together."""
        codes = Counter(self.quarantined_by_code) + Counter(other.quarantined_by_code)
        return TableCounts(
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in type(self).model_fields
                if name != "quarantined_by_code"
            },
            quarantined_by_code=dict(sorted(codes.items())),
        )


class RunManifest(BaseModel):
    run_id: str
    kind: str = Field(description="ingest, build, quality, pipeline, maintain, …")
    source: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list, description="Bronze keys or input paths.")
    counts: dict[str, TableCounts] = Field(default_factory=dict)
    checks: dict[str, Any] = Field(default_factory=dict)
    timings_s: dict[str, float] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


def manifest_key(run_id: str) -> str:
    return f"runs/{run_id}.json"


def write_manifest(lake: Lake, manifest: RunManifest) -> str:
    """Write (or rewrite) the run's manifest atomically; returns its key."""
    key = manifest_key(manifest.run_id)
    lake.write_bytes(key, manifest.model_dump_json(indent=2).encode())
    return key


def read_manifest(lake: Lake, run_id: str) -> RunManifest:
    return RunManifest.model_validate_json(lake.read_bytes(manifest_key(run_id)))
