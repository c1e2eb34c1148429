"""A private S3 bucket with umwi's baseline: versioned, encrypted, not public, TLS only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pulumi
import pulumi_aws as aws

from umwi_stacks._config import StackConfig
from umwi_stacks._policy import Statement, document, tls_only

Encryption = Literal["aws:kms", "AES256"]


class SecureBucket(pulumi.ComponentResource):
    """One bucket plus the resources that lock it down.

    `policy_statements` receives the bucket ARN and returns the statements granted on top
    of the TLS-only deny, so callers can grant a service principal access to it.
    """

    bucket: aws.s3.Bucket

    def __init__(
        self,
        name: str,
        *,
        bucket_name: str,
        config: StackConfig,
        encryption: Encryption,
        log_target: aws.s3.Bucket | None,
        log_prefix: str = "",
        policy_statements: Callable[[pulumi.Output[str]], Sequence[Statement]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:SecureBucket", name, None, opts)
        # Deleting the stack must not delete prod data; dev buckets empty themselves. A
        # retained bucket keeps its settings too: destroying them would leave it
        # unencrypted, unversioned and open to a public policy.
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=config.retain_data)
        child = keep
        self.bucket = aws.s3.Bucket(
            name,
            bucket=bucket_name,
            force_destroy=not config.retain_data,
            tags={**config.tags, "Name": bucket_name},
            opts=keep,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": encryption},
                    # The bucket key cuts KMS requests (and their cost) by ~99%.
                    "bucket_key_enabled": encryption == "aws:kms",
                }
            ],
            opts=child,
        )
        if log_target is not None:
            aws.s3.BucketLogging(
                f"{name}-logging",
                bucket=self.bucket.id,
                target_bucket=log_target.id,
                target_prefix=log_prefix,
                opts=child,
            )
        extra = list(policy_statements(self.bucket.arn)) if policy_statements else []
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=document([tls_only(self.bucket.arn), *extra]),
            # A policy put before the public access block exists can be refused as public.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[public_block, ownership],
                retain_on_delete=config.retain_data,
            ),
        )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})
