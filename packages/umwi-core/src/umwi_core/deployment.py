"""The contract between the Pulumi stack and the flow deployments.

The stack (umwi_stacks) writes its `workPool`, `secretArns` and `settings` outputs through
these models; `flows/deploy.py` reads `pulumi stack output --json` back through them.
Neither side imports the other (stacks cannot import Prefect, flows cannot import Pulumi):
both import this module, so a secret, a job variable or a task size is named once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from umwi_core.errors import InputError
from umwi_core.naming import ResourceNames
from umwi_core.publication import GOLD_TABLES

PoolType = Literal["ecs", "ecs:push"]
ENVIRONMENTS = ("dev", "prod")


@dataclass(frozen=True)
class FlowSecret:
    """One Secrets Manager secret: its stack key, where a container receives it, and the
    prefect-aws ECS job variable that carries its ARN."""

    key: str  # the umwi:<key> stack setting that may hold its value; key of `secretArns`
    variable: str  # the environment variable a container receives it as (ECS injects it)
    job_variable: str  # the ECS job variable holding its ARN
    names_field: str  # the ResourceNames field with its Secrets Manager name

    def name(self, names: ResourceNames) -> str:
        return str(getattr(names, self.names_field))


SECRETS = (
    FlowSecret(
        "navitiaToken", "UMWI_NAVITIA_TOKEN", "navitia_token_secret_arn", "navitia_token_secret"
    ),
    FlowSecret(
        "openmeteoApiKey",
        "UMWI_OPENMETEO_API_KEY",
        "openmeteo_api_key_secret_arn",
        "openmeteo_api_key_secret",
    ),
    # Not prefect-aws's own `prefect_api_key_secret_arn`: prefect-aws 0.5.13 (uv.lock)
    # replaces the container's whole `secrets` list when that one is set, which would drop
    # the source tokens (fixed upstream by PrefectHQ/prefect#22675). umwi injects the key
    # like the other secrets and removes the worker's plain copy from the run's environment
    # (umwi_flows._deploy.environment).
    FlowSecret(
        "prefectApiKey",
        "PREFECT_API_KEY",
        "umwi_prefect_api_key_secret_arn",
        "prefect_api_key_secret",
    ),
)
#: Settings every flow run needs (DESIGN.md §2); the stack's `settings` output.
REQUIRED_SETTINGS = ("UMWI_ENV", "UMWI_LAKE_URI", "UMWI_LEDGER_TABLE", "UMWI_ALERTS_TOPIC_ARN")

#: `umwi:sparkEngine`: off by default; `emr-serverless` adds the application and job role.
SPARK_ENGINES = ("none", "emr-serverless")
#: The EMR Serverless build job's reach into the lake (keys under the lake prefix): it
#: reads silver and commits the gold tables' Delta versions plus its note of them.
#: Nothing else: publication (`gold/_published.json`, `gold/_serving/`), bronze, the
#: ledger and the alerts stay with the orchestrator, which runs the gate.
SPARK_JOB_READS = ("silver/",)
SPARK_JOB_WRITES = (*(f"gold/{table}/" for table in GOLD_TABLES), "gold/_jobs/")
#: Bucket keys (outside the lake prefix) of what the stack uploads for the job.
SPARK_ARTIFACTS = "artifacts/spark/"
SPARK_ENTRY_SCRIPT = f"{SPARK_ARTIFACTS}umwi_gold_job.py"
#: The entry script itself: the job runs `umwi_transform.emr.run_job` from the job's
#: Python environment (a custom image or `spark.archives`, docs/scale-out.md).
SPARK_ENTRY_SOURCE = (
    '"""umwi\'s gold build on EMR Serverless (uploaded by the stack; see docs/scale-out.md)."""\n'
    "from umwi_transform.emr import run_job\n"
    "\n"
    'if __name__ == "__main__":\n'
    "    run_job()\n"
)
#: What the flows' settings gain when the stack runs the job.
SPARK_SETTINGS = (
    "UMWI_ENGINE",
    "UMWI_EMR_APPLICATION_ID",
    "UMWI_EMR_JOB_ROLE_ARN",
    "UMWI_EMR_ENTRY_POINT",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NetworkConfiguration(_Model):
    subnets: list[str] = Field(min_length=1)
    security_groups: list[str] = Field(alias="securityGroups", min_length=1)
    assign_public_ip: Literal["ENABLED", "DISABLED"] = Field(alias="assignPublicIp")


class JobVariables(_Model):
    """The ECS job variables every deployment starts from (prefect-aws ECS template names)."""

    cluster: str = Field(min_length=1)
    family: str = Field(min_length=1)
    launch_type: Literal["FARGATE", "FARGATE_SPOT"]
    cpu: int = Field(ge=256)  # umwi:taskCpu
    memory: int = Field(ge=512)  # umwi:taskMemoryMb
    task_role_arn: str = Field(min_length=1)
    execution_role_arn: str = Field(min_length=1)
    vpc_id: str = Field(min_length=1)
    network_configuration: NetworkConfiguration
    configure_cloudwatch_logs: bool
    cloudwatch_logs_options: dict[str, str]
    env: dict[str, str]
    navitia_token_secret_arn: str = Field(min_length=1)
    openmeteo_api_key_secret_arn: str = Field(min_length=1)
    umwi_prefect_api_key_secret_arn: str = Field(min_length=1)


class WorkPool(_Model):
    """The `workPool` output: what a Prefect ECS work pool and its deployments need."""

    name: str = Field(min_length=1)
    type: PoolType
    image_repository: str = Field(alias="imageRepository", min_length=1)
    job_variables: JobVariables = Field(alias="jobVariables")
    #: push mode only: the role the stack lets Prefect Cloud assume (see stacks/README.md).
    prefect_role_arn: str | None = Field(alias="prefectRoleArn", default=None)


class StackOutputs(BaseModel):
    """What the deployments read from `pulumi stack output --json` (other outputs are
    for people and scripts and are ignored here)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    environment: str
    region: str = Field(min_length=1)
    work_pool: WorkPool = Field(alias="workPool")
    secret_arns: dict[str, str] = Field(alias="secretArns")
    settings: dict[str, str]

    @field_validator("secret_arns")
    @classmethod
    def _every_secret(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [secret.key for secret in SECRETS if not value.get(secret.key)]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return value

    @field_validator("settings")
    @classmethod
    def _every_setting(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [key for key in REQUIRED_SETTINGS if not value.get(key)]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return value

    @property
    def env(self) -> str:
        return self.environment

    @classmethod
    def from_json(cls, env: str, data: dict[str, Any]) -> StackOutputs:
        """Read and check the outputs of the `env` stack; a clear error names the field."""
        if env not in ENVIRONMENTS:
            raise InputError(f"--env {env!r}: must be one of {', '.join(ENVIRONMENTS)}")
        try:
            outputs = cls.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
                for item in error.errors()
            )
            raise InputError(f"stack outputs (pulumi stack output --json): {problems}") from None
        if outputs.environment != env:
            raise InputError(f"stack outputs are for {outputs.environment!r}, not {env!r}")
        return outputs


__all__ = [
    "ENVIRONMENTS",
    "REQUIRED_SETTINGS",
    "SECRETS",
    "SPARK_ARTIFACTS",
    "SPARK_ENGINES",
    "SPARK_ENTRY_SCRIPT",
    "SPARK_ENTRY_SOURCE",
    "SPARK_JOB_READS",
    "SPARK_JOB_WRITES",
    "SPARK_SETTINGS",
    "FlowSecret",
    "JobVariables",
    "NetworkConfiguration",
    "PoolType",
    "StackOutputs",
    "WorkPool",
]
