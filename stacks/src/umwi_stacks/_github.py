"""Trust policies for roles GitHub Actions assumes through its OIDC provider.

A job's token names the repository and, in its subject, either the GitHub environment the
job runs in (`repo:<r>:environment:<env>`) or, for pull requests without one,
`repo:<r>:pull_request`. AWS STS also checks GitHub's `ref` and `job_workflow_ref`
claims as condition keys, which pins a role to the main branch and to named workflows.
"""

from __future__ import annotations

from typing import Any

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
MAIN = "refs/heads/main"


def github_trust(
    provider_arn: str,
    repository: str,
    *,
    environment: str | None = None,
    pull_request: bool = False,
    main_only_workflows: list[str] | None = None,
) -> dict[str, Any]:
    """An AssumeRoleWithWebIdentity trust policy for one repository.

    `environment`: jobs running in that GitHub environment; `pull_request`: pull-request
    jobs without an environment (read-only roles only); `main_only_workflows`: also
    require the main branch and one of these workflow files (`.github/workflows/<x>`).
    """
    if (environment is None) == (not pull_request):
        raise ValueError("give exactly one of environment= or pull_request=True")
    subject = (
        f"repo:{repository}:pull_request"
        if pull_request
        else f"repo:{repository}:environment:{environment}"
    )
    equals: dict[str, Any] = {
        f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
        f"{GITHUB_OIDC_HOST}:sub": subject,
    }
    if main_only_workflows:
        equals[f"{GITHUB_OIDC_HOST}:ref"] = MAIN
        equals[f"{GITHUB_OIDC_HOST}:job_workflow_ref"] = [
            f"{repository}/.github/workflows/{workflow}@{MAIN}" for workflow in main_only_workflows
        ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": equals},
            }
        ],
    }
