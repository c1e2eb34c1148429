"""Stack configuration: bad values stop the program with one line naming the key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
from umwi_stacks import StackConfig, StackConfigError, load_config

BASE = {
    "aws:region": "eu-west-1",
    "umwi:environment": "dev",
    "umwi:owner": "team",
    "umwi:prefectMode": "push",
    "umwi:prefectTrustedPrincipal": "arn:aws:iam::210987654321:root",
    "umwi:prefectExternalId": "external-id-1234",
    "umwi:apiBundle": "bundle.zip",
}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "bundle.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    yield tmp_path
    pulumi.runtime.set_all_config({})


def _load(project: Path, **changes: object) -> StackConfig:
    values = {**BASE, **changes}
    pulumi.runtime.set_all_config(
        {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in values.items()
            if value is not None
        }
    )
    return load_config(project)


def test_good_config_loads_with_defaults(project: Path) -> None:
    config = _load(project)
    assert config.api_bundle == project / "bundle.zip"
    assert config.tags == {
        "project": "umwi",
        "environment": "dev",
        "owner": "team",
        "managed-by": "pulumi",
    }
    assert config.availability_zones == ["eu-west-1a", "eu-west-1b"]
    assert config.retain_data is False
    assert config.spark_engine == "none"  # the EMR Serverless engine is opt-in


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"umwi:apiBundle": "missing.zip"}, "umwi:apiBundle: "),
        ({"umwi:sparkEngine": "emr"}, "umwi:sparkEngine: must be one of none, emr-serverless"),
        ({"umwi:corsOrigins": ["*"]}, "umwi:corsOrigins: '*'"),
        ({"umwi:corsOrigins": ["example.org"]}, "umwi:corsOrigins: 'example.org'"),
        ({"umwi:corsOrigins": "https://a.example"}, "umwi:corsOrigins: must be a YAML list"),
        ({"umwi:logRetentionDays": "10"}, "umwi:logRetentionDays: 10 is not"),
        ({"umwi:owner": None}, "umwi:owner: required"),
        ({"umwi:prefectExternalId": None}, "umwi:prefectExternalId: required in push mode"),
        ({"umwi:prefectTrustedPrincipal": "*"}, "umwi:prefectTrustedPrincipal: required"),
        ({"umwi:prefectMode": "worker"}, "umwi:prefectApiUrl: required in worker mode"),
        (
            {"umwi:prefectMode": None, "umwi:prefectApiUrl": "https://api.prefect.cloud/api/x"},
            "umwi:prefectWorkerImage: required in worker mode, pinned by digest",
        ),
        (
            {
                "umwi:prefectMode": "worker",
                "umwi:prefectApiUrl": "https://api.prefect.cloud/api/x",
                "umwi:prefectWorkerImage": "prefecthq/prefect-aws:latest",
            },
            "umwi:prefectWorkerImage: required in worker mode, pinned by digest",
        ),
        ({"umwi:prefectMode": "cloud"}, "umwi:prefectMode: must be push or worker"),
        ({"umwi:retainData": "yes"}, "umwi:retainData: must be true or false"),
        ({"umwi:apiReservedConcurrency": "0"}, "umwi:apiReservedConcurrency: must be between"),
        (
            {"umwi:apiReservedConcurrency": "2", "umwi:apiProvisionedConcurrency": "3"},
            "umwi:apiProvisionedConcurrency: 3 exceeds",
        ),
        ({"umwi:apiThrottleRateLimit": "fast"}, "umwi:apiThrottleRateLimit: must be a number"),
        ({"umwi:alertEmails": ["not-an-address"]}, "umwi:alertEmails: 'not-an-address'"),
        ({"umwi:vpcCidr": "10.0.0.0/8"}, "umwi:vpcCidr: must be an IPv4 block"),
        ({"umwi:vpcCidr": "banana"}, "umwi:vpcCidr: 'banana' is not a CIDR"),
        ({"umwi:availabilityZones": ["eu-west-1a"]}, "umwi:availabilityZones: list at least"),
        (
            {"umwi:bronzeInfrequentAccessDays": "60", "umwi:bronzeGlacierDays": "45"},
            "umwi:bronzeGlacierDays: must come after",
        ),
        ({"aws:region": None}, "aws:region: must be an AWS region"),
        ({"umwi:githubRepository": "umwi"}, "umwi:githubRepository: must be owner/name"),
        ({"umwi:pulumiStateBucket": "S3://x"}, "umwi:pulumiStateBucket: 'S3://x' is not"),
        ({"umwi:pulumiSecretsKeyArn": "alias/umwi"}, "umwi:pulumiSecretsKeyArn: must be the ARN"),
        (
            {"umwi:githubOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/x"},
            "umwi:githubOidcProviderArn: must be the ARN",
        ),
    ],
)
def test_bad_values_name_the_key(project: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(StackConfigError) as raised:
        _load(project, **changes)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


def test_secret_values_are_not_echoed_in_errors(project: Path) -> None:
    with pytest.raises(StackConfigError) as raised:
        _load(project, **{"umwi:prefectExternalId": "short"})
    assert "short" not in str(raised.value)


def test_bundle_defaults_to_the_build_script_output(project: Path) -> None:
    with pytest.raises(StackConfigError) as raised:
        _load(project, **{"umwi:apiBundle": None})
    assert f"{project / 'api' / 'dist' / 'lambda.zip'} not found" in str(raised.value)
    assert "api/build_lambda.py" in str(raised.value)
