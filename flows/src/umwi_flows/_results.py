"""What the flows return: small typed summaries, JSON-ready (no data).

They cross two serialisation boundaries, Prefect's results and the run manifests'
`outputs`, so they are pydantic models; `outputs()` is their manifest form.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from umwi_core.runs import RunStatus, TableCounts

GateOutcome = Literal["passed", "failed", "skipped"]


class _Summary(BaseModel):
    def outputs(self) -> dict[str, Any]:
        """The manifest's `outputs` form (plain JSON values)."""
        return self.model_dump(mode="json", exclude={"run_id", "timings_s"})


class IngestRunSummary(_Summary):
    """One ingestion run (one source job over its windows)."""

    run_id: str
    stream: str
    status: RunStatus
    windows: int
    skipped: int
    held_by_others: int
    counts: dict[str, TableCounts] = Field(default_factory=dict)


class IngestSummary(_Summary):
    """The ingest flow: its ingestion runs, and the streams that failed with why."""

    run_id: str
    ingest_runs: list[IngestRunSummary] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)


class ReplaySummary(_Summary):
    """Silver rebuilt from bronze: payloads replayed and the counts per table."""

    payloads: int
    counts: dict[str, TableCounts] = Field(default_factory=dict)


class CandidateSummary(_Summary):
    """One gold candidate: its Delta version, rows, and whether the build changed it."""

    version: int
    rows: int
    changed: bool


class BuildSummary(_Summary):
    """The build flow: candidates, the gate's verdict and what is published."""

    run_id: str
    replay: ReplaySummary | None = None
    candidates: dict[str, CandidateSummary] = Field(default_factory=dict)
    gate: GateOutcome
    gate_passed: bool
    quality_report: str | None = None
    publication_id: str | None = None
    timings_s: dict[str, float] = Field(default_factory=dict)


class PipelineSummary(_Summary):
    """Ingest then build, with where the time went."""

    run_id: str
    ingest: IngestSummary
    build: BuildSummary
    timings_s: dict[str, float] = Field(default_factory=dict)


class MaintainSummary(_Summary):
    """What maintenance compacted, vacuumed and pruned, per table (`umwi_transform.maintain`)."""

    run_id: str
    maintenance: dict[str, object]


class OutlookSummary(_Summary):
    """The forecast hours landed and what the outlook step did (DESIGN.md §8)."""

    run_id: str
    forecast_hours: int
    outlook: dict[str, object]


__all__ = [
    "BuildSummary",
    "CandidateSummary",
    "GateOutcome",
    "IngestRunSummary",
    "IngestSummary",
    "MaintainSummary",
    "OutlookSummary",
    "PipelineSummary",
    "ReplaySummary",
]
