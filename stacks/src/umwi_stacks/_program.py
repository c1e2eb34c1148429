"""The whole environment: every component wired together, and the stack outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
from umwi_core.cors import cors_policy
from umwi_core.naming import resource_names

from umwi_stacks._alerts import Alerts
from umwi_stacks._api import Api
from umwi_stacks._config import load_config
from umwi_stacks._dashboard import Dashboard
from umwi_stacks._deployer import GithubDeployer
from umwi_stacks._lake import DataLake
from umwi_stacks._network import Network
from umwi_stacks._orchestration import LAKE_PREFIX, Orchestration
from umwi_stacks._secrets import Secrets
from umwi_stacks._spark import SPARK_JOB_PARAMETERS, SparkJobs
from umwi_stacks._state import StateTables


def build_stack(project_root: Path) -> dict[str, Any]:
    """Declare every resource of the current stack and return its outputs by name."""
    config = load_config(project_root)
    account_id = aws.get_caller_identity().account_id
    names = resource_names(config.env, config.name_suffix or account_id)

    lake = DataLake("data-lake", names=names, config=config, account_id=account_id)
    state = StateTables("state", names=names, config=config)
    alerts = Alerts("alerts", names=names, config=config)
    dashboard = Dashboard("dashboard", names=names, config=config, log_bucket=lake.log_bucket)
    # The dashboard's own origin is always allowed, whatever umwi:corsOrigins adds.
    cors = dashboard.url.apply(lambda url: cors_policy(url, config.cors_origins))
    api = Api(
        "api",
        names=names,
        config=config,
        account_id=account_id,
        lake_bucket=lake.bucket,
        ledger_table=state.ledger,
        cache_table=state.cache,
        topic=alerts.topic,
        cors=cors,
    )
    # What every flow run needs in its environment (DESIGN.md §2), secrets aside.
    settings: dict[str, pulumi.Input[str]] = {
        "UMWI_ENV": "aws",
        "UMWI_AWS_REGION": config.region,
        "UMWI_LAKE_URI": names.lake_uri(),
        "UMWI_LEDGER_TABLE": state.ledger.name,
        "UMWI_CACHE_TABLE": state.cache.name,
        "UMWI_ALERTS_TOPIC_ARN": alerts.topic.arn,
    }
    spark = None
    if config.spark_engine == "emr-serverless":
        spark = SparkJobs(
            "spark",
            names=names,
            config=config,
            account_id=account_id,
            lake_bucket=lake.bucket,
            lake_prefix=LAKE_PREFIX,
        )
        settings |= {
            "UMWI_ENGINE": "emr-serverless",
            "UMWI_EMR_APPLICATION_ID": spark.application.id,
            "UMWI_EMR_JOB_ROLE_ARN": spark.job_role.arn,
            "UMWI_EMR_ENTRY_POINT": spark.entry_point,
            "UMWI_EMR_SPARK_PARAMETERS": SPARK_JOB_PARAMETERS,
        }
    network = Network("network", prefix=names.prefix, config=config)
    secrets = Secrets("secrets", names=names, config=config)
    orchestration = Orchestration(
        "orchestration",
        names=names,
        config=config,
        account_id=account_id,
        network=network,
        secrets=secrets,
        lake_bucket=lake.bucket,
        ledger_table=state.ledger,
        topic=alerts.topic,
        flow_environment=settings,
        extra_task_statements=None if spark is None else spark.orchestrator_statements(),
    )
    deployer = None
    if config.github_repository:
        deployer = GithubDeployer(
            "github-deployer",
            names=names,
            config=config,
            account_id=account_id,
            repository=orchestration.repository,
            dashboard_bucket=dashboard.bucket,
            distribution=dashboard.distribution,
            extra_statements=None if spark is None else spark.deployer_statements(),
        )

    return {
        "environment": config.env,
        "region": config.region,
        "lakeBucket": lake.bucket.bucket,
        "lakeUri": names.lake_uri(),
        "accessLogBucket": lake.log_bucket.bucket,
        "ledgerTable": state.ledger.name,
        "cacheTable": state.cache.name,
        "alertsTopicArn": alerts.topic.arn,
        "apiUrl": api.url,
        "apiFunction": api.function.name,
        "ecsCluster": orchestration.cluster.name,
        "ecsClusterArn": orchestration.cluster.arn,
        "ecrRepositoryUrl": orchestration.repository.repository_url,
        "flowsLogGroup": orchestration.log_group.name,
        "workPool": orchestration.work_pool,
        "secretArns": {key: secret.arn for key, secret in secrets.by_key.items()},
        "settings": settings,
        "dashboardUrl": dashboard.url,
        "dashboardBucket": dashboard.bucket.bucket,
        "dashboardDistributionId": dashboard.distribution.id,
        "dashboardConfig": {"apiUrl": api.url},
        "githubDeployRoleArn": deployer.role.arn if deployer else None,
        "githubPreviewRoleArn": deployer.preview_role.arn if deployer else None,
        "sparkApplicationId": spark.application.id if spark else None,
        "sparkJobRoleArn": spark.job_role.arn if spark else None,
        "sparkImageRepositoryUrl": spark.image_repository.repository_url if spark else None,
    }


def main(project_root: Path) -> None:
    """Pulumi's entry point (stacks/__main__.py)."""
    for name, value in build_stack(project_root).items():
        pulumi.export(name, value)
