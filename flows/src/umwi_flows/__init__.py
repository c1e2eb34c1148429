"""umwi_flows: the Prefect 3 orchestration of umwi.

The plain parts (umwi.toml, ledger windows, the jobs of the sources registered in
`umwi_connectors`, ingestion runs, deployments' definitions, the flows' typed summaries and
progress events) import without Prefect. The flows themselves (`ingest_flow`,
`build_flow`, `pipeline_flow`, `maintain_flow`, `outlook_flow`) are loaded on first access,
or all at once by `load_flows`: call `prepare_prefect` first (`load_flows` does) so
Prefect's home is the project's state folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from umwi_flows._config import UmwiConfig, load_config, parse_config
from umwi_flows._deploy import (
    DeploymentSpec,
    PoolKind,
    StackOutputs,
    base_job_template,
    deployment_specs,
)
from umwi_flows._ingest import IngestOutcome, ingest_job
from umwi_flows._loading import Flows, load_flows
from umwi_flows._prefect_env import prepare_prefect
from umwi_flows._progress import Advanced, Planned, ProgressEvent, on_progress
from umwi_flows._results import (
    BuildSummary,
    CandidateSummary,
    GateOutcome,
    IngestRunSummary,
    IngestSummary,
    MaintainSummary,
    OutlookSummary,
    PipelineSummary,
    ReplaySummary,
)
from umwi_flows._sources import jobs_from_config
from umwi_flows._windows import Claims, claim, day_windows, parse_day

if TYPE_CHECKING:
    from umwi_flows._flows import (
        GateFailed,
        IngestFailed,
        build_flow,
        ingest_flow,
        maintain_flow,
        outlook_flow,
        pipeline_flow,
    )

_LAZY = {
    "GateFailed",
    "IngestFailed",
    "base_job_template",
    "build_flow",
    "ingest_flow",
    "maintain_flow",
    "outlook_flow",
    "pipeline_flow",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from umwi_flows import _flows

        return getattr(_flows, name)
    raise AttributeError(f"module 'umwi_flows' has no attribute {name!r}")


__all__ = [
    "Advanced",
    "BuildSummary",
    "CandidateSummary",
    "Claims",
    "DeploymentSpec",
    "Flows",
    "GateFailed",
    "GateOutcome",
    "IngestFailed",
    "IngestOutcome",
    "IngestRunSummary",
    "IngestSummary",
    "MaintainSummary",
    "OutlookSummary",
    "PipelineSummary",
    "Planned",
    "PoolKind",
    "ProgressEvent",
    "ReplaySummary",
    "StackOutputs",
    "UmwiConfig",
    "base_job_template",
    "build_flow",
    "claim",
    "day_windows",
    "deployment_specs",
    "ingest_flow",
    "ingest_job",
    "jobs_from_config",
    "load_config",
    "load_flows",
    "maintain_flow",
    "on_progress",
    "outlook_flow",
    "parse_config",
    "parse_day",
    "pipeline_flow",
    "prepare_prefect",
]
