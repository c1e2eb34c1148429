"""The GitHub deploy role: only this repository's environment, only shipping actions."""

from __future__ import annotations

import json

import pytest

from tests.stacks.conftest import GITHUB_REPOSITORY, SECRETS_KEY, STATE_BUCKET
from tests.stacks.stack import Stack
from tests.stacks.synth import ACCOUNT_ID


def test_no_github_roles_without_a_repository(dev: Stack) -> None:
    names = {r["name"] for r in dev.all("iam/role:Role")}
    assert not names & {"github-deploy", "github-preview"}
    assert dev.outputs["githubDeployRoleArn"] is None
    assert dev.outputs["githubPreviewRoleArn"] is None


def test_prod_deploy_role_trusts_only_main_and_the_deploy_workflows(prod: Stack) -> None:
    """Mutation: drop `main_only_workflows` for prod in _deployer.py and this fails."""
    role = prod.inputs("iam/role:Role", "github-deploy")
    assert prod.outputs["githubDeployRoleArn"] == (
        f"arn:aws:iam::{ACCOUNT_ID}:role/umwi-prod-github-deploy"
    )
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    workflows = f"{GITHUB_REPOSITORY}/.github/workflows"
    assert trust["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": (
                f"repo:{GITHUB_REPOSITORY}:environment:prod"
            ),
            "token.actions.githubusercontent.com:ref": "refs/heads/main",
            "token.actions.githubusercontent.com:job_workflow_ref": [
                f"{workflows}/flows-deploy.yml@refs/heads/main",
                f"{workflows}/dashboard-deploy.yml@refs/heads/main",
            ],
        }
    }


def test_preview_role_trusts_only_pull_requests_and_only_reads_state(prod: Stack) -> None:
    """Mutation: give the preview role `environment=config.env` (the subject of a job in
    the prod environment) or a write action, and this fails."""
    role = prod.inputs("iam/role:Role", "github-preview")
    assert prod.outputs["githubPreviewRoleArn"] == (
        f"arn:aws:iam::{ACCOUNT_ID}:role/umwi-prod-github-preview"
    )
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{GITHUB_REPOSITORY}:pull_request",
        }
    }
    statements = {s["Sid"]: s for s in prod.role_statements("github-preview-policy")}
    assert set(statements) == {"ListStackState", "ReadStackState", "DecryptStackSecrets"}
    actions = {a for s in statements.values() for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"}
    assert statements["ReadStackState"]["Resource"] == [f"arn:aws:s3:::{STATE_BUCKET}/.pulumi/*"]
    assert statements["DecryptStackSecrets"]["Resource"] == [SECRETS_KEY]
    # The deploy role reads the state the same way (`pulumi stack output`), no more.
    deploy = {s["Sid"] for s in prod.role_statements("github-deploy-policy")}
    assert {"ListStackState", "ReadStackState", "DecryptStackSecrets"} <= deploy


def test_bootstrap_role_trust_for_pulumi_up() -> None:
    """The documented trust of the role `pulumi up` runs as (created by hand)."""
    from umwi_stacks import github_trust

    provider = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
    prod = github_trust(
        provider, GITHUB_REPOSITORY, environment="prod", main_only_workflows=["pulumi-stack.yml"]
    )
    (statement,) = prod["Statement"]
    equals = statement["Condition"]["StringEquals"]
    assert equals["token.actions.githubusercontent.com:ref"] == "refs/heads/main"
    assert equals["token.actions.githubusercontent.com:job_workflow_ref"] == [
        f"{GITHUB_REPOSITORY}/.github/workflows/pulumi-stack.yml@refs/heads/main"
    ]
    with pytest.raises(ValueError, match="exactly one"):
        github_trust(provider, GITHUB_REPOSITORY, environment="prod", pull_request=True)


def test_deploy_role_only_ships_the_image_and_the_dashboard(prod: Stack) -> None:
    statements = {s["Sid"]: s for s in prod.role_statements("github-deploy-policy")}
    assert set(statements) == {
        "EcrLogin",
        "PushFlowImage",
        "ListDashboard",
        "SyncDashboard",
        "InvalidateDashboard",
        "ListStackState",
        "ReadStackState",
        "DecryptStackSecrets",
    }
    bucket = f"arn:aws:s3:::{prod.outputs['dashboardBucket']}"
    assert statements["PushFlowImage"]["Resource"] == [
        f"arn:aws:ecr:eu-west-1:{ACCOUNT_ID}:repository/umwi-prod-flows"
    ]
    assert statements["ListDashboard"]["Resource"] == [bucket]
    assert statements["SyncDashboard"]["Resource"] == [f"{bucket}/*"]
    assert statements["InvalidateDashboard"]["Resource"] == [
        f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/E2EXAMPLE"
    ]
    # Never the lake, the tables or the topic.
    resources = json.dumps(list(statements.values()))
    assert prod.outputs["lakeBucket"] not in resources
    assert "dynamodb" not in resources
    assert "sns" not in resources
