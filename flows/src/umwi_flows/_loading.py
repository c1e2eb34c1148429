"""Loading the flows for a caller in this process (the CLI): Prefect set up first."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from umwi_core.settings import Settings

from umwi_flows._prefect_env import prepare_prefect
from umwi_flows._results import BuildSummary, IngestSummary, MaintainSummary, PipelineSummary

if TYPE_CHECKING:
    from prefect import Flow


@dataclass(frozen=True)
class Flows:
    """The four flows, each returning its summary."""

    ingest: Flow[..., IngestSummary]
    build: Flow[..., BuildSummary]
    pipeline: Flow[..., PipelineSummary]
    maintain: Flow[..., MaintainSummary]


def load_flows(settings: Settings, *, verbose: bool = False) -> Flows:
    """Import the flows with Prefect's home in the state folder (slow: Prefect loads)."""
    if not verbose:
        # Logs still reach the Prefect server (API handler); the caller shows its own
        # progress and one line on failure instead of Prefect's tracebacks.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    prepare_prefect(settings)
    from umwi_flows import _flows

    return Flows(
        ingest=_flows.ingest_flow,
        build=_flows.build_flow,
        pipeline=_flows.pipeline_flow,
        maintain=_flows.maintain_flow,
    )


__all__ = ["Flows", "load_flows"]
