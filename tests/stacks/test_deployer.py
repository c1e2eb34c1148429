"""The GitHub deploy role: only this repository's environment, only shipping actions."""

from __future__ import annotations

import json

from tests.stacks.conftest import GITHUB_REPOSITORY
from tests.stacks.stack import Stack
from tests.stacks.synth import ACCOUNT_ID


def test_no_deploy_role_without_a_repository(dev: Stack) -> None:
    assert [r for r in dev.all("iam/role:Role") if r["name"] == "github-deploy"] == []
    assert dev.outputs["githubDeployRoleArn"] is None


def test_deploy_role_trusts_one_repository_environment(prod: Stack) -> None:
    role = prod.inputs("iam/role:Role", "github-deploy")
    assert prod.outputs["githubDeployRoleArn"] == (
        f"arn:aws:iam::{ACCOUNT_ID}:role/umwi-prod-github-deploy"
    )
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": (
                f"repo:{GITHUB_REPOSITORY}:environment:prod"
            ),
        }
    }


def test_deploy_role_only_ships_the_image_and_the_dashboard(prod: Stack) -> None:
    statements = {s["Sid"]: s for s in prod.role_statements("github-deploy-policy")}
    assert set(statements) == {
        "EcrLogin",
        "PushFlowImage",
        "ListDashboard",
        "SyncDashboard",
        "InvalidateDashboard",
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
