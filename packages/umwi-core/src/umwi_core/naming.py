"""AWS resource names, shared by the Pulumi stacks and the aws mode's tests and settings."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ENV = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


@dataclass(frozen=True)
class ResourceNames:
    env: str
    prefix: str
    lake_bucket: str
    access_log_bucket: str
    dashboard_bucket: str
    ledger_table: str
    cache_table: str
    alerts_topic: str
    api_function: str
    api_gateway: str
    ecs_cluster: str
    ecr_repository: str
    flows_log_group: str
    work_pool: str
    navitia_token_secret: str
    prefect_api_key_secret: str
    openmeteo_api_key_secret: str

    def lake_uri(self) -> str:
        return f"s3://{self.lake_bucket}/lake"

    def topic_arn(self, region: str, account_id: str) -> str:
        return f"arn:aws:sns:{region}:{account_id}:{self.alerts_topic}"


def resource_names(env: str, suffix: str) -> ResourceNames:
    """Names of every resource of one environment.

    `suffix` (the account id, or any stable string) keeps the globally unique S3 bucket
    names distinct across accounts.
    """
    if not _ENV.match(env):
        raise ValueError(f"environment name {env!r} must match {_ENV.pattern}")
    clean = re.sub(r"[^a-z0-9-]", "-", suffix.lower()).strip("-")
    if not clean:
        raise ValueError("suffix must contain a letter or digit")
    prefix = f"umwi-{env}"
    return ResourceNames(
        env=env,
        prefix=prefix,
        lake_bucket=f"{prefix}-lake-{clean}"[:63],
        access_log_bucket=f"{prefix}-access-logs-{clean}"[:63],
        dashboard_bucket=f"{prefix}-dashboard-{clean}"[:63],
        ledger_table=f"{prefix}-ledger",
        cache_table=f"{prefix}-api-cache",
        alerts_topic=f"{prefix}-alerts",
        api_function=f"{prefix}-api",
        api_gateway=f"{prefix}-http-api",
        ecs_cluster=f"{prefix}-flows",
        ecr_repository=f"{prefix}-flows",
        flows_log_group=f"/umwi/{env}/flows",
        work_pool=f"{prefix}-ecs",
        navitia_token_secret=f"{prefix}/navitia-token",
        prefect_api_key_secret=f"{prefix}/prefect-api-key",
        openmeteo_api_key_secret=f"{prefix}/openmeteo-api-key",
    )
