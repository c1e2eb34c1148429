"""Deployments: registered on a real `prefect server` (hybrid `ecs` pool), the push-pool
variant checked against prefect-aws's ECS job template."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from umwi_core.errors import InputError
from umwi_flows import load_config
from umwi_flows._deploy import (
    PoolKind,
    StackOutputs,
    base_job_template,
    deployment_specs,
    flow_image,
    image_reference,
)

from tests.conftest import reserved_port
from tests.support.processes import wait_until_healthy

ROOT = Path(__file__).resolve().parents[3]
CONFIG = load_config(ROOT / "umwi.toml.example")
ACCOUNT = "123456789012"


def outputs_json(env: str, pool_type: str = "ecs:push") -> dict[str, Any]:
    """The shape of `pulumi stack output --json` (stacks/src/umwi_stacks/_program.py)."""
    prefix = f"umwi-{env}"
    secrets = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:"
    arns = {
        "navitiaToken": f"{secrets}{prefix}/navitia-token",
        "openmeteoApiKey": f"{secrets}{prefix}/openmeteo-api-key",
        "prefectApiKey": f"{secrets}{prefix}/prefect-api-key",
    }
    settings = {
        "UMWI_ENV": "aws",
        "UMWI_AWS_REGION": "eu-west-1",
        "UMWI_LAKE_URI": f"s3://{prefix}-lake-{ACCOUNT}/lake",
        "UMWI_LEDGER_TABLE": f"{prefix}-ledger",
        "UMWI_CACHE_TABLE": f"{prefix}-api-cache",
        "UMWI_ALERTS_TOPIC_ARN": f"arn:aws:sns:eu-west-1:{ACCOUNT}:{prefix}-alerts",
    }
    return {
        "environment": env,
        "region": "eu-west-1",
        "lakeUri": settings["UMWI_LAKE_URI"],
        "ecsCluster": f"{prefix}-flows",
        "settings": settings,
        "secretArns": arns,
        "workPool": {
            "name": f"{prefix}-ecs",
            "type": pool_type,
            "imageRepository": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{prefix}-flows",
            "jobVariables": {
                "cluster": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/{prefix}-flows",
                "family": f"{prefix}-flows",
                "launch_type": "FARGATE",
                "cpu": 512,
                "memory": 1024,
                "task_role_arn": f"arn:aws:iam::{ACCOUNT}:role/{prefix}-flow-task",
                "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/{prefix}-flow-execution",
                "vpc_id": "vpc-0abc",
                "network_configuration": {
                    "subnets": ["subnet-0a", "subnet-0b"],
                    "securityGroups": ["sg-0flows"],
                    "assignPublicIp": "ENABLED",
                },
                "configure_cloudwatch_logs": True,
                "cloudwatch_logs_options": {
                    "awslogs-group": f"/umwi/{env}/flows",
                    "awslogs-region": "eu-west-1",
                    "awslogs-stream-prefix": "flows",
                },
                "env": settings,
                "navitia_token_secret_arn": arns["navitiaToken"],
                "openmeteo_api_key_secret_arn": arns["openmeteoApiKey"],
                "umwi_prefect_api_key_secret_arn": arns["prefectApiKey"],
            },
            "prefectRoleArn": None,
        },
    }


def test_stack_outputs_are_read_and_checked() -> None:
    outputs = StackOutputs.from_json("dev", outputs_json("dev"))
    assert PoolKind.of(outputs) is PoolKind.PUSH
    assert outputs.work_pool.name == "umwi-dev-ecs"
    assert PoolKind.of(StackOutputs.from_json("dev", outputs_json("dev", "ecs"))) is PoolKind.HYBRID
    broken = outputs_json("dev")
    del broken["secretArns"]["navitiaToken"]
    with pytest.raises(InputError, match=r"secretArns: Value error, missing navitiaToken"):
        StackOutputs.from_json("dev", broken)
    broken = outputs_json("dev")
    del broken["workPool"]["jobVariables"]["task_role_arn"]
    with pytest.raises(InputError, match=r"workPool\.jobVariables\.task_role_arn: Field required"):
        StackOutputs.from_json("dev", broken)
    broken = outputs_json("dev")
    broken["workPool"]["jobVariables"]["prefect_api_key"] = "pnu_plain"
    with pytest.raises(InputError, match=r"jobVariables\.prefect_api_key: Extra inputs"):
        StackOutputs.from_json("dev", broken)
    with pytest.raises(InputError, match="must be one of dev, prod"):
        StackOutputs.from_json("staging", outputs_json("dev"))
    with pytest.raises(InputError, match="are for 'dev', not 'prod'"):
        StackOutputs.from_json("prod", outputs_json("dev"))


def test_image_tags_must_be_unique() -> None:
    outputs = StackOutputs.from_json("prod", outputs_json("prod"))
    assert image_reference(outputs, "abc123").endswith("/umwi-prod-flows:abc123")
    with pytest.raises(InputError, match="unique image tag"):
        image_reference(outputs, "latest")


def test_build_and_push_steps_are_declared() -> None:
    image = flow_image(StackOutputs.from_json("dev", outputs_json("dev")), "abc123", ROOT)
    assert image.reference == (f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/umwi-dev-flows:abc123")
    dockerfile = Path(image.dockerfile)
    assert dockerfile == ROOT / "flows" / "Dockerfile"
    text = dockerfile.read_text()
    assert re.search(r"^FROM python:3\.11-", text, re.MULTILINE)
    assert "uv sync --locked --no-dev" in text
    assert "USER umwi" in text
    # Every path the Dockerfile copies exists in the build context (the repo root).
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.MULTILINE):
        assert (ROOT / source).exists(), source
    assert image.build_kwargs["path"] == str(ROOT)
    assert image.build_kwargs["platform"] == "linux/amd64"


def _placeholders(value: Any) -> set[str]:
    text = json.dumps(value)
    return set(re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", text))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_push_pool_job_variables_fit_the_prefect_aws_ecs_template(env: str) -> None:
    from prefect_aws.workers import ECSWorker

    default = ECSWorker.get_default_base_job_template()
    template = base_job_template()
    variables = template["variables"]
    # umwi's template only adds to prefect-aws's: nothing of theirs is lost.
    assert set(default["variables"]["properties"]) <= set(variables["properties"])
    assert _placeholders(template["job_configuration"]) <= set(variables["properties"])
    container = template["job_configuration"]["task_definition"]["containerDefinitions"][0]
    assert {secret["name"] for secret in container["secrets"]} == {
        "UMWI_NAVITIA_TOKEN",
        "UMWI_OPENMETEO_API_KEY",
        "PREFECT_API_KEY",
    }
    outputs = StackOutputs.from_json(env, outputs_json(env))
    for spec in deployment_specs(env, outputs, CONFIG):
        assert set(spec.job_variables) <= set(variables["properties"]), spec.name
        # Never prefect-aws's own variable: it would replace the container's secrets.
        assert "prefect_api_key_secret_arn" not in spec.job_variables
        # The API key comes from Secrets Manager, never as plain environment.
        assert spec.job_variables["env"]["PREFECT_API_KEY"] is None
        jsonschema.validate(spec.job_variables, variables)
        assert not any("token" in (v or "").lower() for v in spec.job_variables["env"].values())


@pytest.mark.parametrize("pool_type", ["ecs", "ecs:push"])
def test_rendered_task_definition_injects_every_secret_and_no_plain_api_key(
    pool_type: str,
) -> None:
    """What prefect-aws's ECS worker (the same code serves push pools) registers for a
    deployment, rendered from umwi's template and job variables, with a worker that holds
    a PREFECT_API_KEY of its own.

    Mutation: set prefect-aws's `prefect_api_key_secret_arn` in `job_variables` (the
    container then keeps only PREFECT_API_KEY), or drop `"PREFECT_API_KEY": None` from
    `environment` (the key travels in the RunTask environment) and this fails."""
    import asyncio
    import uuid

    from prefect.client.schemas.objects import FlowRun
    from prefect.settings import PREFECT_API_KEY, PREFECT_API_URL, temporary_settings
    from prefect_aws.workers.ecs_worker import ECSJobConfiguration, ECSWorker

    outputs = StackOutputs.from_json("prod", outputs_json("prod", pool_type))
    (build,) = [s for s in deployment_specs("prod", outputs, CONFIG) if s.flow == "build"]
    values = {**build.job_variables, "image": image_reference(outputs, "abc123")}
    flow_run = FlowRun(id=uuid.uuid4(), flow_id=uuid.uuid4(), name="run")
    cloud = "https://api.prefect.cloud/api/accounts/a1/workspaces/w1"
    with temporary_settings({PREFECT_API_URL: cloud, PREFECT_API_KEY: "pnu_worker_key"}):
        configuration = asyncio.run(
            ECSJobConfiguration.from_template_and_values(base_job_template(), values)
        )
        configuration.prepare_for_flow_run(flow_run)
        definition = ECSWorker(work_pool_name=outputs.work_pool.name)._prepare_task_definition(
            configuration, "eu-west-1", flow_run
        )
    (container,) = definition["containerDefinitions"]
    arns = outputs.secret_arns
    assert sorted(container["secrets"], key=lambda s: s["name"]) == [
        {"name": "PREFECT_API_KEY", "valueFrom": arns["prefectApiKey"]},
        {"name": "UMWI_NAVITIA_TOKEN", "valueFrom": arns["navitiaToken"]},
        {"name": "UMWI_OPENMETEO_API_KEY", "valueFrom": arns["openmeteoApiKey"]},
    ]
    assert "pnu_worker_key" not in json.dumps(definition)
    # The run's environment (sent as RunTask container overrides) has no key either.
    assert "PREFECT_API_KEY" not in configuration.env
    assert configuration.env["PREFECT_API_URL"] == cloud
    assert configuration.env["UMWI_LAKE_URI"] == outputs.settings["UMWI_LAKE_URI"]
    # The stack's roles and size, as configured (umwi:taskCpu / umwi:taskMemoryMb).
    stack_variables = outputs.work_pool.job_variables
    assert definition["executionRoleArn"] == stack_variables.execution_role_arn
    assert (definition["cpu"], definition["memory"]) == (
        str(stack_variables.cpu),
        str(stack_variables.memory),
    )
    assert definition["family"] == "umwi-prod-flows"
    request = configuration.task_run_request
    assert request["overrides"]["taskRoleArn"] == stack_variables.task_role_arn
    assert request["cluster"] == stack_variables.cluster
    assert "pnu_worker_key" not in json.dumps(request, default=str)


def test_every_flow_has_a_deployment_per_environment() -> None:
    for env in ("dev", "prod"):
        outputs = StackOutputs.from_json(env, outputs_json(env, "ecs"))
        specs = deployment_specs(env, outputs, CONFIG)
        assert {spec.flow for spec in specs} == {
            *("ingest", "build", "pipeline", "maintain"),
            "outlook",  # the hourly forecast refresh and outlook (issue 20)
        }
        assert all(spec.name.endswith(f"-{env}") for spec in specs)


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`prefect server start` on 127.0.0.1, its home and database in a temporary folder."""
    home = tmp_path_factory.mktemp("prefect-server")
    # Held until the server answers: no one else gets the port meanwhile.
    holding = ExitStack()
    port = holding.enter_context(reserved_port())
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")} | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_until_healthy(
            f"{url}/health",
            server,
            120,
            request_timeout_s=2,
            interval_s=0.5,
            log=home / "server.log",
        )
        holding.close()
        yield url
    finally:
        holding.close()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _load_deploy_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "umwi_deploy_script", ROOT / "flows" / "deploy.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_register_every_deployment_on_a_prefect_server_hybrid_pool(
    prefect_api: str, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deploy_script = _load_deploy_script()
    results: dict[str, Any] = {}
    with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        for env in ("dev", "prod"):
            outputs_file = tmp_path / f"{env}.json"
            outputs_file.write_text(json.dumps(outputs_json(env, "ecs")))
            code = deploy_script.main(
                [
                    "--env",
                    env,
                    "--outputs",
                    str(outputs_file),
                    "--tag",
                    "abc123",
                    "--config",
                    str(ROOT / "umwi.toml.example"),
                    "--no-build",
                    "--create-pool",
                ]
            )
            assert code == 0
        with get_client(sync_client=True) as client:
            for env in ("dev", "prod"):
                pool = client.read_work_pool(f"umwi-{env}-ecs")
                assert pool.type == "ecs"
                assert pool.base_job_template == base_job_template()
            for deployment in client.read_deployments():
                flow = client.read_flow(deployment.flow_id)
                results[f"{flow.name}/{deployment.name}"] = deployment

    expected = {
        f"{flow}/{name}-{env}"
        for env in ("dev", "prod")
        for flow, name in (
            ("ingest", "weather-hourly"),
            ("ingest", "realtime-poll"),
            ("build", "gold-nightly"),
            ("pipeline", "pipeline"),
            ("maintain", "maintenance-weekly"),
            ("outlook", "outlook-hourly"),
        )
    }
    assert set(results) == expected

    def schedule_of(key: str) -> tuple[Any, bool]:
        (only,) = results[key].schedules
        return only.schedule, only.active

    for env, active in (("dev", False), ("prod", True)):
        weather, on = schedule_of(f"ingest/weather-hourly-{env}")
        assert (weather.cron, weather.timezone, on) == ("5 * * * *", "UTC", active)
        poll, on = schedule_of(f"ingest/realtime-poll-{env}")
        assert (poll.interval.total_seconds(), on) == (300, active)
        gold, _ = schedule_of(f"build/gold-nightly-{env}")
        assert gold.cron == "30 2 * * *"
        weekly, _ = schedule_of(f"maintain/maintenance-weekly-{env}")
        assert weekly.cron == "0 4 * * 0"
        outlook, on = schedule_of(f"outlook/outlook-hourly-{env}")
        assert (outlook.cron, on) == ("20 * * * *", active)
        assert results[f"outlook/outlook-hourly-{env}"].entrypoint == (
            "umwi_flows._flows.outlook_flow"
        )
        assert results[f"pipeline/pipeline-{env}"].schedules == []

        weather_run = results[f"ingest/weather-hourly-{env}"]
        assert weather_run.entrypoint == "umwi_flows._flows.ingest_flow"
        assert weather_run.work_pool_name == f"umwi-{env}-ecs"
        assert weather_run.parameters["only"] == ["weather"]
        assert weather_run.parameters["lookback_days"] == 2
        locations = weather_run.parameters["sources"]["weather"]["locations"]
        assert [loc["location_id"] for loc in locations] == ["paris-centre", "paris-la-defense"]
        assert results[f"ingest/realtime-poll-{env}"].parameters["only"] == ["navitia", "gtfs_rt"]

        variables = weather_run.job_variables
        assert variables["image"] == (
            f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/umwi-{env}-flows:abc123"
        )
        assert variables["cluster"].endswith(f":cluster/umwi-{env}-flows")
        assert variables["env"]["UMWI_ENV"] == "aws"
        assert variables["env"]["UMWI_LAKE_URI"] == f"s3://umwi-{env}-lake-{ACCOUNT}/lake"
        assert variables["env"]["UMWI_LEDGER_TABLE"] == f"umwi-{env}-ledger"
        assert variables["env"]["UMWI_STATE_DIR"] == "/tmp/umwi"
        assert variables["cpu"] == 512
        assert variables["navitia_token_secret_arn"].endswith(f"umwi-{env}/navitia-token")
        assert variables["umwi_prefect_api_key_secret_arn"].endswith(f"umwi-{env}/prefect-api-key")
        assert "prefect_api_key_secret_arn" not in variables
        assert variables["network_configuration"]["subnets"] == ["subnet-0a", "subnet-0b"]
        # Every deployment runs at the stack's size (umwi:taskCpu / umwi:taskMemoryMb).
        assert results[f"build/gold-nightly-{env}"].job_variables["memory"] == 1024
