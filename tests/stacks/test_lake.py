"""Data lake, access-log and dashboard buckets: the S3 baseline on every bucket."""

from __future__ import annotations

import json
from typing import Any

from umwi_core.naming import resource_names

from tests.stacks.stack import Stack, as_list
from tests.stacks.synth import ACCOUNT_ID

BUCKETS = {"lake": "aws:kms", "access-logs": "AES256", "dashboard": "AES256"}


def test_bucket_names_come_from_resource_names(each_stack: Stack) -> None:
    names = resource_names(each_stack.env, ACCOUNT_ID)
    physical = {r["name"]: r["inputs"]["bucket"] for r in each_stack.all("s3/bucket:Bucket")}
    assert physical == {
        "lake": names.lake_bucket,
        "access-logs": names.access_log_bucket,
        "dashboard": names.dashboard_bucket,
    }
    assert each_stack.outputs["lakeUri"] == names.lake_uri()


def test_every_bucket_is_versioned_encrypted_private_and_owner_enforced(
    each_stack: Stack,
) -> None:
    for bucket, algorithm in BUCKETS.items():
        versioning = each_stack.for_bucket("s3/bucketVersioning:BucketVersioning", bucket)
        assert versioning["versioningConfiguration"]["status"] == "Enabled", bucket
        encryption = each_stack.for_bucket("BucketServerSideEncryptionConfiguration", bucket)[
            "rules"
        ]
        assert [r["applyServerSideEncryptionByDefault"]["sseAlgorithm"] for r in encryption] == [
            algorithm
        ], bucket
        block = each_stack.for_bucket("BucketPublicAccessBlock", bucket)
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ):
            assert block[flag] is True, (bucket, flag)
        ownership = each_stack.for_bucket("BucketOwnershipControls", bucket)
        assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced", bucket


def test_every_bucket_policy_refuses_plain_http(each_stack: Stack) -> None:
    for bucket in BUCKETS:
        arn = f"arn:aws:s3:::{each_stack.inputs('s3/bucket:Bucket', bucket)['bucket']}"
        policy = json.loads(each_stack.for_bucket("s3/bucketPolicy:BucketPolicy", bucket)["policy"])
        deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
        assert len(deny) == 1, bucket
        assert deny[0]["Principal"] == "*"
        assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert sorted(as_list(deny[0]["Resource"])) == sorted([arn, f"{arn}/*"])
        assert as_list(deny[0]["Action"]) == ["s3:*"]


def test_lake_and_dashboard_log_access_to_the_log_bucket(each_stack: Stack) -> None:
    prefixes = {}
    for resource in each_stack.all("s3/bucketLogging:BucketLogging"):
        assert resource["inputs"]["targetBucket"] == "access-logs-id"
        prefixes[resource["inputs"]["bucket"]] = resource["inputs"]["targetPrefix"]
    assert prefixes == {"lake-id": "lake/", "dashboard-id": "dashboard/"}


def test_only_the_s3_logging_service_of_this_account_writes_access_logs(
    each_stack: Stack,
) -> None:
    policy = json.loads(
        each_stack.for_bucket("s3/bucketPolicy:BucketPolicy", "access-logs")["policy"]
    )
    (grant,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert grant["Action"] == ["s3:PutObject"]
    assert grant["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


def test_lake_policy_grants_nobody_anything(each_stack: Stack) -> None:
    # Access to the lake comes only from the roles' identity policies.
    policy = json.loads(each_stack.for_bucket("s3/bucketPolicy:BucketPolicy", "lake")["policy"])
    assert [s["Effect"] for s in policy["Statement"]] == ["Deny"]


def test_bronze_is_tiered_and_old_versions_expire(dev: Stack, prod: Stack) -> None:
    def rules(stack: Stack) -> dict[str, dict[str, Any]]:
        lifecycle = stack.for_bucket("BucketLifecycleConfiguration", "lake")
        return {rule["id"]: rule for rule in lifecycle["rules"]}

    for stack in (dev, prod):
        bronze = rules(stack)["bronze-tiering"]
        assert bronze["status"] == "Enabled"
        assert bronze["filter"] == {"prefix": "lake/bronze/"}
        assert {"days": 30, "storageClass": "STANDARD_IA"} in bronze["transitions"]
        housekeeping = rules(stack)["noncurrent-versions"]
        assert housekeeping["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rules(dev)["bronze-tiering"]["expiration"] == {"days": 90}
    assert "expiration" not in rules(prod)["bronze-tiering"]
    assert {"days": 180, "storageClass": "GLACIER_IR"} in rules(prod)["bronze-tiering"][
        "transitions"
    ]
    assert rules(dev)["noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 7}
