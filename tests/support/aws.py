"""Create an environment's AWS resources on moto, named as the Pulumi stack names them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from umwi_core.naming import ResourceNames, resource_names
from umwi_core.settings import Settings, load_settings

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "eu-west-1"


@dataclass(frozen=True)
class AwsResources:
    endpoint: str
    names: ResourceNames
    topic_arn: str
    settings: Settings

    def client(self, service: str) -> object:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)


def create_resources(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AwsResources:
    # A fresh environment name per test keeps tests on the shared moto server apart while
    # every resource keeps exactly the name the Pulumi stack would give it.
    names = resource_names(f"t{secrets.token_hex(4)}", ACCOUNT_ID)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    s3.create_bucket(
        Bucket=names.lake_bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    dynamodb.create_table(
        TableName=names.ledger_table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "window", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "window", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(
        TableName=names.cache_table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sns = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
    topic_arn = sns.create_topic(Name=names.alerts_topic)["TopicArn"]
    values = {
        "UMWI_ENV": "aws",
        "UMWI_AWS_ENDPOINT_URL": endpoint,
        "UMWI_AWS_REGION": REGION,
        "UMWI_LAKE_URI": names.lake_uri(),
        "UMWI_LEDGER_TABLE": names.ledger_table,
        "UMWI_CACHE_TABLE": names.cache_table,
        "UMWI_ALERTS_TOPIC_ARN": topic_arn,
        "UMWI_STATE_DIR": str(tmp_path / "state"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return AwsResources(endpoint, names, topic_arn, load_settings())
