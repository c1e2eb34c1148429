"""The whole pipeline with UMWI_ENV=aws on moto server, as a user runs it (`umwi run`).

Resources are created with the names the Pulumi stack gives them (`resource_names`). Then:
bronze, silver and gold land in S3, the ledger in DynamoDB, a failed gate's alert reaches
an SQS queue subscribed to the SNS topic, and the API — in process and through the Lambda
handler — reads the published gold from S3 through DuckDB's httpfs.
"""

from __future__ import annotations

import base64
import gzip
import importlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from umwi_core.lake import Lake
from umwi_core.publication import GOLD_TABLES, Publication, read_publication
from umwi_core.resources import build_resources, make_lake
from umwi_core.settings import load_settings
from umwi_transform import open_delta

from tests.api.test_lambda_handler import event as api_gateway_event
from tests.e2e._lake_checks import check_readable
from tests.e2e._support import (
    TEST_CREDENTIALS,
    Finished,
    child_env,
    last_line,
    run_umwi,
    sample_config,
    sample_range,
    umwi_variables,
)
from tests.support.aws import AwsResources, create_resources

# Two `umwi run`s (and the session's Prefect server) on a possibly busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

DAYS = 2
RUN_TIMEOUT_S = 300


@dataclass
class AwsRun:
    resources: AwsResources
    variables: dict[str, str]
    passed: Finished
    blocked: Finished
    publication: Publication
    queue_url: str


def _subscribe_queue(resources: AwsResources) -> str:
    sqs: Any = resources.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{resources.names.alerts_topic}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns: Any = resources.client("sns")
    sns.subscribe(TopicArn=resources.topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return str(queue_url)


@pytest.fixture(scope="module")
def aws_run(moto_server: str, prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> AwsRun:
    """Two `umwi run`s on fresh resources: one that publishes, one whose gate fails."""
    folder = tmp_path_factory.mktemp("aws-mode")
    with pytest.MonkeyPatch.context() as patch:
        # Module scope runs before the per-test isolation: give this setup its credentials.
        for key, value in TEST_CREDENTIALS.items():
            patch.setenv(key, value)
        resources = create_resources(moto_server, folder, patch)
        variables = umwi_variables()
        queue_url = _subscribe_queue(resources)
        config = sample_config(folder, days=DAYS + 1)
        env = child_env(
            variables | {"PREFECT_API_URL": prefect_api, "UMWI_CONFIG_FILE": str(config)}
        )
        passed = run_umwi(["run", *sample_range(DAYS)], env, folder, RUN_TIMEOUT_S)
        assert passed.returncode == 0, passed.output[-3000:]
        found = read_publication(make_lake(resources.settings))
        assert found is not None, "the passing run published nothing"
        # Freshness made an error with a limit no day can meet: the next day's gate fails.
        strict = env | {
            "UMWI_QUALITY_FRESHNESS_SEVERITY": "error",
            "UMWI_QUALITY_FRESHNESS_MAX_H": "0.0001",
        }
        next_day = ["--start", sample_range(DAYS)[3], "--end", sample_range(DAYS + 1)[3]]
        blocked = run_umwi(["run", *next_day], strict, folder, RUN_TIMEOUT_S)
    return AwsRun(resources, variables, passed, blocked, found[0], queue_url)


@pytest.fixture
def aws_env(aws_run: AwsRun, monkeypatch: pytest.MonkeyPatch) -> AwsRun:
    """The run's aws settings in this process's environment (the API reads them)."""
    for key, value in aws_run.variables.items():
        monkeypatch.setenv(key, value)
    return aws_run


def _lake(run: AwsRun) -> Lake:
    return make_lake(run.resources.settings)


def test_lake_layers_land_in_s3(aws_run: AwsRun) -> None:
    lake = _lake(aws_run)
    assert lake.root == aws_run.resources.names.lake_uri()
    keys = list(lake.list(""))
    layers = {key.split("/", 1)[0] for key in keys}
    assert {"bronze", "silver", "gold", "runs", "quality"} <= layers, layers
    assert any(key.startswith("bronze/sample/") for key in keys)
    for table in ("departures", "weather_hourly"):
        assert any(key.startswith(f"silver/{table}/_delta_log/") for key in keys), table
    for table in GOLD_TABLES:
        assert any(key.startswith(f"gold/{table}/_delta_log/") for key in keys), table
        assert lake.exists(aws_run.publication.tables[table].serving)
    assert aws_run.publication.quality_report is not None
    assert lake.exists(aws_run.publication.quality_report)
    readable = check_readable(lake)
    assert readable.publication_id == aws_run.publication.publication_id
    assert readable.silver_rows["departures"] > 0
    assert readable.gold_rows["weather_impact"] > 0


def test_ledger_windows_are_in_dynamodb(aws_run: AwsRun) -> None:
    dynamodb: Any = aws_run.resources.client("dynamodb")
    items = dynamodb.scan(TableName=aws_run.resources.settings.ledger_table)["Items"]
    windows = {
        item["window"]["S"]: item["status"]["S"]
        for item in items
        if item["pk"]["S"].startswith("window#sample")
    }
    # The gate blocks publication, never silver: the third day's window is done too.
    assert windows == {"2026-01-05": "done", "2026-01-06": "done", "2026-01-07": "done"}


def test_failed_gate_alerts_through_sns_and_publishes_nothing(aws_run: AwsRun) -> None:
    blocked = aws_run.blocked
    assert blocked.returncode != 0, blocked.output[-3000:]
    assert "quality gate failed" in last_line(blocked.output), last_line(blocked.output)
    lake = _lake(aws_run)
    found = read_publication(lake)
    assert found is not None
    assert found[0].publication_id == aws_run.publication.publication_id
    # The gate blocks publication, never silver: the blocked day is stored.
    silver = open_delta(lake, "silver", "departures")
    assert silver is not None
    days = pc.unique(pc.strftime(silver.to_pyarrow_table().column("scheduled_at"), "%Y-%m-%d"))
    assert "2026-01-07" in days.to_pylist()

    sqs: Any = aws_run.resources.client("sqs")
    received = sqs.receive_message(
        QueueUrl=aws_run.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2
    ).get("Messages", [])
    assert len(received) == 1, [m["Body"][:200] for m in received]
    envelope = json.loads(received[0]["Body"])
    assert envelope["TopicArn"] == aws_run.resources.topic_arn
    assert envelope["Subject"].startswith("[umwi error]")
    alert = json.loads(envelope["Message"])
    assert alert["severity"] == "error"
    assert alert["run_id"] is not None
    assert "freshness" in json.dumps(alert), alert


def _serving_rows(run: AwsRun, table: str) -> list[dict[str, Any]]:
    """The published serving copy read straight from S3, independently of the API."""
    lake = _lake(run)
    data = lake.read_bytes(run.publication.tables[table].serving)
    rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(data)).to_pylist()
    return rows


def _rows_of(body: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(body)
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


def test_api_reads_published_gold_from_s3(aws_env: AwsRun) -> None:
    from umwi_api import create_app

    settings = load_settings()
    with TestClient(create_app(build_resources(settings), serve_web=False)) as client:
        response = client.get("/kpi/weather-impact", params={"line_id": "*", "period": "all"})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{aws_env.publication.publication_id}"'
    rows = _rows_of(response.content)
    expected = [
        row
        for row in _serving_rows(aws_env, "weather_impact")
        if row["line_id"] == "*" and row["period"] == "all"
    ]
    assert int(response.headers["x-total-count"]) == len(rows) == len(expected) > 0
    by_class = {row["weather_class"]: row for row in expected}
    for row in rows:
        want = by_class[row["weather_class"]]
        assert row["departures"] == want["departures"]
        assert row["mean_delay_s"] == pytest.approx(want["mean_delay_s"], nan_ok=True)


def test_lambda_handler_returns_the_same_rows(aws_env: AwsRun) -> None:
    import umwi_api.lambda_handler as module
    from umwi_api import create_app

    # Lambda reads its settings in the init phase: import it now, with the aws settings.
    handler = importlib.reload(module).handler
    query = "line_id=%2A&period=all"
    response = handler(api_gateway_event("/kpi/weather-impact", query), None)
    assert response["statusCode"] == 200, response
    raw = response["body"]
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    if response["headers"].get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    with TestClient(create_app(build_resources(load_settings()), serve_web=False)) as client:
        direct = client.get("/kpi/weather-impact", params={"line_id": "*", "period": "all"})
    assert _rows_of(body) == _rows_of(direct.content)
    assert response["headers"]["etag"] == f'"{aws_env.publication.publication_id}"'


def test_state_stays_out_of_the_local_folder(aws_run: AwsRun, tmp_path: Path) -> None:
    # aws mode keeps only scratch locally: no ledger database, no alerts file.
    state = Path(aws_run.variables["UMWI_STATE_DIR"])
    assert not (state / "state.db").exists()
    assert not (state / "alerts.jsonl").exists()
