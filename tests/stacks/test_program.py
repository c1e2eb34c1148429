"""The whole program: tags, names, outputs, and what differs between dev and prod."""

from __future__ import annotations

import importlib
import inspect
import re

from umwi_core.naming import resource_names

from tests.stacks.stack import OUTPUTS, Stack
from tests.stacks.synth import ACCOUNT_ID, REGION

DATA_HOLDING = {
    "aws:s3/bucket:Bucket",
    "aws:dynamodb/table:Table",
    "aws:ecr/repository:Repository",
    "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretVersion:SecretVersion",
}
# A retained bucket keeps its settings: deleting them would strip its protection.
BUCKET_SETTINGS = {
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
}


def _accepts_tags(type_token: str) -> bool:
    """Whether pulumi-aws's class for `aws:<module>/<x>:<Class>` takes `tags`."""
    module, kind = type_token.split(":")[1].split("/")[0], type_token.split(":")[2]
    package = importlib.import_module(f"pulumi_aws.{'lambda_' if module == 'lambda' else module}")
    cls = getattr(package, kind)
    return "tags" in inspect.signature(cls._internal_init).parameters


def test_every_taggable_resource_has_the_common_tags(each_stack: Stack) -> None:
    checked = 0
    for resource in each_stack.resources:
        if not resource["custom"] or not _accepts_tags(resource["type"]):
            continue
        tags = resource["inputs"].get("tags") or {}
        assert tags.get("project") == "umwi", resource["name"]
        assert tags.get("environment") == each_stack.env, resource["name"]
        assert tags.get("owner") == "data-engineering", resource["name"]
        checked += 1
    assert checked >= 25


def test_physical_names_are_prefixed_with_the_environment(each_stack: Stack) -> None:
    prefix = f"umwi-{each_stack.env}"
    allowed = re.compile(rf"^({prefix}[-/]|/umwi/{each_stack.env}/|/aws/lambda/{prefix}-)")
    checked = 0
    for resource in each_stack.resources:
        if resource["type"] in ("aws:apigatewayv2/stage:Stage", "aws:lambda/alias:Alias"):
            continue  # "$default" (API Gateway's stage) and "live" live inside named parents
        for key in ("name", "bucket", "family"):
            value = resource["inputs"].get(key)
            if isinstance(value, str) and resource["custom"] and not value.endswith("-id"):
                assert allowed.match(value), (resource["type"], value)
                checked += 1
    assert checked >= 20


def test_each_variant_declares_only_its_own_resources(each_stack: Stack) -> None:
    stack_name = "prod" if each_stack.key == "prod" else "dev"
    seen = set()
    for resource in each_stack.resources:
        assert resource["parent"].startswith(f"urn:pulumi:{stack_name}::umwi::"), resource
        key = (resource["type"], resource["name"])
        assert key not in seen, key
        seen.add(key)


def test_every_resource_belongs_to_a_component(each_stack: Stack) -> None:
    for resource in each_stack.resources:
        if resource["custom"]:
            assert "$umwi:stacks:" in resource["parent"], resource["name"]


def test_outputs_are_complete_and_consistent(each_stack: Stack) -> None:
    outputs = each_stack.outputs
    names = resource_names(each_stack.env, ACCOUNT_ID)
    assert set(outputs) == OUTPUTS
    assert outputs["region"] == REGION
    assert outputs["lakeBucket"] == names.lake_bucket
    assert outputs["ledgerTable"] == names.ledger_table
    assert outputs["cacheTable"] == names.cache_table
    assert outputs["ecsCluster"] == names.ecs_cluster
    assert outputs["flowsLogGroup"] == names.flows_log_group
    assert outputs["settings"] == {
        "UMWI_ENV": "aws",
        "UMWI_AWS_REGION": REGION,
        "UMWI_LAKE_URI": names.lake_uri(),
        "UMWI_LEDGER_TABLE": names.ledger_table,
        "UMWI_CACHE_TABLE": names.cache_table,
        "UMWI_ALERTS_TOPIC_ARN": names.topic_arn(REGION, ACCOUNT_ID),
    }


def test_prod_retains_data_dev_can_be_torn_down(dev: Stack, prod: Stack) -> None:
    for resource in prod.all(""):
        if resource["type"] in DATA_HOLDING | BUCKET_SETTINGS:
            assert resource["retainOnDelete"] is True, resource["name"]
    for resource in dev.all(""):
        assert resource["retainOnDelete"] is False, resource["name"]
    for bucket in prod.all("s3/bucket:Bucket"):
        assert bucket["inputs"]["forceDestroy"] is False
    for bucket in dev.all("s3/bucket:Bucket"):
        assert bucket["inputs"]["forceDestroy"] is True
    assert prod.inputs("ecr/repository:Repository", "flows-image")["forceDelete"] is False
    assert dev.inputs("ecr/repository:Repository", "flows-image")["forceDelete"] is True


def test_stateless_resources_are_never_retained(prod: Stack) -> None:
    # Only data outlives the stack; roles, functions and networks go with it.
    for resource in prod.all(""):
        if resource["type"] not in DATA_HOLDING | BUCKET_SETTINGS:
            assert resource["retainOnDelete"] is False, resource["name"]


def test_pulumi_entrypoint_exports_the_same_stack(stacks: dict[str, Stack], dev: Stack) -> None:
    entry = stacks["dev-entrypoint"]
    assert entry.outputs == dev.outputs
    assert sorted((r["type"], r["name"]) for r in entry.resources) == sorted(
        (r["type"], r["name"]) for r in dev.resources
    )
