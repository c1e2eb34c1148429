"""The role GitHub Actions assumes to ship the flow image and the dashboard.

Only for the deploy workflows: `pulumi up` itself runs as a bootstrap role created
outside this program (it cannot create the role it runs as).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from umwi_core.naming import ResourceNames

from umwi_stacks._config import StackConfig
from umwi_stacks._policy import allow, document

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"


class GithubDeployer(pulumi.ComponentResource):
    role: aws.iam.Role

    def __init__(
        self,
        name: str,
        *,
        names: ResourceNames,
        config: StackConfig,
        account_id: str,
        repository: aws.ecr.Repository,
        dashboard_bucket: aws.s3.Bucket,
        distribution: aws.cloudfront.Distribution,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:GithubDeployer", name, None, opts)
        provider = (
            config.github_oidc_provider_arn
            or f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"
        )
        trust = document(
            [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    # Only jobs of this repository running in this GitHub environment.
                    "Condition": {
                        "StringEquals": {
                            f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
                            f"{GITHUB_OIDC_HOST}:sub": (
                                f"repo:{config.github_repository}:environment:{config.env}"
                            ),
                        }
                    },
                }
            ]
        )
        self.role = aws.iam.Role(
            "github-deploy",
            name=f"{names.prefix}-github-deploy",
            assume_role_policy=trust,
            max_session_duration=3600,
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            "github-deploy-policy",
            role=self.role.id,
            policy=document(
                [
                    # GetAuthorizationToken is account-wide: AWS offers no narrower resource.
                    allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
                    allow(
                        "PushFlowImage",
                        [
                            "ecr:BatchCheckLayerAvailability",
                            "ecr:BatchGetImage",
                            "ecr:CompleteLayerUpload",
                            "ecr:DescribeImages",
                            "ecr:InitiateLayerUpload",
                            "ecr:PutImage",
                            "ecr:UploadLayerPart",
                        ],
                        [repository.arn],
                    ),
                    allow("ListDashboard", ["s3:ListBucket"], [dashboard_bucket.arn]),
                    allow(
                        "SyncDashboard",
                        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                        [pulumi.Output.concat(dashboard_bucket.arn, "/*")],
                    ),
                    allow(
                        "InvalidateDashboard",
                        ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
                        [distribution.arn],
                    ),
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"roleArn": self.role.arn})
