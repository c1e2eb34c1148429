"""Deployments of the flows on an ECS work pool, one per flow and environment.

The pure part (`deployment_specs`, `job_variables`, `base_job_template`) describes every
deployment from the Pulumi stack outputs and umwi.toml; `register` turns the specs into
Prefect deployments and registers them (building and pushing the image only when asked).
Two pool kinds: `hybrid` (an `ecs` pool served by a Prefect worker running as an ECS
service with its own IAM role; the default) and `push` (Prefect Cloud submits ECS tasks
itself; see stacks/README.md for its credentials). The stack outputs are read through
`umwi_core.deployment.StackOutputs`, the contract the stack writes them with.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from umwi_connectors import Schedule, get_source
from umwi_core.deployment import ENVIRONMENTS, SECRETS, StackOutputs
from umwi_core.errors import InputError

from umwi_flows._config import UmwiConfig

if TYPE_CHECKING:
    from uuid import UUID

FLOWS_MODULE = "umwi_flows._flows"
DOCKERFILE = "flows/Dockerfile"
CONTAINER = "umwi-flows"


class PoolKind(StrEnum):
    PUSH = "push"  # Prefect Cloud ECS push pool: no always-on worker
    HYBRID = "hybrid"  # an `ecs` pool and a worker service in the cluster

    @property
    def pool_type(self) -> str:
        return "ecs:push" if self is PoolKind.PUSH else "ecs"

    @classmethod
    def of(cls, outputs: StackOutputs) -> PoolKind:
        return cls.PUSH if outputs.work_pool.type == "ecs:push" else cls.HYBRID


#: Variables umwi adds to prefect-aws's ECS template: every secret's ARN (the Prefect API
#: key's included, see umwi_core.deployment.SECRETS), injected by ECS itself from Secrets
#: Manager, so no value appears in Prefect's job variables, a task definition or a log.
EXTRA_VARIABLES: dict[str, dict[str, Any]] = {
    secret.job_variable: {
        "type": "string",
        "title": f"{secret.variable} secret ARN",
        "description": f"Secrets Manager ARN injected as {secret.variable}.",
    }
    for secret in SECRETS
}


def base_job_template() -> dict[str, Any]:
    """prefect-aws's ECS job template plus the container's secrets from Secrets Manager."""
    from prefect_aws.workers import ECSWorker

    template: dict[str, Any] = copy.deepcopy(ECSWorker.get_default_base_job_template())
    template["variables"]["properties"].update(copy.deepcopy(EXTRA_VARIABLES))
    container = template["job_configuration"]["task_definition"]["containerDefinitions"][0]
    container["secrets"] = [
        {"name": secret.variable, "valueFrom": f"{{{{ {secret.job_variable} }}}}"}
        for secret in SECRETS
    ]
    return template


def environment(outputs: StackOutputs) -> dict[str, str | None]:
    """The `UMWI_*` settings of a flow run in the cloud (no secrets: ECS injects those).

    `PREFECT_API_KEY: None` removes the worker's own key from the run's environment
    (Prefect drops variables set to None), so it never travels in a RunTask request.
    """
    return {
        **outputs.settings,
        "UMWI_ENV": "aws",
        "UMWI_STATE_DIR": "/tmp/umwi",  # noqa: S108  scratch only: state lives in AWS
        "PREFECT_API_KEY": None,
    }


def job_variables(outputs: StackOutputs) -> dict[str, Any]:
    """ECS job variables of a deployment: the stack's as they are (its roles, network,
    secret ARNs and the `umwi:taskCpu`/`umwi:taskMemoryMb` size), plus what umwi adds."""
    variables = outputs.work_pool.job_variables.model_dump(mode="json", by_alias=True)
    variables.update(
        {
            "container_name": CONTAINER,
            # The worker (or push pool) would pass its own API key as plain environment;
            # a null unsets it, and ECS injects the key from Secrets Manager instead.
            "env": {**environment(outputs), "PREFECT_API_KEY": None},
            "stream_output": False,
            "labels": {"project": "umwi", "environment": outputs.env},
        }
    )
    return variables


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: which flow, its parameters, schedule and ECS job variables."""

    flow: str  # key of umwi_flows._flows.FLOWS
    name: str
    description: str
    parameters: dict[str, Any]
    cron: str | None = None
    interval_s: int | None = None
    timezone: str = "UTC"
    active: bool = True
    job_variables: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


def _scheduled(config: UmwiConfig, schedule: Schedule) -> list[str]:
    """The configured sources that the deployment of `schedule` ingests."""
    return [name for name in config.sources.names() if get_source(name).schedule is schedule]


def deployment_specs(env: str, outputs: StackOutputs, config: UmwiConfig) -> list[DeploymentSpec]:
    """Every deployment of one environment. Dev schedules start paused (no cost until
    someone turns them on); prod schedules are active."""
    if outputs.env != env:
        raise InputError(f"stack outputs are for {outputs.env!r}, not {env!r}")
    schedules = config.schedules
    sources = config.sources.to_toml()
    active = env == "prod"
    # One size for every flow run: the stack's (umwi:taskCpu / umwi:taskMemoryMb).
    variables = job_variables(outputs)
    tags = ("umwi", env)
    specs: list[DeploymentSpec] = []
    lookback = _scheduled(config, Schedule.LOOKBACK)
    if lookback:
        specs.append(
            DeploymentSpec(
                flow="ingest",
                name=f"weather-hourly-{env}",
                description="Open-Meteo weather of the last days, every hour.",
                parameters={
                    "sources": sources,
                    "only": lookback,
                    "lookback_days": schedules.weather_lookback_days,
                },
                cron=schedules.weather,
                timezone=schedules.timezone,
                active=active,
                job_variables=variables,
                tags=tags,
            )
        )
    realtime = _scheduled(config, Schedule.POLL)
    if realtime:
        specs.append(
            DeploymentSpec(
                flow="ingest",
                name=f"realtime-poll-{env}",
                description="Poll the real-time departure sources.",
                parameters={"sources": sources, "only": realtime},
                interval_s=schedules.realtime_interval_s,
                timezone=schedules.timezone,
                active=active,
                job_variables=variables,
                tags=tags,
            )
        )
    specs += [
        DeploymentSpec(
            flow="build",
            name=f"gold-nightly-{env}",
            description="Build gold, run the quality gate, publish on pass.",
            parameters={"from_bronze": False},
            cron=schedules.gold,
            timezone=schedules.timezone,
            active=active,
            job_variables=variables,
            tags=tags,
        ),
        DeploymentSpec(
            flow="pipeline",
            name=f"pipeline-{env}",
            description="Ingest a range from every source, then build (run on demand/backfill).",
            parameters={"sources": sources, "concurrency": 2, "chunk_days": 1},
            job_variables=variables,
            tags=tags,
        ),
        DeploymentSpec(
            flow="outlook",
            name=f"outlook-hourly-{env}",
            description="Refresh the forecasts, publish the 48 h outlook alone, alert per line.",
            parameters={"sources": sources},
            cron=schedules.outlook,
            timezone=schedules.timezone,
            active=active,
            job_variables=variables,
            tags=tags,
        ),
        DeploymentSpec(
            flow="maintain",
            name=f"maintenance-weekly-{env}",
            description="Compact, checkpoint and vacuum the Delta tables.",
            parameters={"retain_hours": 168},
            cron=schedules.maintenance,
            timezone=schedules.timezone,
            active=active,
            job_variables=variables,
            tags=tags,
        ),
    ]
    return specs


def image_reference(outputs: StackOutputs, tag: str) -> str:
    if not tag or tag == "latest":
        # The ECR repository's tags are immutable: every build needs a new one.
        raise InputError("--tag: give a unique image tag (e.g. the git commit), not 'latest'")
    return f"{outputs.work_pool.image_repository}:{tag}"


def flow_image(outputs: StackOutputs, tag: str, repo_root: Path) -> Any:
    """The flow image: built from flows/Dockerfile at the repository root, pushed to ECR."""
    from prefect.docker import DockerImage

    reference = image_reference(outputs, tag)
    name, _, image_tag = reference.rpartition(":")
    return DockerImage(
        name=name,
        tag=image_tag,
        dockerfile=str(repo_root / DOCKERFILE),
        path=str(repo_root),
        platform="linux/amd64",
        stream_progress_to=None,
    )


def runner_deployments(specs: list[DeploymentSpec]) -> list[Any]:
    """Prefect deployments for the specs (the flows are imported: Prefect must be set up)."""
    from prefect.schedules import Cron, Interval
    from prefect.types.entrypoint import EntrypointType

    from umwi_flows._flows import FLOWS

    deployments = []
    for spec in specs:
        schedules = []
        if spec.cron is not None:
            schedules.append(Cron(spec.cron, timezone=spec.timezone, active=spec.active))
        if spec.interval_s is not None:
            schedules.append(
                Interval(
                    timedelta(seconds=spec.interval_s), timezone=spec.timezone, active=spec.active
                )
            )
        deployments.append(
            FLOWS[spec.flow].to_deployment(
                name=spec.name,
                description=spec.description,
                parameters=spec.parameters,
                schedules=schedules,
                job_variables=spec.job_variables,
                tags=list(spec.tags),
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return deployments


def register(
    specs: list[DeploymentSpec],
    *,
    work_pool_name: str,
    image: Any,
    build: bool,
    push: bool,
) -> list[UUID]:
    """Create or update the deployments; build/push the image only when asked."""
    from prefect import deploy

    ids: list[UUID] = deploy(  # type: ignore[assignment]  # sync call of a dual function
        *runner_deployments(specs),
        work_pool_name=work_pool_name,
        image=image,
        build=build,
        push=push,
        print_next_steps_message=False,
    )
    return ids


__all__ = [
    "CONTAINER",
    "DOCKERFILE",
    "ENVIRONMENTS",
    "EXTRA_VARIABLES",
    "DeploymentSpec",
    "PoolKind",
    "StackOutputs",
    "base_job_template",
    "deployment_specs",
    "environment",
    "flow_image",
    "image_reference",
    "job_variables",
    "register",
    "runner_deployments",
]
