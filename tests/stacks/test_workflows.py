"""The GitHub workflows parse and run the commands this repository actually has."""

from __future__ import annotations

import json
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
    text = (WORKFLOWS / f"{name}.yml").read_text()
    assert not re.search(r"echo[^\n]*secrets\.", text), "a secret is echoed"


def test_test_workflow_runs_the_ci_steps() -> None:
    commands = _commands(_load("test"))
    for command in (
        "uv sync --locked --all-groups --no-group spark-client",
        "ruff check .",
        "ruff format --check .",
        "mypy",
        "uv run pytest",
    ):
        assert command in commands, command
    ci = (ROOT / ".ci" / "run").read_text()
    assert "uv sync --locked --all-groups --no-group spark-client" in ci
    assert "uv run pytest" in ci


def test_ci_installs_java_for_the_spark_tests() -> None:
    """The Spark tests start a JVM; neither CI image ships one.

    Mutation: drop the openjdk install line from .ci/run or test.yml and this fails."""
    commands = _commands(_load("test"))
    ci = (ROOT / ".ci" / "run").read_text()
    for script in (commands, ci):
        assert "openjdk-17-jre-headless" in script
        assert "java -version" in script
    # Installed before the tests run.
    assert commands.index("openjdk-17-jre-headless") < commands.index("uv run pytest")
    assert ci.index("openjdk-17-jre-headless") < ci.index("uv run pytest")


def test_every_sync_leaves_out_the_group_that_conflicts_with_spark() -> None:
    """`spark` and `spark-client` both install `pyspark` (tool.uv.conflicts): a sync of
    every group without `--no-group spark-client` fails. Mutation: drop it anywhere."""
    texts = [_commands(_load(name)) for name in sorted(EXPECTED)]
    texts.append((ROOT / ".ci" / "run").read_text())
    for text in texts:
        for line in text.splitlines():
            if "--all-groups" in line:
                assert "--no-group spark-client" in line, line


def _text(name: str) -> str:
    return (WORKFLOWS / f"{name}.yml").read_text()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_actions_are_pinned_to_commits(name: str) -> None:
    """Every third-party action by a full commit SHA with its tag as a comment (a tag can
    be moved to other code; a commit cannot).

    Mutation: write `actions/checkout@v4` in any workflow and this fails."""
    text = _text(name)
    for action in _uses(_load(name)):
        if action.startswith("./"):
            continue  # this repository's own reusable workflow
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.search(rf"{re.escape(action)} # v\d+(\.\d+)*\n", text), f"{action}: tag?"


def test_the_same_action_is_pinned_to_the_same_commit_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for name in EXPECTED:
        for action in _uses(_load(name)):
            if not action.startswith("./"):
                repo, commit = action.split("@")
                pins.setdefault(repo, set()).add(commit)
    assert all(len(commits) == 1 for commits in pins.values()), pins


def test_container_images_are_pinned_by_digest() -> None:
    for name in EXPECTED:
        for job in _load(name)["jobs"].values():
            image = job.get("container")
            if image is not None:
                image = image["image"] if isinstance(image, dict) else image
                assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", image), image


PINNED_IMAGE = r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}"


def _dockerfile_images(text: str) -> tuple[list[str], list[str]]:
    """(the image of each `FROM`, in order; every image a `COPY --from=` names), leaving
    out references to the file's own stages."""
    stages: set[str] = set()
    bases: list[str] = []
    copied: list[str] = []
    for line in text.splitlines():
        found = re.match(r"FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if found:
            if found.group(1) not in stages:
                bases.append(found.group(1))
            if found.group(2):
                stages.add(found.group(2))
        source = re.match(r"COPY\s+.*--from=(\S+)", line, re.I)
        if source and source.group(1) not in stages:
            copied.append(source.group(1))
    return bases, copied


def test_dockerfile_images_are_pinned_by_tag_and_digest() -> None:
    """Every base image of flows/Dockerfile by `tag@sha256:` (the tag says what it is, the
    digest is what is pulled; provenance in flows/README.md, "Image pins"), and the build
    stage on the runtime's Python image, so the venv it builds runs there.

    Mutation: drop the `@sha256:…` of any FROM in flows/Dockerfile, or point the build stage
    at another Python image, and this fails."""
    bases, copied = _dockerfile_images((ROOT / "flows" / "Dockerfile").read_text())
    assert len(bases) >= 2
    for image in bases + copied:
        assert re.fullmatch(PINNED_IMAGE, image), f"{image}: not pinned by tag and digest"
    python = [image for image in bases if image.startswith("python:")]
    assert len(python) == 2, bases
    assert python[0] == python[1] == bases[-1], bases


def test_dockerfile_pin_check_sees_unpinned_images() -> None:
    """The parser behind the pin test finds what a careless edit would leave unpinned."""
    bases, copied = _dockerfile_images(
        "FROM ghcr.io/astral-sh/uv:0.13.0 AS uv\n"
        "FROM --platform=linux/amd64 python:3.11-slim AS build\n"
        "COPY --from=uv /uv /bin/\nCOPY --from=busybox:1 /bin/sh /sh\n"
        "FROM build\n"
    )
    assert bases == ["ghcr.io/astral-sh/uv:0.13.0", "python:3.11-slim"]
    assert copied == ["busybox:1"]
    assert not any(re.fullmatch(PINNED_IMAGE, image) for image in bases + copied)


def test_the_pulumi_cli_is_the_locked_sdk_version() -> None:
    """Mutation: drop `pulumi-version` from any pulumi/actions step and this fails."""
    lock = (ROOT / "uv.lock").read_text()
    sdk = re.search(r'name = "pulumi"\nversion = "([^"]+)"', lock)
    assert sdk is not None
    steps = [
        step
        for name in EXPECTED
        for step in _steps(_load(name))
        if step.get("uses", "").startswith("pulumi/actions@")
    ]
    assert len(steps) == 4  # preview, up, flows-deploy, dashboard-deploy
    for step in steps:
        assert str(step["with"]["pulumi-version"]) == sdk.group(1)


def test_no_workflow_holds_a_pulumi_passphrase_or_token() -> None:
    """Stack secrets use an awskms:// secrets provider: nothing to leak to a job."""
    for name in EXPECTED:
        text = _text(name)
        assert "PULUMI_CONFIG_PASSPHRASE" not in text, name
        assert "PULUMI_ACCESS_TOKEN" not in text, name
    readme = (ROOT / "stacks" / "README.md").read_text()
    assert "--secrets-provider" in readme
    assert "awskms://" in readme


def test_pull_request_previews_run_outside_prod_with_the_preview_role() -> None:
    """A job naming a GitHub environment gets the subject environment:<name>; previews
    name none, so only the pull_request-trusted read-only role can be assumed.

    Mutation: add `environment: ${{ matrix.stack }}` to infra.yml's preview job, or
    assume vars.AWS_ROLE_ARN there, and this fails."""
    infra = _load("infra")
    assert set(infra["on"]) >= {"pull_request", "push"}
    assert infra["on"]["push"]["branches"] == ["main"]
    assert infra["permissions"]["id-token"] == "write"
    preview = infra["jobs"]["preview"]
    assert preview["if"] == "github.event_name == 'pull_request'"
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert "environment" not in preview
    assert "uses" not in preview  # not the reusable `up` workflow (it names an environment)
    (aws,) = [s for s in preview["steps"] if s.get("uses", "").startswith("aws-actions/conf")]
    assert aws["with"]["role-to-assume"] == "${{ env.PREVIEW_ROLE }}"
    assert "AWS_PREVIEW_ROLE_ARN_PROD" in preview["env"]["PREVIEW_ROLE"]
    assert "AWS_ROLE_ARN" not in preview["env"]["PREVIEW_ROLE"].replace("PREVIEW_ROLE_ARN", "")
    assert "exit 1" in preview["steps"][0]["run"]  # refuses to run without the role
    commands = "\n".join(step.get("run", "") for step in preview["steps"])
    assert 'pulumi preview --stack "$STACK"' in commands
    assert "pulumi up --" not in commands
    assert "secrets." not in json.dumps(preview)


def test_stacks_are_updated_from_main_only_dev_then_prod() -> None:
    """Mutation: drop the `github.ref` condition of up-dev, or the main-only step of
    pulumi-stack.yml, and this fails."""
    jobs = _load("infra")["jobs"]
    assert jobs["up-dev"]["if"] == (
        "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
    )
    assert jobs["up-dev"]["with"] == {"stack": "dev"}
    assert jobs["up-prod"]["with"] == {"stack": "prod"}
    assert jobs["up-prod"]["needs"] == "up-dev"
    assert jobs["up-prod"]["if"] == "github.ref == 'refs/heads/main'"
    for job in ("up-dev", "up-prod"):
        assert jobs[job]["uses"] == "./.github/workflows/pulumi-stack.yml"
        assert "secrets" not in jobs[job]
    stack = _load("pulumi-stack")
    (job,) = stack["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}"
    guard = job["steps"][0]
    assert guard["if"] == "github.ref != 'refs/heads/main'"
    assert "exit 1" in guard["run"]


def test_pulumi_job_uses_oidc_and_builds_the_bundle_the_stack_reads() -> None:
    stack = _load("pulumi-stack")
    assert "workflow_call" in stack["on"]
    assert set(stack["on"]["workflow_call"]["inputs"]) == {"stack"}
    assert stack["permissions"]["id-token"] == "write"
    (aws,) = [s for s in _steps(stack) if s.get("uses", "").startswith("aws-actions/configure")]
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert not any("aws-access-key-id" in s.get("with", {}) for s in _steps(stack))
    commands = _commands(stack)
    assert 'pulumi up --stack "$STACK" --yes' in commands
    assert "umwi:prefectWorkerImage" in commands
    default_bundle = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]["apiBundle"][
        "default"
    ]
    assert f"api/build_lambda.py --out {default_bundle}" in commands
    assert f"api/build_lambda.py --out {default_bundle}" in _commands(_load("infra"))
    assert (ROOT / "api" / "build_lambda.py").is_file()
    assert "--out" in (ROOT / "api" / "build_lambda.py").read_text()


@pytest.mark.parametrize("name", ["flows-deploy", "dashboard-deploy"])
def test_deploy_jobs_need_the_narrow_deploy_role_and_main(name: str) -> None:
    """Mutation: put back `vars.AWS_DEPLOY_ROLE_ARN || vars.AWS_ROLE_ARN` and this fails."""
    (job,) = _load(name)["jobs"].values()
    assert "github.ref == 'refs/heads/main'" in job["if"]
    assert job["env"]["DEPLOY_ROLE"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    first = job["steps"][0]
    assert 'if [ -z "$DEPLOY_ROLE" ]' in first["run"]
    assert "exit 1" in first["run"]
    assert "githubDeployRoleArn" in first["run"]
    (aws,) = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure")]
    assert aws["with"]["role-to-assume"] == "${{ env.DEPLOY_ROLE }}"
    assert "AWS_ROLE_ARN" not in _text(name).replace("AWS_DEPLOY_ROLE_ARN", "")


def test_flows_deploy_builds_pushes_and_registers_with_stack_outputs() -> None:
    flows = _load("flows-deploy")
    assert flows["permissions"]["id-token"] == "write"
    uses = _uses(flows)
    assert any(action.startswith("aws-actions/amazon-ecr-login@") for action in uses)
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
