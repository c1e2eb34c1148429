"""The public API of umwi_stacks is exactly what __all__ names."""

from __future__ import annotations

import umwi_stacks


def test_all_is_pinned() -> None:
    assert umwi_stacks.__all__ == [
        "Alerts",
        "Api",
        "Dashboard",
        "DataLake",
        "GithubDeployer",
        "Network",
        "Orchestration",
        "Secrets",
        "SecureBucket",
        "SparkJobs",  # issue 21: the opt-in EMR Serverless engine
        "StackConfig",
        "StackConfigError",
        "StateTables",
        "build_stack",
        "github_trust",  # the bootstrap role's trust policy is written with it
        "load_config",
        "main",
    ]
    for name in umwi_stacks.__all__:
        assert getattr(umwi_stacks, name) is not None
