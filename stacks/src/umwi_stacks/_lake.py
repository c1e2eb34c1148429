"""The data lake bucket and the bucket that receives S3 access logs."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from umwi_core.naming import ResourceNames

from umwi_stacks._bucket import SecureBucket
from umwi_stacks._config import StackConfig
from umwi_stacks._policy import Statement

# Raw payloads are kept for replay but rarely read after the first days.
BRONZE_PREFIX = "lake/bronze/"


def _log_delivery(account_id: str) -> Any:
    def statements(bucket_arn: pulumi.Output[str]) -> list[Statement]:
        return [
            {
                "Sid": "S3ServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": ["s3:PutObject"],
                "Resource": [pulumi.Output.concat(bucket_arn, "/*")],
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ]

    return statements


class DataLake(pulumi.ComponentResource):
    """`s3://<lake bucket>/lake`, versioned and SSE-KMS encrypted, plus its access logs."""

    bucket: aws.s3.Bucket
    log_bucket: aws.s3.Bucket

    def __init__(
        self,
        name: str,
        *,
        names: ResourceNames,
        config: StackConfig,
        account_id: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:DataLake", name, None, opts)
        # Lifecycle rules stay with a retained bucket (see SecureBucket).
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=config.retain_data)
        logs = SecureBucket(
            "access-logs",
            bucket_name=names.access_log_bucket,
            config=config,
            # S3 server access logging can only write to SSE-S3 buckets.
            encryption="AES256",
            log_target=None,
            policy_statements=_log_delivery(account_id),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.log_bucket = logs.bucket
        aws.s3.BucketLifecycleConfiguration(
            "access-logs-lifecycle",
            bucket=self.log_bucket.id,
            rules=[
                {
                    "id": "expire-access-logs",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": 365 if config.retain_data else 90},
                    "noncurrent_version_expiration": {"noncurrent_days": 7},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=keep,
        )
        lake = SecureBucket(
            "lake",
            bucket_name=names.lake_bucket,
            config=config,
            encryption="aws:kms",
            log_target=self.log_bucket,
            log_prefix="lake/",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket = lake.bucket
        aws.s3.BucketLifecycleConfiguration(
            "lake-lifecycle",
            bucket=self.bucket.id,
            rules=[_bronze_rule(config), _housekeeping_rule(config)],
            opts=keep,
        )
        self.register_outputs({"bucket": self.bucket.bucket, "logBucket": self.log_bucket.bucket})


def _bronze_rule(config: StackConfig) -> aws.s3.BucketLifecycleConfigurationRuleArgsDict:
    transitions: list[aws.s3.BucketLifecycleConfigurationRuleTransitionArgsDict] = [
        {"days": config.bronze_ia_days, "storage_class": "STANDARD_IA"}
    ]
    if config.bronze_glacier_days is not None:
        transitions.append({"days": config.bronze_glacier_days, "storage_class": "GLACIER_IR"})
    rule: aws.s3.BucketLifecycleConfigurationRuleArgsDict = {
        "id": "bronze-tiering",
        "status": "Enabled",
        "filter": {"prefix": BRONZE_PREFIX},
        "transitions": transitions,
    }
    if config.bronze_expire_days is not None:
        rule["expiration"] = {"days": config.bronze_expire_days}
    return rule


def _housekeeping_rule(config: StackConfig) -> aws.s3.BucketLifecycleConfigurationRuleArgsDict:
    # Delta rewrites and `umwi maintain` vacuums leave old versions behind; versioning
    # would otherwise keep paying for them forever.
    return {
        "id": "noncurrent-versions",
        "status": "Enabled",
        "filter": {"prefix": ""},
        "noncurrent_version_expiration": {"noncurrent_days": config.noncurrent_expire_days},
        "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
    }
