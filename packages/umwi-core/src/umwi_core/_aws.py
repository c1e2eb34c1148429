"""boto3 clients that honour the endpoint override (moto server in tests)."""

from __future__ import annotations

from typing import Any

from umwi_core.settings import Settings


def aws_client(service: str, settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=settings.aws_region,
        retries={"max_attempts": 10, "mode": "adaptive"},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.client(service, endpoint_url=settings.endpoint_url, config=config)
