"""The GitHub workflows parse and run the commands this repository actually has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.stacks.stack import OUTPUTS

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
EXPECTED = {"test", "infra", "pulumi-stack", "flows-deploy", "dashboard-deploy"}


def _load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    assert isinstance(document, dict)
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def _steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def _commands(document: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in _steps(document))


def _uses(document: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in _steps(document) if "uses" in step]


def test_every_expected_workflow_exists() -> None:
    assert {path.stem for path in WORKFLOWS.glob("*.yml")} == EXPECTED
    assert not list(WORKFLOWS.glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_workflow_is_well_formed(name: str) -> None:
    document = _load(name)
    assert document["name"] == name
    assert document["on"], name
    assert document["permissions"]["contents"] == "read"
    for job_id, job in document["jobs"].items():
        assert "runs-on" in job or "uses" in job, job_id
        for step in job.get("steps", []):
            assert ("uses" in step) != ("run" in step), (job_id, step)
    for action in _uses(document):
        # Pinned to a major version at least, never a branch.
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", action), action
    text = (WORKFLOWS / f"{name}.yml").read_text()
    assert not re.search(r"echo[^\n]*secrets\.", text), "a secret is echoed"


def test_test_workflow_runs_the_ci_steps() -> None:
    commands = _commands(_load("test"))
    for command in (
        "uv sync --locked --all-groups",
        "ruff check .",
        "ruff format --check .",
        "mypy",
        "uv run pytest",
    ):
        assert command in commands, command
    ci = (ROOT / ".ci" / "run").read_text()
    assert "uv sync --locked --all-groups" in ci
    assert "uv run pytest" in ci


def test_infra_previews_on_pull_requests_and_updates_dev_then_prod() -> None:
    infra = _load("infra")
    assert set(infra["on"]) >= {"pull_request", "push"}
    assert infra["on"]["push"]["branches"] == ["main"]
    assert infra["permissions"]["id-token"] == "write"
    jobs = infra["jobs"]
    assert jobs["preview"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["preview"]["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert jobs["preview"]["with"]["command"] == "preview"
    assert jobs["up-dev"]["with"] == {"stack": "dev", "command": "up"}
    assert jobs["up-prod"]["with"] == {"stack": "prod", "command": "up"}
    assert jobs["up-prod"]["needs"] == "up-dev"
    for job in jobs.values():
        assert job["uses"] == "./.github/workflows/pulumi-stack.yml"


def test_pulumi_job_uses_oidc_and_builds_the_bundle_the_stack_reads() -> None:
    stack = _load("pulumi-stack")
    assert "workflow_call" in stack["on"]
    assert stack["permissions"]["id-token"] == "write"
    (aws,) = [s for s in _steps(stack) if s.get("uses", "").startswith("aws-actions/configure")]
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert not any("aws-access-key-id" in s.get("with", {}) for s in _steps(stack))
    commands = _commands(stack)
    assert 'pulumi preview --stack "$STACK"' in commands
    assert 'pulumi up --stack "$STACK" --yes' in commands
    default_bundle = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]["apiBundle"][
        "default"
    ]
    assert f"api/build_lambda.py --out {default_bundle}" in commands
    assert (ROOT / "api" / "build_lambda.py").is_file()
    assert "--out" in (ROOT / "api" / "build_lambda.py").read_text()


def test_flows_deploy_builds_pushes_and_registers_with_stack_outputs() -> None:
    flows = _load("flows-deploy")
    assert flows["permissions"]["id-token"] == "write"
    uses = _uses(flows)
    assert "aws-actions/amazon-ecr-login@v2" in uses
    assert any(action.startswith("aws-actions/configure-aws-credentials@") for action in uses)
    commands = _commands(flows)
    assert 'pulumi stack output --json --stack "$STACK" > outputs.json' in commands
    assert "uv run python flows/deploy.py" in commands
    script = (ROOT / "flows" / "deploy.py").read_text()
    for option in re.findall(r"(--[a-z-]+)", commands.split("flows/deploy.py", 1)[1]):
        assert f'"{option}"' in script, f"flows/deploy.py has no {option} option"
    assert (ROOT / "flows" / "Dockerfile").is_file()


def test_dashboard_deploy_syncs_web_and_invalidates_cloudfront() -> None:
    dashboard = _load("dashboard-deploy")
    commands = _commands(dashboard)
    assert 'aws s3 sync site/ "s3://$BUCKET/" --delete' in commands
    assert 'aws cloudfront create-invalidation --distribution-id "$DISTRIBUTION"' in commands
    assert "cp -R web/. site/" in commands
    for output in re.findall(r"\.(dashboard\w+)", commands):
        assert output in OUTPUTS, f"{output} is not a stack output"
    assert (ROOT / "web" / "config.json").is_file()
    assert (ROOT / "web" / "index.html").is_file()
