"""IAM policy documents as JSON, built from statements whose ARNs may still be Outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

Statement = dict[str, Any]


def document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """A policy document; `Output.json_dumps` waits for every ARN inside it."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(sid: str, actions: Sequence[str], resources: Sequence[Any], **extra: Any) -> Statement:
    statement = {"Sid": sid, "Effect": "Allow", "Action": list(actions)}
    return statement | {"Resource": list(resources)} | extra


def tls_only(bucket_arn: pulumi.Input[str]) -> Statement:
    """Refuse every request to the bucket that does not come over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def assume_role(service: str, account_id: str) -> pulumi.Output[str]:
    """Trust `service`, only on behalf of this account (no confused deputy)."""
    return document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ]
    )
