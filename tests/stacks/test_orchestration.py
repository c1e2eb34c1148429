"""Orchestration: cluster, flow image repository, secrets, and Prefect's way in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from umwi_core.naming import resource_names
from umwi_core.settings import load_settings

from tests.stacks.conftest import (
    EXTERNAL_ID,
    NAVITIA_TOKEN,
    PREFECT_API_URL,
    PREFECT_PRINCIPAL,
    WORKER_IMAGE,
)
from tests.stacks.stack import Stack
from tests.stacks.synth import ACCOUNT_ID


def test_repository_scans_on_push_and_tags_are_immutable(each_stack: Stack) -> None:
    repository = each_stack.inputs("ecr/repository:Repository", "flows-image")
    assert repository["name"] == resource_names(each_stack.env, ACCOUNT_ID).ecr_repository
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    lifecycle = json.loads(
        each_stack.inputs("ecr/lifecyclePolicy:LifecyclePolicy", "flows-image-lifecycle")["policy"]
    )
    (rule,) = lifecycle["rules"]
    assert rule["selection"]["countType"] == "imageCountMoreThan"
    assert rule["action"] == {"type": "expire"}


def test_cluster_runs_fargate(dev: Stack, prod: Stack) -> None:
    for stack, insights in ((dev, "disabled"), (prod, "enabled")):
        cluster = stack.inputs("ecs/cluster:Cluster", "cluster")
        assert cluster["name"] == f"umwi-{stack.env}-flows"
        assert cluster["settings"] == [{"name": "containerInsights", "value": insights}]
        providers = stack.inputs(
            "ecs/clusterCapacityProviders:ClusterCapacityProviders", "cluster-capacity"
        )
        assert providers["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]


def test_work_pool_settings_are_complete(
    each_stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pool = each_stack.outputs["workPool"]
    names = resource_names(each_stack.env, ACCOUNT_ID)
    assert pool["name"] == names.work_pool
    assert pool["imageRepository"] == each_stack.outputs["ecrRepositoryUrl"]
    variables = pool["jobVariables"]
    assert variables["cluster"] == each_stack.outputs["ecsClusterArn"]
    assert variables["family"] == f"umwi-{each_stack.env}-flows"
    assert variables["launch_type"] == "FARGATE"
    assert variables["task_role_arn"].endswith(f":role/umwi-{each_stack.env}-flows-task")
    assert variables["execution_role_arn"].endswith(f":role/umwi-{each_stack.env}-flows-execution")
    assert variables["network_configuration"]["securityGroups"] == ["flow-tasks-sg-id"]
    assert variables["cloudwatch_logs_options"]["awslogs-group"] == names.flows_log_group
    assert variables["env"] == each_stack.outputs["settings"]
    # The variables alone (secrets come from ECS) make valid aws-mode settings.
    monkeypatch.chdir(tmp_path)
    for name, value in variables["env"].items():
        monkeypatch.setenv(name, value)
    assert load_settings().ledger_table == names.ledger_table
    arns = each_stack.outputs["secretArns"]
    assert variables["navitia_token_secret_arn"] == arns["navitiaToken"]
    assert variables["openmeteo_api_key_secret_arn"] == arns["openmeteoApiKey"]
    # In push mode too: the API key reaches flow containers by reference, never as a value.
    assert variables["umwi_prefect_api_key_secret_arn"] == arns["prefectApiKey"]


def test_task_size_is_the_configured_one(dev: Stack, prod: Stack) -> None:
    """umwi:taskCpu / umwi:taskMemoryMb reach the work pool (Pulumi.<env>.yaml values)."""
    for stack, cpu, memory in ((dev, 512, 1024), (prod, 1024, 2048)):
        variables = stack.outputs["workPool"]["jobVariables"]
        assert (variables["cpu"], variables["memory"]) == (cpu, memory)


def test_secrets_are_named_and_kept_in_prod(dev: Stack, prod: Stack) -> None:
    for stack, window, retained in ((dev, 0, False), (prod, 30, True)):
        names = resource_names(stack.env, ACCOUNT_ID)
        secrets = {s["inputs"]["name"]: s for s in stack.all("secretsmanager/secret:Secret")}
        assert set(secrets) == {
            names.navitia_token_secret,
            names.prefect_api_key_secret,
            names.openmeteo_api_key_secret,
        }
        for secret in secrets.values():
            assert secret["inputs"]["recoveryWindowInDays"] == window
            assert secret["retainOnDelete"] is retained


def test_secret_values_only_from_secret_config_and_never_in_outputs(
    dev: Stack, prod: Stack
) -> None:
    assert dev.all("secretsmanager/secretVersion:SecretVersion") == []
    (version,) = prod.all("secretsmanager/secretVersion:SecretVersion")
    assert version["name"] == "secret-navitiaToken-value"
    assert NAVITIA_TOKEN not in json.dumps(prod.outputs)


def test_push_pool_role_trusts_only_prefect_with_the_external_id(dev_private: Stack) -> None:
    for stack in (dev_private,):
        role = stack.inputs("iam/role:Role", "prefect-push")
        assert role["name"] == f"umwi-{stack.env}-prefect-push"
        (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
        assert trust == {
            "Effect": "Allow",
            "Principal": {"AWS": PREFECT_PRINCIPAL},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
        }
        assert stack.outputs["workPool"]["type"] == "ecs:push"
        assert stack.outputs["workPool"]["prefectRoleArn"] == (
            f"arn:aws:iam::{ACCOUNT_ID}:role/umwi-{stack.env}-prefect-push"
        )
        assert stack.all("ecs/service:Service") == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_worker_mode_runs_one_prefect_worker_and_no_push_role(
    env: str, stacks: dict[str, Stack]
) -> None:
    dev = stacks[env]
    assert [r for r in dev.all("iam/role:Role") if r["name"] == "prefect-push"] == []
    assert dev.outputs["workPool"]["type"] == "ecs"
    assert dev.outputs["workPool"]["prefectRoleArn"] is None
    service = dev.inputs("ecs/service:Service", "prefect-worker")
    assert service["desiredCount"] == 1
    assert service["launchType"] == "FARGATE"
    network = dev.outputs["workPool"]["jobVariables"]["network_configuration"]
    assert service["networkConfiguration"]["assignPublicIp"] is (
        network["assignPublicIp"] == "ENABLED"
    )
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    task = dev.inputs("ecs/taskDefinition:TaskDefinition", "prefect-worker-task")
    assert task["taskRoleArn"].endswith(f":role/umwi-{env}-prefect-worker")
    (container,) = json.loads(task["containerDefinitions"])
    assert container["command"] == [
        "prefect", "worker", "start", "--pool", f"umwi-{env}-ecs", "--type", "ecs"
    ]  # fmt: skip
    assert container["environment"] == [{"name": "PREFECT_API_URL", "value": PREFECT_API_URL}]
    assert container["secrets"] == [
        {"name": "PREFECT_API_KEY", "valueFrom": dev.outputs["secretArns"]["prefectApiKey"]}
    ]
    assert container["image"] == WORKER_IMAGE
    assert container["logConfiguration"]["options"]["awslogs-group"] == f"/umwi/{env}/flows"


def test_flow_deployments_accept_the_stack_outputs(each_stack: Stack) -> None:
    """The flows read the outputs through the same contract the stack wrote them with."""
    from umwi_core.deployment import StackOutputs

    outputs = StackOutputs.from_json(each_stack.env, each_stack.outputs)
    assert outputs.work_pool.name == each_stack.outputs["workPool"]["name"]
    assert outputs.work_pool.image_repository == each_stack.outputs["ecrRepositoryUrl"]
    assert outputs.settings == each_stack.outputs["settings"]
    assert outputs.secret_arns == each_stack.outputs["secretArns"]
    dumped = outputs.work_pool.model_dump(mode="json", by_alias=True)
    assert dumped == each_stack.outputs["workPool"]
