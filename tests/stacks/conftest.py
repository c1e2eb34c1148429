"""Synthesize each stack once per test session, in one subprocess (see synth.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.stacks.stack import Stack

SYNTH = Path(__file__).with_name("synth.py")
PREFECT_API_URL = "https://api.prefect.cloud/api/accounts/a1/workspaces/w1"
PREFECT_PRINCIPAL = "arn:aws:iam::210987654321:root"
EXTERNAL_ID = "umwi-prod-external-id-42"
GITHUB_REPOSITORY = "example-org/umwi"
STATE_BUCKET = "example-org-pulumi-state"
SECRETS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# A test value in the shape of a pinned image (no registry is contacted).
WORKER_IMAGE = "prefecthq/prefect-aws@sha256:" + "4" * 64
NAVITIA_TOKEN = "navitia-token-value-7f3e"  # a stack secret that must not leak to outputs


def variants(bundle: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    common = {"umwi:apiBundle": str(bundle)}
    worker = {"umwi:prefectApiUrl": PREFECT_API_URL, "umwi:prefectWorkerImage": WORKER_IMAGE}
    return {
        "dev": ("dev", {**common, **worker}),
        "prod": (
            "prod",
            {
                **common,
                **worker,
                "umwi:corsOrigins": ["https://dashboard.example.org"],
                "umwi:alertEmails": ["ops@example.org", "data@example.org"],
                "umwi:navitiaToken": NAVITIA_TOKEN,
                "umwi:githubRepository": GITHUB_REPOSITORY,
                "umwi:pulumiStateBucket": STATE_BUCKET,
                "umwi:pulumiSecretsKeyArn": SECRETS_KEY,
            },
        ),
        # dev through stacks/__main__.py, as `pulumi up` runs it
        "dev-entrypoint": (
            "dev",
            {**common, **worker, "entrypoint": True},
        ),
        # dev with the opt-in Spark engine (an EMR Serverless application, job role and
        # image repository) and the GitHub deploy role that ships its image
        "dev-spark": (
            "dev",
            {
                **common,
                **worker,
                "umwi:sparkEngine": "emr-serverless",
                "umwi:githubRepository": GITHUB_REPOSITORY,
            },
        ),
        # dev with the optional private subnets + NAT gateway, and the push pool
        "dev-private": (
            "dev",
            {
                **common,
                "umwi:privateNetworking": "true",
                "umwi:prefectMode": "push",
                "umwi:prefectTrustedPrincipal": PREFECT_PRINCIPAL,
                "umwi:prefectExternalId": EXTERNAL_ID,
            },
        ),
    }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Synthesizing the stacks takes several seconds (once per session).
    for item in items:
        if "stacks" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def lambda_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = tmp_path_factory.mktemp("bundle") / "lambda.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("umwi_api/lambda_handler.py", "def handler(event, context): ...\n")
    return bundle


@pytest.fixture(scope="session")
def stacks(lambda_bundle: Path) -> dict[str, Stack]:
    process = subprocess.run(
        [sys.executable, str(SYNTH), json.dumps(variants(lambda_bundle))],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert process.returncode == 0, f"synth failed\n{process.stderr[-4000:]}"
    result: dict[str, Stack] = {}
    for key, document in json.loads(process.stdout).items():
        assert "error" not in document, f"{key}: {document.get('error')}"
        result[key] = Stack(key, document["resources"], document["outputs"])
    return result


@pytest.fixture(scope="session")
def dev(stacks: dict[str, Stack]) -> Stack:
    return stacks["dev"]


@pytest.fixture(scope="session")
def prod(stacks: dict[str, Stack]) -> Stack:
    return stacks["prod"]


@pytest.fixture(scope="session")
def dev_private(stacks: dict[str, Stack]) -> Stack:
    return stacks["dev-private"]


@pytest.fixture(scope="session")
def dev_spark(stacks: dict[str, Stack]) -> Stack:
    return stacks["dev-spark"]


@pytest.fixture(params=["dev", "prod", "dev-private", "dev-spark"])
def any_variant(request: pytest.FixtureRequest, stacks: dict[str, Stack]) -> Stack:
    """Every synthesized variant, the opt-in Spark engine's included."""
    return stacks[request.param]


@pytest.fixture(params=["dev", "prod", "dev-private"])
def each_stack(request: pytest.FixtureRequest, stacks: dict[str, Stack]) -> Stack:
    return stacks[request.param]
