"""The GitHub workflows parse and run the commands this repository actually has."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.stacks.stack import OUTPUTS, Stack

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
    (deploy,) = [s["run"] for s in _steps(flows) if "flows/deploy.py" in s.get("run", "")]
    for option in re.findall(r"(--[a-z-]+)", deploy.split("flows/deploy.py", 1)[1]):
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


# --- the EMR Serverless job's image (flows/spark-job.Dockerfile) ---------------------------

SPARK_DOCKERFILE = ROOT / "flows" / "spark-job.Dockerfile"
#: The one base image not pinned by digest in the file itself: the workflow resolves EMR's
#: dated tag (the ARG's default) to its digest at build time and passes it in, because
#: EMR's registry cannot be reached from here to pin one (flows/README.md, "Image pins").
EMR_BASE = "${EMR_BASE_IMAGE}@${EMR_BASE_DIGEST}"
SPARK_STEPS = [
    "Find the Spark job image repository",
    "Build and push the Spark job image",
    "Set the Spark job image on the EMR Serverless application",
]


def _arg_defaults(text: str) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"ARG\s+(\w+)(?:=(\S+))?", line.strip())
        if match:
            found.setdefault(match.group(1), match.group(2))
    return found


def test_every_dockerfile_pins_its_images_but_the_emr_base_the_workflow_resolves() -> None:
    """Every `FROM` and `COPY --from=` image of every Dockerfile under flows/ by
    `tag@sha256:`, with one exception: the Spark job image's EMR base, by EMR's dated tag
    and the digest the workflow passes (no default: an unpinned build fails).

    Mutation: give `ARG EMR_BASE_DIGEST` a default, write its FROM as the tag alone, or
    drop the digest of the uv image in spark-job.Dockerfile."""
    dockerfiles = sorted((ROOT / "flows").glob("*Dockerfile"))
    assert [path.name for path in dockerfiles] == ["Dockerfile", "spark-job.Dockerfile"]
    for path in dockerfiles:
        bases, copied = _dockerfile_images(path.read_text())
        for image in bases + copied:
            if path == SPARK_DOCKERFILE and image == EMR_BASE:
                continue
            assert re.fullmatch(PINNED_IMAGE, image), f"{path.name}: {image} is not pinned"
    bases, _ = _dockerfile_images(SPARK_DOCKERFILE.read_text())
    assert bases[-1] == EMR_BASE, bases
    args = _arg_defaults(SPARK_DOCKERFILE.read_text())
    assert args["EMR_BASE_DIGEST"] is None
    assert re.fullmatch(
        r"public\.ecr\.aws/emr-serverless/spark/emr-[\d.]+:\d{8}", str(args["EMR_BASE_IMAGE"])
    )
    # The same uv as the flow image's.
    assert bases[0] == _dockerfile_images((ROOT / "flows" / "Dockerfile").read_text())[0][0]


def test_the_spark_job_image_is_the_application_release_with_python_311(dev_spark: Stack) -> None:
    """EMR's base of the application's own release, Python 3.11 as root, Spark pointed at
    it, and back to EMR's `hadoop` user.

    Mutation: bump the stack's RELEASE_LABEL without the Dockerfile, drop the final
    `USER hadoop:hadoop`, or move the image's venv without the stack's SPARK_JOB_PYTHON."""
    text = SPARK_DOCKERFILE.read_text()
    (application,) = dev_spark.all("emrserverless/application:Application")
    release = application["inputs"]["releaseLabel"]
    base = str(_arg_defaults(text)["EMR_BASE_IMAGE"])
    assert base.startswith(f"public.ecr.aws/emr-serverless/spark/{release}:"), (base, release)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users == ["root", "hadoop:hadoop"]
    assert "dnf install -y python3.11" in text
    # The interpreter the stack tells Spark's driver and executors to run.
    parameters = dev_spark.outputs["settings"]["UMWI_EMR_SPARK_PARAMETERS"]
    pythons = set(re.findall(r"PYSPARK_PYTHON=(\S+)", parameters))
    assert len(pythons) == 1, parameters
    (python,) = pythons
    venv = python.removesuffix("/bin/python")
    assert f"uv venv --python /usr/bin/python3.11 {venv}" in text
    assert re.search(rf"^ENV PYSPARK_PYTHON={re.escape(python)}$", text, re.M)
    assert text.index("USER root") < text.index("dnf install") < text.index("USER hadoop")
    # The build itself checks that EMR's pyspark 3.5 and umwi load on that Python.
    assert "pyspark.__version__.startswith('3.5')" in text
    assert "import pyspark, ibis.backends.pyspark, umwi_transform.spark" in text


def test_the_spark_job_image_installs_the_locked_transform_without_pyspark() -> None:
    """The Dockerfile's own `uv export`, run on this lock: umwi-transform, umwi-core and
    their dependencies at their locked versions, among them everything ibis's pyspark
    backend needs but pyspark itself (EMR's Spark 3.5 brings its own, with py4j).

    Mutation: drop `--package umwi-transform` from the Dockerfile (the whole workspace),
    or add `ibis-framework[pyspark]` to umwi-transform's dependencies (pyspark 4 with it)."""
    text = SPARK_DOCKERFILE.read_text()
    match = re.search(r"(uv export [^\n&]*?)\s+--output-file requirements\.txt", text)
    assert match is not None, "no uv export in flows/spark-job.Dockerfile"
    uv = shutil.which("uv")
    assert uv is not None, "uv is not on PATH"
    process = subprocess.run(
        [uv, *shlex.split(match.group(1))[1:], "--no-hashes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    lines = [line for line in process.stdout.splitlines() if not line.lstrip().startswith("#")]
    names = {re.split(r"[=\s;]", line, maxsplit=1)[0] for line in lines if line.strip()}
    assert {name for name in names if name.startswith("./")} == {
        "./packages/umwi-core",
        "./packages/umwi-transform",
    }
    assert not {"pyspark", "py4j", "pyspark-client"} & names
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (ibis,) = [p for p in lock["package"] if p["name"] == "ibis-framework"]
    wanted = {dep["name"] for dep in ibis["optional-dependencies"]["pyspark"]} - {"pyspark"}
    assert wanted <= names, wanted - names
    assert {"ibis-framework", "deltalake", "pyarrow", "duckdb", "scipy"} <= names


def test_the_spark_job_image_is_shipped_after_the_flow_image_by_digest() -> None:
    """On a stack whose outputs name the Spark image repository: built for the
    application's architecture from the pinned Dockerfile, pushed under the commit, and
    set on the application by digest, after the flow image and as the deploy role.

    Mutation: set `imageUri=$REPOSITORY:$TAG` (a tag, not the digest), drop the `if:` of a
    Spark step, or move the Spark steps before the flow image's."""
    (job,) = _load("flows-deploy")["jobs"].values()
    steps = job["steps"]
    names = [step.get("name") for step in steps]
    assert names[-3:] == SPARK_STEPS, names
    flows = names.index("Build and push the flow image, register the deployments")
    (credentials,) = [
        i for i, s in enumerate(steps) if s.get("uses", "").startswith("aws-actions/configure")
    ]
    assert steps[credentials]["with"]["role-to-assume"] == "${{ env.DEPLOY_ROLE }}"
    assert credentials < flows < names.index(SPARK_STEPS[0])
    find, build, update = steps[-3:]
    assert find["id"] == "spark"
    for output in re.findall(r"'\.(\w+) // empty'", find["run"]):
        assert output in OUTPUTS, output
    assert ".sparkImageRepositoryUrl" in find["run"]
    assert ".sparkApplicationId" in find["run"]
    for step in (build, update):
        assert step["if"] == "steps.spark.outputs.repository != ''"
    assert build["env"]["TAG"] == "${{ github.sha }}"
    command = " ".join(build["run"].replace("\\\n", " ").split())
    for part in (
        "docker buildx build --platform linux/amd64 --file flows/spark-job.Dockerfile",
        '--build-arg EMR_BASE_DIGEST="$base_digest"',
        '--tag "$REPOSITORY:$TAG" --push',
        "--provenance=false",
        'docker buildx imagetools inspect "$base"',
        'echo "digest=$digest" >> "$GITHUB_OUTPUT"',
    ):
        assert part in command, part
    # The base the workflow resolves is the Dockerfile's pinned dated tag.
    sed = re.search(r"base=\$\((sed [^)]*)\)", build["run"])
    assert sed is not None
    base = subprocess.run(
        ["bash", "-c", sed.group(1)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert base == _arg_defaults(SPARK_DOCKERFILE.read_text())["EMR_BASE_IMAGE"]
    assert update["env"]["IMAGE"] == (
        "${{ steps.spark.outputs.repository }}@${{ steps.spark_image.outputs.digest }}"
    )
    assert build["id"] == "spark_image"
    assert update["env"]["APPLICATION"] == "${{ steps.spark.outputs.application }}"
    script = " ".join(update["run"].replace("\\\n", " ").split())
    assert (
        'aws emr-serverless update-application --application-id "$APPLICATION" '
        '--image-configuration "imageUri=$IMAGE"'
    ) in script
    # Only while the application is idle, and it is idle again before the job ends.
    assert script.count("wait_until_idle") == 3
    assert "CREATED|STOPPED" in script
