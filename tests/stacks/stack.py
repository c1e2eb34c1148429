"""Query helpers over one synthesized stack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Every output the program exports (stacks/README.md documents each).
OUTPUTS = {
    "environment",
    "region",
    "lakeBucket",
    "lakeUri",
    "accessLogBucket",
    "ledgerTable",
    "cacheTable",
    "alertsTopicArn",
    "apiUrl",
    "apiFunction",
    "ecsCluster",
    "ecsClusterArn",
    "ecrRepositoryUrl",
    "flowsLogGroup",
    "workPool",
    "secretArns",
    "settings",
    "dashboardUrl",
    "dashboardBucket",
    "dashboardDistributionId",
    "dashboardConfig",
    "githubDeployRoleArn",
    "githubPreviewRoleArn",
    "sparkApplicationId",
    "sparkJobRoleArn",
    "sparkImageRepositoryUrl",
}


@dataclass
class Stack:
    key: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]

    @property
    def env(self) -> str:
        return str(self.outputs["environment"])

    def all(self, type_suffix: str) -> list[dict[str, Any]]:
        """Resources whose type token ends with `type_suffix` (e.g. 's3/bucket:Bucket')."""
        return [r for r in self.resources if r["type"].endswith(type_suffix)]

    def one(self, type_suffix: str, name: str) -> dict[str, Any]:
        found = [r for r in self.all(type_suffix) if r["name"] == name]
        assert len(found) == 1, f"{self.key}: expected one {type_suffix} named {name}"
        return found[0]

    def inputs(self, type_suffix: str, name: str) -> dict[str, Any]:
        return dict(self.one(type_suffix, name)["inputs"])

    def for_bucket(self, type_suffix: str, bucket: str) -> dict[str, Any]:
        """The single child resource of `bucket` (by logical name) of a type."""
        found = [r for r in self.all(type_suffix) if r["inputs"].get("bucket") == f"{bucket}-id"]
        assert len(found) == 1, f"{self.key}: {bucket} has {len(found)} {type_suffix}"
        return dict(found[0]["inputs"])

    def policies(self) -> list[tuple[str, dict[str, Any]]]:
        """Every IAM/S3 policy document of the stack, parsed, with where it comes from."""
        documents: list[tuple[str, dict[str, Any]]] = []
        for resource in self.resources:
            for field in ("policy", "assumeRolePolicy"):
                text = resource["inputs"].get(field)
                if isinstance(text, str) and resource["type"].startswith(
                    ("aws:iam", "aws:s3", "aws:sns", "aws:ecr/repositoryPolicy")
                ):
                    documents.append((f"{resource['name']}.{field}", json.loads(text)))
        return documents

    def role_statements(self, role_policy: str) -> list[dict[str, Any]]:
        document = json.loads(self.inputs("iam/rolePolicy:RolePolicy", role_policy)["policy"])
        return list(document["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
