"""Run ids and run manifests (`<lake>/runs/<run_id>.json`, DESIGN.md §6)."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
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


class RunStatus(StrEnum):
    """Where a run stands; the values are the words manifests on disk already hold."""

    RUNNING = "running"
    DONE = "done"
    #: What `ingest_batches` writes on success (older manifests; kept so they still read).
    SUCCEEDED = "succeeded"
    #: An ingestion run that found every window done or held by another run.
    SKIPPED = "skipped"
    FAILED = "failed"
    #: The build finished but the quality gate blocked publication.
    GATE_FAILED = "gate_failed"


class RunManifest(BaseModel):
    run_id: str
    kind: str = Field(description="ingest, build, quality, pipeline, maintain, …")
    source: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    status: RunStatus = RunStatus.RUNNING
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


#: Longest error message a manifest keeps (tracebacks of deep stacks can be huge).
ERROR_CHARS = 500


@contextmanager
def recorded_run(
    lake: Lake,
    kind: str,
    *,
    run_id: str | None = None,
    started_at: datetime | None = None,
    source: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
) -> Iterator[RunManifest]:
    """One run's manifest, written when the block ends, however it ends.

    The block fills in the manifest it is given (counts, outputs, timings, status). On
    a normal exit a status still `running` becomes `done`; on an exception the status
    becomes `failed` with the exception's message (unless the block already recorded an
    error) and the exception propagates after the manifest is written.
    """
    started = (started_at or datetime.now(UTC)).astimezone(UTC)
    manifest = RunManifest(
        run_id=run_id or new_run_id(started),
        kind=kind,
        source=source,
        started_at=started,
        parameters=dict(parameters or {}),
        outputs=dict(outputs or {}),
    )
    try:
        yield manifest
    except BaseException as error:
        manifest.status = RunStatus.FAILED
        if manifest.error is None:
            manifest.error = (str(error) or type(error).__name__)[:ERROR_CHARS]
        raise
    else:
        if manifest.status is RunStatus.RUNNING:
            manifest.status = RunStatus.DONE
    finally:
        if manifest.finished_at is None:
            manifest.finished_at = datetime.now(UTC)
        write_manifest(lake, manifest)
