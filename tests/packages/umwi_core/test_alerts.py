from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from umwi_core.alerts import Alert, FileAlertSink, SnsAlertSink
from umwi_core.resources import make_alerts
from umwi_core.settings import Settings


def test_local_alerts_append_json_lines_and_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    sink = make_alerts(settings)
    assert isinstance(sink, FileAlertSink)
    with caplog.at_level(logging.WARNING, logger="umwi.alerts"):
        sink.send(Alert(severity="error", title="gate failed", summary="2 checks", run_id="r1"))
        sink.send(Alert(severity="warn", title="drift", summary="median +200 s"))
    lines = (settings.state_dir / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["title"] for line in lines] == ["gate failed", "drift"]
    assert [alert.severity for alert in sink.read()] == ["error", "warn"]
    assert "gate failed: 2 checks" in caplog.text


def test_aws_alerts_reach_an_sqs_subscriber(aws_resources: Any) -> None:
    sink = make_alerts(aws_resources.settings)
    assert isinstance(sink, SnsAlertSink)
    sqs: Any = aws_resources.client("sqs")
    sns: Any = aws_resources.client("sns")
    queue_url = sqs.create_queue(QueueName=f"alerts-{aws_resources.names.env}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=aws_resources.topic_arn, Protocol="sqs", Endpoint=queue_arn)
    sink.send(Alert(severity="error", title="gate failed", summary="x", details={"failed": 2}))
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Subject"] == "[umwi error] gate failed"
    assert json.loads(envelope["Message"])["details"] == {"failed": 2}
