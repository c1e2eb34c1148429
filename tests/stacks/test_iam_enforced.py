"""The stack applied to a moto server that enforces IAM: the pipeline runs as its roles.

The dev and prod stacks, as the real Pulumi program declares them, are created on a moto
server of their own (tests/stacks/applied.py); then moto's IAM enforcement is turned on
and every component works as the role the stack gives it: `umwi run` on the sample city
as the flow task role (ingest, build, gate, publish, and an SNS alert when the gate
fails), the Lambda handler as the API role (published gold read through DuckDB, results
cached in DynamoDB). What moto cannot judge (non-S3 resource ARNs, conditions, PassRole)
is proven on the synthesized documents in test_policies.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.api.test_lambda_handler import event as api_gateway_event
from tests.e2e._support import (
    Finished,
    child_env,
    last_line,
    prefect_server,
    run_umwi,
    sample_config,
    sample_range,
)
from tests.stacks.applied import (
    APPLIED_TYPES,
    SETUP,
    AppliedStack,
    Credentials,
    apply_stack,
    hold_ecs_tasks,
    iam_moto_server,
    iam_user,
    moto_policy,
    set_enforcement,
)
from tests.stacks.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

STACKS = ("dev", "prod")
# The pipeline runs as the prod roles only: the dev roles' policies are the prod ones with
# the environment's names (test_policies.py::test_dev_and_prod_roles_differ_only_in_names).
PIPELINE = "prod"
RUN_TIMEOUT_S = 300
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass
class Server:
    endpoint: str
    applied: dict[str, AppliedStack]
    #: a test-only principal allowed everything, to inspect what the roles did
    admin: Credentials
    #: an IAM user of the account that holds no policy
    outsider: Credentials
    #: per stack, an SQS queue subscribed to the alerts topic
    alert_queues: dict[str, str]
    #: the moto server's output (the tracebacks of its 500 answers)
    log: Path

    def admin_client(self, service: str) -> Any:
        return self.admin.client(service, self.endpoint)


@dataclass
class Pipeline:
    stack: str
    passed: Finished
    blocked: Finished


def _subscribe_queue(endpoint: str, topic_arn: str, name: str) -> str:
    sqs = SETUP.client("sqs", endpoint)
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    SETUP.client("sns", endpoint).subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=arn["QueueArn"]
    )
    return url


@pytest.fixture(scope="module")
def server(stacks: dict[str, Stack], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with iam_moto_server(log) as endpoint:
        applied = {key: apply_stack(stacks[key], endpoint) for key in STACKS}
        queues = {
            key: _subscribe_queue(
                endpoint, stacks[key].outputs["alertsTopicArn"], f"{key}-alerts-inbox"
            )
            for key in STACKS
        }
        admin = iam_user(endpoint, "test-admin", ADMIN_POLICY)
        outsider = iam_user(endpoint, "test-outsider", None)
        set_enforcement(endpoint, on=True)
        yield Server(endpoint, applied, admin, outsider, queues, log)


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as url:
        yield url


def _flow_env(server: Server, key: str, prefect_api: str, folder: Path) -> dict[str, str]:
    applied = server.applied[key]
    return child_env(
        applied.flow_environment()
        | applied.session("flows-task").environment()
        | {
            "UMWI_AWS_ENDPOINT_URL": server.endpoint,
            "UMWI_STATE_DIR": str(folder / "state"),
            "UMWI_CONFIG_FILE": str(sample_config(folder, days=2)),
            "PREFECT_API_URL": prefect_api,
        }
    )


@pytest.fixture(scope="module")
def pipeline(
    server: Server, prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Pipeline:
    """As the prod flow task role: a `umwi run` that publishes, then one whose gate fails
    (freshness made an error with a limit no day can meet)."""
    folder = tmp_path_factory.mktemp("pipeline")
    env = _flow_env(server, PIPELINE, prefect_api, folder)
    first_day = sample_range(1)
    next_day = sample_range(1, start=first_day[3])
    passed = run_umwi(["run", *first_day], env, folder, RUN_TIMEOUT_S)
    strict = env | {
        "UMWI_QUALITY_FRESHNESS_SEVERITY": "error",
        "UMWI_QUALITY_FRESHNESS_MAX_H": "0.0001",
    }
    blocked = run_umwi(["run", *next_day], strict, folder, RUN_TIMEOUT_S)
    return Pipeline(PIPELINE, passed, blocked)


def _lake(server: Server, key: str) -> tuple[str, str]:
    """(bucket, prefix) of the stack's lake."""
    uri = server.applied[key].flow_environment()["UMWI_LAKE_URI"]
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix


def _keys(server: Server, key: str, under: str) -> list[str]:
    bucket, prefix = _lake(server, key)
    s3 = server.admin_client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/{under}")
    return [str(item["Key"]) for page in pages for item in page.get("Contents", [])]


def _error_code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def _refused(call: Any) -> bool:
    """Whether AWS (moto) answers the call 403 Forbidden: not allowed by IAM."""
    with pytest.raises(ClientError) as caught:
        call()
    return int(caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == 403


# --- the stack on moto ------------------------------------------------------------------


@pytest.mark.parametrize("key", STACKS)
def test_declared_resources_are_created_from_the_program(server: Server, key: str) -> None:
    """Every resource of the applied types exists on moto as declared.

    Mutation: drop TABLE from APPLIED_TYPES (or create the ledger without its range key).
    """
    applied = server.applied[key]
    stack = applied.stack
    for typ in APPLIED_TYPES:
        declared = [r for r in stack.resources if r["type"] == typ]
        assert len(applied.created.get(typ, [])) == len(declared), typ
    dynamodb = server.admin_client("dynamodb")
    for table in stack.all("dynamodb/table:Table"):
        inputs = table["inputs"]
        described = dynamodb.describe_table(TableName=inputs["name"])["Table"]
        schema = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
        assert schema == {
            "HASH": inputs["hashKey"],
            **({"RANGE": inputs["rangeKey"]} if inputs.get("rangeKey") else {}),
        }
        ttl = dynamodb.describe_time_to_live(TableName=inputs["name"])["TimeToLiveDescription"]
        if "ttl" in inputs:
            assert ttl["AttributeName"] == inputs["ttl"]["attributeName"]
            assert ttl["TimeToLiveStatus"] == "ENABLED"
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"
    iam = server.admin_client("iam")
    for role in stack.all("iam/role:Role"):
        name = role["inputs"]["name"]
        assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [f"{name}-policy"]
    ecs = server.admin_client("ecs")
    clusters = ecs.describe_clusters(clusters=[stack.outputs["ecsCluster"]])["clusters"]
    assert [c["status"] for c in clusters] == ["ACTIVE"]
    secrets = server.admin_client("secretsmanager")
    for secret in stack.all("secretsmanager/secret:Secret"):
        secrets.describe_secret(SecretId=secret["inputs"]["name"])


def test_moto_policy_keeps_s3_statements_and_loads_other_actions_on_any_resource() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Lake",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "dynamodb:GetItem"],
                "Resource": ["arn:aws:s3:::b/lake/*"],
                "Condition": {"StringLike": {"s3:prefix": ["lake/"]}},
            },
            {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["arn:aws:sns:x"]},
        ],
    }
    assert moto_policy(document)["Statement"] == [
        {
            "Sid": "Lake",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": ["arn:aws:s3:::b/lake/*"],
            "Condition": {"StringLike": {"s3:prefix": ["lake/"]}},
        },
        {"Sid": "LakeActions", "Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": "*"},
    ]
    with pytest.raises(ValueError, match="cannot widen a Deny"):
        moto_policy({"Statement": [{"Effect": "Deny", "Action": "sns:Publish", "Resource": "x"}]})


def test_enforcement_refuses_principals_without_a_role(server: Server) -> None:
    """Mutation: skip `set_enforcement(..., on=True)` in the fixture."""
    bucket, _ = _lake(server, "dev")
    outsider = server.outsider.client("s3", server.endpoint)
    assert _error_code(lambda: outsider.list_objects_v2(Bucket=bucket)) == "AccessDenied"
    unknown = SETUP.client("s3", server.endpoint)
    assert _error_code(lambda: unknown.list_objects_v2(Bucket=bucket)) == "InvalidAccessKeyId"
    sns = server.outsider.client("sns", server.endpoint)
    topic = server.applied["dev"].flow_environment()["UMWI_ALERTS_TOPIC_ARN"]
    assert _refused(lambda: sns.publish(TopicArn=topic, Message="x"))


# --- the flow task role -----------------------------------------------------------------


def test_flow_task_role_runs_the_pipeline_and_publishes(server: Server, pipeline: Pipeline) -> None:
    """Mutation: remove "s3:DeleteObject" or "dynamodb:UpdateItem" from the flows-task policy."""
    key = pipeline.stack
    passed = pipeline.passed
    assert passed.returncode == 0, passed.output[-3000:]
    for layer in ("bronze/sample/", "silver/departures/_delta_log/", "gold/"):
        assert _keys(server, key, layer), layer
    assert _keys(server, key, "gold/_published.json"), "nothing published"
    ledger = server.applied[key].flow_environment()["UMWI_LEDGER_TABLE"]
    items = server.admin_client("dynamodb").scan(TableName=ledger)["Items"]
    windows = {i["window"]["S"]: i["status"]["S"] for i in items if "sample" in i["pk"]["S"]}
    assert windows == {"2026-01-05": "done", "2026-01-06": "done"}


def test_failed_gate_alerts_through_sns_as_the_flow_task_role(
    server: Server, pipeline: Pipeline
) -> None:
    """Mutation: remove the Alerts statement (sns:Publish) from the flows-task policy."""
    key = pipeline.stack
    blocked = pipeline.blocked
    assert blocked.returncode != 0, blocked.output[-3000:]
    assert "quality gate failed" in last_line(blocked.output), blocked.output[-3000:]
    sqs = server.admin_client("sqs")
    received = sqs.receive_message(
        QueueUrl=server.alert_queues[key], MaxNumberOfMessages=10, WaitTimeSeconds=2
    ).get("Messages", [])
    assert len(received) == 1, [m["Body"][:200] for m in received]
    alert = json.loads(json.loads(received[0]["Body"])["Message"])
    assert alert["severity"] == "error"
    assert "freshness" in json.dumps(alert)


def test_flow_task_role_refreshes_the_outlook_and_alerts_once(
    server: Server, pipeline: Pipeline, prefect_api: str, tmp_path: Path
) -> None:
    """`umwi outlook` as the flow task role: the sample city's forecast for the Monday after
    a week (the published Monday is its model) lands in silver, the outlook publishes
    alone, and each line below a threshold no line meets alerts once through SNS, its
    episode in DynamoDB (issue 20: no new permission).

    Mutation: remove "dynamodb:GetItem" from the flows-task policy → the episode cannot be
    read and the run fails: red."""
    assert pipeline.passed.returncode == 0, "nothing was published"
    key = pipeline.stack
    env = _flow_env(server, key, prefect_api, tmp_path) | {
        "UMWI_CONFIG_FILE": str(sample_config(tmp_path / "week", days=7)),
        "UMWI_OUTLOOK_ALERT_RELIABILITY": "1.0",
    }
    first = run_umwi(["outlook"], env, tmp_path, RUN_TIMEOUT_S)
    assert first.returncode == 0, first.output[-3000:]
    again = run_umwi(["outlook"], env, tmp_path, RUN_TIMEOUT_S)
    assert again.returncode == 0, again.output[-3000:]
    assert _keys(server, key, "silver/weather_forecast/_delta_log/")
    assert _keys(server, key, "gold/outlook_hourly/_delta_log/")
    ledger = server.applied[key].flow_environment()["UMWI_LEDGER_TABLE"]
    items = server.admin_client("dynamodb").scan(TableName=ledger)["Items"]
    episodes = {i["window"]["S"] for i in items if "outlook-alert" in i["pk"]["S"]}
    assert episodes, "no line was below the threshold"
    sqs = server.admin_client("sqs")
    titles: list[str] = []
    for _ in range(5):
        found = sqs.receive_message(
            QueueUrl=server.alert_queues[key], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in found:
            titles.append(json.loads(message["Body"])["Subject"])
            sqs.delete_message(
                QueueUrl=server.alert_queues[key], ReceiptHandle=message["ReceiptHandle"]
            )
    outlook = [title for title in titles if "outlook: line" in title]
    # One per line and episode: the second run, in the same episodes, sends none.
    assert len(outlook) == len(episodes), titles


@pytest.mark.parametrize("key", STACKS)
def test_flow_task_role_cannot_write_outside_the_lake_prefix(server: Server, key: str) -> None:
    """Mutation: widen ReadWriteLake's resource to `<bucket>/*`."""
    bucket, prefix = _lake(server, key)
    s3 = server.applied[key].session("flows-task").client("s3", server.endpoint)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/probe", Body=b"allowed")
    for where in ("probe", "lakehouse/probe", "access/probe"):
        denied = _error_code(lambda k=where: s3.put_object(Bucket=bucket, Key=k, Body=b"x"))
        assert denied == "AccessDenied", where
    # Nor any other bucket of the stack (the access logs, the dashboard).
    for other in server.applied[key].created["aws:s3/bucket:Bucket"]:
        if other != bucket:
            denied = _error_code(lambda b=other: s3.put_object(Bucket=b, Key="lake/x", Body=b""))
            assert denied == "AccessDenied", other


# --- the API Lambda role ------------------------------------------------------------------


@pytest.fixture
def api_role(
    server: Server,
    pipeline: Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AppliedStack:
    """This process as the API Lambda: its environment and its role's session."""
    assert pipeline.passed.returncode == 0, "nothing was published"
    applied = server.applied[pipeline.stack]
    values = applied.lambda_environment() | applied.session("api-role").environment()
    values |= {"UMWI_AWS_ENDPOINT_URL": server.endpoint, "UMWI_STATE_DIR": str(tmp_path)}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    # boto3's default session keeps the credentials it resolved first (another test's): a
    # Lambda container starts with none, so neither does this one.
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return applied


def _invoke(path: str, query: str) -> tuple[int, dict[str, str], bytes]:
    import umwi_api.lambda_handler as module

    # Lambda reads its settings in the init phase: import it now, with this environment.
    handler = importlib.reload(module).handler
    response = handler(api_gateway_event(path, query), None)
    raw = response["body"]
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    if response["headers"].get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return int(response["statusCode"]), dict(response["headers"]), body


def test_api_role_serves_published_gold_and_caches_it(
    server: Server, api_role: AppliedStack
) -> None:
    """Mutation: remove ReadPublishedGold, or dynamodb:PutItem from UseResultCache."""
    status, headers, body = _invoke("/kpi/weather-impact", "line_id=%2A&period=all")
    assert status == 200, body[:500]
    rows = json.loads(body)
    assert rows
    assert int(headers["x-total-count"]) == len(rows)
    cache = api_role.lambda_environment()["UMWI_CACHE_TABLE"]
    dynamodb = server.admin_client("dynamodb")
    items = dynamodb.scan(TableName=cache)["Items"]
    assert items, "the API role wrote nothing to its cache"
    ttl = dynamodb.describe_time_to_live(TableName=cache)["TimeToLiveDescription"]
    for item in items:
        # DynamoDB expires the items through the attribute the stack declares.
        assert int(item[ttl["AttributeName"]]["N"]) > time.time()


def test_api_role_cannot_write_the_lake_read_silver_or_alert(
    server: Server, api_role: AppliedStack
) -> None:
    """Mutation: widen ReadPublishedGold's resource to `<bucket>/lake/*`."""
    key = api_role.stack.key
    bucket, prefix = _lake(server, key)
    session = api_role.session("api-role")
    s3 = session.client("s3", server.endpoint)
    (gold_key, *_) = _keys(server, key, "gold/")
    s3.get_object(Bucket=bucket, Key=gold_key)
    (silver_key, *_) = _keys(server, key, "silver/")
    assert _error_code(lambda: s3.get_object(Bucket=bucket, Key=silver_key)) == "AccessDenied"
    for where in (gold_key, f"{prefix}/gold/new", f"{prefix}/bronze/new"):
        denied = _error_code(lambda k=where: s3.put_object(Bucket=bucket, Key=k, Body=b"x"))
        assert denied == "AccessDenied", where
    assert _error_code(lambda: s3.delete_object(Bucket=bucket, Key=gold_key)) == "AccessDenied"
    sns = session.client("sns", server.endpoint)
    topic = api_role.flow_environment()["UMWI_ALERTS_TOPIC_ARN"]
    assert _refused(lambda: sns.publish(TopicArn=topic, Message="x"))


# --- the Prefect side: an ECS worker (dev's worker mode) ----------------------------------

WORKER_ROLE = "prefect-worker"
WORKER_TIMEOUT_S = 180


@dataclass
class WorkerRun:
    outputs: dict[str, Any]
    deployment: dict[str, Any]
    task: dict[str, Any]
    task_definition: dict[str, Any]
    #: describe_tasks once the test stopped the task as the worker's role
    stopped: dict[str, Any]
    worker: Finished


def _python(args: list[str], env: dict[str, str], cwd: Path, timeout_s: float) -> str:
    """`python ARGS` in a child, which must succeed; its stdout."""
    done = subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def _wait_for_task(server: Server, cluster: str, worker: subprocess.Popen[bytes]) -> str:
    ecs = server.admin_client("ecs")
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while time.monotonic() < deadline:
        arns = ecs.list_tasks(cluster=cluster)["taskArns"]
        if arns:
            return str(arns[0])
        if worker.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError("the worker started no ECS task")


@pytest.fixture(scope="module")
def worker_run(
    server: Server, prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> WorkerRun:
    """`flows/deploy.py` registers dev's deployments on the local Prefect server from the
    stack outputs; a flow run of the pipeline deployment is picked up by `prefect worker
    start --type ecs` running as the stack's worker role against the enforcing moto."""
    folder = tmp_path_factory.mktemp("worker")
    applied = server.applied["dev"]
    outputs = applied.outputs()
    (folder / "outputs.json").write_text(json.dumps(outputs))
    prefect_env = child_env({"PREFECT_API_URL": prefect_api})
    _python(
        [
            str(ROOT / "flows" / "deploy.py"),
            "--env",
            "dev",
            "--outputs",
            str(folder / "outputs.json"),
            "--tag",
            "test-commit",
            "--no-build",
            "--create-pool",
            "--config",
            str(sample_config(folder, days=1)),
        ],
        prefect_env,
        folder,
        timeout_s=180,
    )
    pool = outputs["workPool"]["name"]
    # Through the API: the CLI's rich output turns ":secret:" in ARNs into an emoji.
    deployment = httpx.get(f"{prefect_api}/deployments/name/pipeline/pipeline-dev").json()
    _python(
        ["-m", "prefect", "deployment", "run", "pipeline/pipeline-dev"], prefect_env, folder, 120
    )

    hold_ecs_tasks(server.endpoint)
    session = applied.session(WORKER_ROLE)
    worker_env = (
        prefect_env
        | session.environment()
        | {
            "AWS_ENDPOINT_URL": server.endpoint,
            # What the worker hands to flow runs; the deployment's job variables turn it
            # into a Secrets Manager reference (prefect_api_key_secret_arn).
            "PREFECT_API_KEY": "pnu_worker-key-never-in-a-task",
        }
    )
    log = folder / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "worker",
                "start",
                "--pool",
                pool,
                "--type",
                "ecs",
                "--run-once",
            ],
            env=worker_env,
            cwd=folder,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            cluster = outputs["ecsClusterArn"]
            ecs = session.client("ecs", server.endpoint)
            try:
                task_arn = _wait_for_task(server, cluster, worker)
            except AssertionError:
                moto = server.log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"{log.read_text()[-3000:]}\nmoto: {moto}") from None
            (task,) = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
            definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
            # moto never runs or stops a task: stop it as the worker's role would.
            ecs.stop_task(cluster=cluster, task=task_arn, reason="test over")
            (stopped,) = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
            worker.wait(timeout=WORKER_TIMEOUT_S)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
    finished = Finished(worker.returncode, log.read_text(errors="replace"), 0.0)
    return WorkerRun(outputs, deployment, task, definition["taskDefinition"], stopped, finished)


def _environment(pairs: list[dict[str, str]]) -> dict[str, str]:
    return {pair["name"]: pair["value"] for pair in pairs}


def test_worker_registers_the_flow_task_definition_of_the_stack(
    server: Server, worker_run: WorkerRun
) -> None:
    """Mutation: drop "secrets" from base_job_template's container, or the stack's
    task_role_arn from its work pool job variables."""
    definition = worker_run.task_definition
    variables = worker_run.outputs["workPool"]["jobVariables"]
    deployed = worker_run.deployment["job_variables"]
    assert definition["family"] == variables["family"]
    assert definition["executionRoleArn"] == variables["execution_role_arn"]
    # prefect-aws gives the task role in the RunTask request (see the next test).
    assert worker_run.task["overrides"]["taskRoleArn"] == variables["task_role_arn"]
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert definition["networkMode"] == "awsvpc"
    # The size the deployment asks for.
    assert (definition["cpu"], definition["memory"]) == (
        str(deployed["cpu"]),
        str(deployed["memory"]),
    )
    (container,) = definition["containerDefinitions"]
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    arns = worker_run.outputs["secretArns"]
    # Secrets by reference only: the task definition holds ARNs of the stack's secrets.
    assert secrets == {
        "UMWI_NAVITIA_TOKEN": arns["navitiaToken"],
        "UMWI_OPENMETEO_API_KEY": arns["openmeteoApiKey"],
        "PREFECT_API_KEY": arns["prefectApiKey"],
    }
    environment = _environment(container.get("environment", []))
    assert not set(environment) & set(secrets)
    assert "pnu_worker-key" not in json.dumps(definition)
    logs = container["logConfiguration"]["options"]
    assert logs["awslogs-group"] == worker_run.outputs["flowsLogGroup"]


def test_worker_task_definition_asks_ecs_only_for_what_the_execution_role_may(
    worker_run: WorkerRun, dev: Stack
) -> None:
    """ECS starts the task as the execution role: an awslogs driver told to create its
    group needs logs:CreateLogGroup, which the role lacks (the stack creates the group).

    Mutation: remove "awslogs-create-group" from the stack's cloudwatch_logs_options.
    """
    (container,) = worker_run.task_definition["containerDefinitions"]
    options = container["logConfiguration"]["options"]
    allowed = {
        action
        for statement in dev.role_statements("flows-execution-policy")
        for action in statement["Action"]
    }
    if options.get("awslogs-create-group", "false") == "true":
        assert "logs:CreateLogGroup" in allowed, options
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= allowed


def test_worker_runs_the_flow_task_on_the_stack_network(worker_run: WorkerRun) -> None:
    """The RunTask request, as moto recorded it, and the StopTask the test sent.

    Mutation: drop network_configuration from the stack's work pool job variables.
    """
    task = worker_run.task
    variables = worker_run.outputs["workPool"]["jobVariables"]
    assert task["clusterArn"] == variables["cluster"]
    assert task["launchType"] == "FARGATE"
    assert task["taskDefinitionArn"] == worker_run.task_definition["taskDefinitionArn"]
    (attachment,) = task["attachments"]
    details = {d["name"]: d["value"] for d in attachment["details"]}
    assert details["subnetId"] in variables["network_configuration"]["subnets"]
    (override,) = task["overrides"]["containerOverrides"]
    environment = _environment(override.get("environment", []))
    # The flow run gets the stack's settings, and never the Prefect API key in plain.
    for name, value in worker_run.outputs["settings"].items():
        assert environment[name] == value, name
    assert "PREFECT__FLOW_RUN_ID" in environment
    assert "PREFECT_API_KEY" not in environment
    assert worker_run.stopped["lastStatus"] == "STOPPED"
    assert worker_run.worker.returncode == 0, worker_run.worker.output[-3000:]


def test_worker_role_cannot_touch_data(server: Server) -> None:
    """Mutation: grant the worker role s3:GetObject on the lake."""
    session = server.applied["dev"].session(WORKER_ROLE)
    bucket, prefix = _lake(server, "dev")
    s3 = session.client("s3", server.endpoint)
    assert _error_code(lambda: s3.get_object(Bucket=bucket, Key=f"{prefix}/x")) == "AccessDenied"
    dynamodb = session.client("dynamodb", server.endpoint)
    ledger = server.applied["dev"].flow_environment()["UMWI_LEDGER_TABLE"]
    assert _refused(lambda: dynamodb.get_item(TableName=ledger, Key={"pk": {"S": "x"}}))


# --- the opt-in Spark engine: the EMR Serverless job role (issue 21) ----------------------


@pytest.fixture(scope="module")
def spark_stack(
    stacks: dict[str, Stack], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, AppliedStack, Credentials]]:
    """dev with `umwi:sparkEngine: emr-serverless` on a moto server of its own (its names
    are dev's), a lake seeded as the pipeline leaves it, then enforcement on."""
    log = tmp_path_factory.mktemp("moto-spark") / "moto.log"
    with iam_moto_server(log) as endpoint:
        applied = apply_stack(stacks["dev-spark"], endpoint)
        admin = iam_user(endpoint, "test-admin", ADMIN_POLICY)
        s3 = admin.client("s3", endpoint)
        bucket = applied.outputs()["lakeBucket"]
        for key in (
            "lake/silver/departures/part-0.parquet",
            "lake/bronze/sample/2026-03-01/payload.json",
            "lake/gold/_published.json",
            "lake/gold/_serving/pub-1/punctuality_hourly.parquet",
            "artifacts/spark/umwi_gold_job.py",
        ):
            s3.put_object(Bucket=bucket, Key=key, Body=b"seed")
        set_enforcement(endpoint, on=True)
        yield endpoint, applied, admin


def test_spark_job_role_reads_silver_and_writes_only_gold_candidates(
    spark_stack: tuple[str, AppliedStack, Credentials],
) -> None:
    """Mutation: widen WriteGoldCandidates to `lake/gold/*`, or ReadSilver to `lake/*`."""
    endpoint, applied, _ = spark_stack
    bucket = applied.outputs()["lakeBucket"]
    s3 = applied.session("spark-job").client("s3", endpoint)
    assert s3.get_object(Bucket=bucket, Key="lake/silver/departures/part-0.parquet")
    assert s3.get_object(Bucket=bucket, Key="artifacts/spark/umwi_gold_job.py")
    for key in (
        "lake/gold/punctuality_hourly/_delta_log/00000000000000000001.json",
        "lake/gold/correlation/part-1.parquet",
        "lake/gold/_jobs/20260301T000000Z-abc.json",
    ):
        s3.put_object(Bucket=bucket, Key=key, Body=b"candidate")
    for key in ("lake/bronze/sample/2026-03-01/payload.json", "lake/gold/_published.json"):
        assert _error_code(lambda k=key: s3.get_object(Bucket=bucket, Key=k)) == "AccessDenied"
    for key in (
        "lake/gold/_published.json",  # publication stays with the orchestrator
        "lake/gold/_serving/pub-2/punctuality_hourly.parquet",
        "lake/silver/departures/part-9.parquet",
        "lake/bronze/x.json",
        "artifacts/spark/umwi_gold_job.py",  # nor may it rewrite its own code
    ):
        denied = _error_code(lambda k=key: s3.put_object(Bucket=bucket, Key=k, Body=b"x"))
        assert denied == "AccessDenied", key
    topic = applied.flow_environment()["UMWI_ALERTS_TOPIC_ARN"]
    sns = applied.session("spark-job").client("sns", endpoint)
    assert _refused(lambda: sns.publish(TopicArn=topic, Message="x"))
    ledger = applied.flow_environment()["UMWI_LEDGER_TABLE"]
    dynamodb = applied.session("spark-job").client("dynamodb", endpoint)
    assert _refused(lambda: dynamodb.scan(TableName=ledger))


def _manifest(layer: bytes) -> str:
    """A one-layer image manifest (moto keeps it as given)."""
    config = b"{}"
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": f"sha256:{hashlib.sha256(config).hexdigest()}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": f"sha256:{hashlib.sha256(layer).hexdigest()}",
                }
            ],
        }
    )


def test_deploy_role_pushes_the_spark_job_image_and_nobody_else_can(
    spark_stack: tuple[str, AppliedStack, Credentials],
) -> None:
    """As the stack's GitHub deploy role, what the workflow does: log in, upload a layer,
    push the image under a commit's tag and read its digest back by that tag; the flows'
    task role and the job role cannot push. moto judges ECR actions, not which repository
    (test_spark.py proves PushSparkImage names this one only), nor tag immutability (its
    image digests ignore the layers; the synthesized repository is checked there), nor
    EMR Serverless's UpdateApplication (proven on the document there too).

    Mutation: drop "ecr:PutImage" (or "ecr:InitiateLayerUpload") from the deploy role's
    push statements."""
    endpoint, applied, admin = spark_stack
    repository = applied.outputs()["sparkImageRepositoryUrl"].split("/", 1)[1]
    ecr = applied.session("github-deploy").client("ecr", endpoint)
    assert ecr.get_authorization_token()["authorizationData"]
    layer = b"umwi spark job layer"
    upload = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(
        repositoryName=repository,
        uploadId=upload,
        partFirstByte=0,
        partLastByte=len(layer) - 1,
        layerPartBlob=layer,
    )
    ecr.complete_layer_upload(
        repositoryName=repository,
        uploadId=upload,
        layerDigests=[f"sha256:{hashlib.sha256(layer).hexdigest()}"],
    )
    pushed = ecr.put_image(
        repositoryName=repository, imageManifest=_manifest(layer), imageTag="c0ffee"
    )
    digest = pushed["image"]["imageId"]["imageDigest"]
    (described,) = ecr.describe_images(
        repositoryName=repository, imageIds=[{"imageTag": "c0ffee"}]
    )["imageDetails"]
    assert described["imageDigest"] == digest
    for role in ("flows-task", "spark-job"):
        other = applied.session(role).client("ecr", endpoint)
        assert _refused(
            lambda c=other: c.put_image(
                repositoryName=repository, imageManifest=_manifest(b"x"), imageTag="x"
            )
        ), role
    # The repository policy moto accepted is the one the program declared.
    (declared,) = applied.stack.all("ecr/repositoryPolicy:RepositoryPolicy")
    stored = admin.client("ecr", endpoint).get_repository_policy(repositoryName=repository)
    assert json.loads(stored["policyText"]) == json.loads(declared["inputs"]["policy"])
