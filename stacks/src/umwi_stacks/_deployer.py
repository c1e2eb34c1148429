"""The roles GitHub Actions assumes: one to ship the flow image and the dashboard (and the
Spark job's image, when the stack has the engine), one read-only to preview the stack on
pull requests.

`pulumi up` itself runs as a bootstrap role created outside this program (it cannot
create the role it runs as); its trust policy is `github_trust(..., environment=<env>,
main_only_workflows=["pulumi-stack.yml"])` (stacks/README.md).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from umwi_core.naming import ResourceNames

from umwi_stacks._config import StackConfig
from umwi_stacks._github import GITHUB_OIDC_HOST, github_trust
from umwi_stacks._policy import Statement, allow, document

DEPLOY_WORKFLOWS = ["flows-deploy.yml", "dashboard-deploy.yml"]


class GithubDeployer(pulumi.ComponentResource):
    role: aws.iam.Role
    preview_role: aws.iam.Role

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
        extra_statements: list[Statement] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:GithubDeployer", name, None, opts)
        provider = (
            config.github_oidc_provider_arn
            or f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"
        )
        repository_name = str(config.github_repository)
        # prod ships only from main, and only through the two deploy workflows.
        trust = github_trust(
            provider,
            repository_name,
            environment=config.env,
            main_only_workflows=DEPLOY_WORKFLOWS if config.env == "prod" else None,
        )
        self.role = aws.iam.Role(
            "github-deploy",
            name=f"{names.prefix}-github-deploy",
            assume_role_policy=pulumi.Output.json_dumps(trust),
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
                    # `pulumi stack output` reads the state and decrypts it.
                    *_read_stack_state(config),
                    # Ship the Spark job's image, when the stack has the engine.
                    *(extra_statements or []),
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.preview_role = aws.iam.Role(
            "github-preview",
            name=f"{names.prefix}-github-preview",
            # Pull requests run no GitHub environment, so their token's subject is
            # repo:<r>:pull_request: this role, never the deploy or `pulumi up` one.
            assume_role_policy=pulumi.Output.json_dumps(
                github_trust(provider, repository_name, pull_request=True)
            ),
            max_session_duration=3600,
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        state = _read_stack_state(config)
        if state:
            aws.iam.RolePolicy(
                "github-preview-policy",
                role=self.preview_role.id,
                policy=document(state),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"roleArn": self.role.arn, "previewRoleArn": self.preview_role.arn})


def _read_stack_state(config: StackConfig) -> list[Statement]:
    """Read the self-managed state (`s3://<bucket>/.pulumi/`) and decrypt its secrets
    (the `awskms://` secrets provider's key): what `pulumi preview` and `pulumi stack
    output` need, and nothing that writes."""
    statements: list[Statement] = []
    if config.pulumi_state_bucket:
        bucket = f"arn:aws:s3:::{config.pulumi_state_bucket}"
        statements += [
            allow(
                "ListStackState",
                ["s3:ListBucket"],
                [bucket],
                Condition={"StringLike": {"s3:prefix": [".pulumi/*"]}},
            ),
            allow("ReadStackState", ["s3:GetObject"], [f"{bucket}/.pulumi/*"]),
        ]
    if config.pulumi_secrets_key_arn:
        statements.append(
            allow("DecryptStackSecrets", ["kms:Decrypt"], [config.pulumi_secrets_key_arn])
        )
    return statements
