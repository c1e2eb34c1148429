"""The public names of umwi_flows, and that importing them does not load Prefect."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import umwi_flows

# The flows' typed summaries, progress events and `load_flows` are public so the CLI
# (its own member, umwi-cli) reads them without private imports.
EXPECTED = [
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


def test_all_is_pinned() -> None:
    assert umwi_flows.__all__ == EXPECTED


def test_importing_the_package_leaves_prefect_unloaded() -> None:
    code = "import sys, umwi_flows\nprint('prefect' in sys.modules)\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_prepare_prefect_puts_its_home_in_the_state_folder(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        "from umwi_core.settings import load_settings\n"
        "from umwi_flows import prepare_prefect\n"
        f"settings = load_settings(state_dir={str(tmp_path)!r})\n"
        "assert prepare_prefect(settings)\n"
        "import prefect.settings as ps\n"
        "print(ps.get_current_settings().home)\n"
        "print(prepare_prefect(settings))\n"
    )
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PREFECT_")}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    assert out == [f"{tmp_path}/prefect", "False"]
