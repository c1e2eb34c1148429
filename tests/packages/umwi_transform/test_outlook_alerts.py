"""Outlook alerts: one per line and episode of low expected reliability, the episode in
the ledger, through the alert sink (DESIGN.md §8). Local (SQLite + alerts.jsonl) and aws
(DynamoDB + SNS on moto)."""

from __future__ import annotations

import json
from typing import Any

from umwi_core.resources import Resources
from umwi_core.settings import Settings
from umwi_transform import build_gold, land_forecast, outlook_alerts, publish_gold
from umwi_transform._outlook_alerts import ALERT_SOURCE

from tests.packages.umwi_transform.factory import (
    at,
    build,
    departure,
    forecast_table,
    weather,
)

WEEK = 24 * 7


def _resources(settings: Settings) -> Resources:
    """k = 2, alert below 50 %: L1 (late in the rain) is expected 25 % reliable in rain,
    L2 (never late) 75 % after shrinkage towards all lines (50 %)."""
    return Resources(
        settings.model_copy(
            update={"outlook_shrinkage_hours": 2.0, "outlook_alert_reliability": 0.5}
        )
    )


def _history(resources: Resources) -> None:
    rows = [
        departure(trip=f"{line}{w}", line=line, scheduled=at(hours=WEEK * w), delay=delay)
        for w in range(4)
        for line, delay in (("L1", 600 if w >= 2 else 60), ("L2", 30))
    ]
    hours = [
        weather(hour=at(hours=WEEK * w), precipitation=1.0 if w >= 2 else 0.0) for w in range(4)
    ]
    build(resources.lake, resources.settings, rows, hours)


def _forecast(resources: Resources, week: int, precipitation: float) -> None:
    """A forecast issued on Monday 07:00 of `week` for its 08:00, built and published."""
    issued = at(hours=WEEK * week - 1)
    land_forecast(
        resources.lake, forecast_table(issued, [(at(hours=WEEK * week), precipitation)]), "f"
    )
    candidates = build_gold(resources.lake, resources.settings, "b")
    publish_gold(resources.lake, candidates, run_id="b", gate={}, quality_report=None)


def _check(resources: Resources, run_id: str) -> list[str]:
    sent = outlook_alerts(
        resources.lake, resources.settings, resources.ledger, resources.alerts, run_id
    )
    return [alert.details["line_id"] for alert in sent]


def test_one_alert_per_line_and_episode(settings: Settings) -> None:
    """Rain, rain again (same episode), dry (closes it), rain (a new episode).

    Mutations: claim with `lease_s=0` in `outlook_alerts` (an episode that lapses at once)
    → the second rainy check alerts again; `force=False` → the closed episode never
    reopens and the last rainy check sends nothing: red."""
    resources = _resources(settings)
    _history(resources)
    _forecast(resources, 4, 1.0)
    assert _check(resources, "r1") == ["L1"]
    assert _check(resources, "r2") == []
    episode = resources.ledger.get(ALERT_SOURCE, "net/L1")
    assert episode is not None
    assert episode.status == "running"
    assert episode.run_id == "r1"
    _forecast(resources, 5, 0.0)
    assert _check(resources, "r3") == []
    closed = resources.ledger.get(ALERT_SOURCE, "net/L1")
    assert closed is not None
    assert closed.status == "done"
    _forecast(resources, 6, 1.0)
    assert _check(resources, "r4") == ["L1"]
    lines = (settings.state_dir / "alerts.jsonl").read_text().splitlines()
    found = [json.loads(line) for line in lines]
    assert [alert["details"]["line_id"] for alert in found] == ["L1", "L1"]
    first = found[0]
    assert first["severity"] == "warn"
    assert first["details"]["expected_reliability"] == 0.25
    assert first["details"]["threshold"] == 0.5
    assert first["title"] == "outlook: line L1 of net expected 25% reliable over the next 6 h"


def test_aws_alerts_go_to_sns_once_per_episode(aws_resources: Any) -> None:
    """The same on DynamoDB and SNS. Mutation: the same as the local test's."""
    resources = _resources(aws_resources.settings)
    sqs: Any = aws_resources.client("sqs")
    sns: Any = aws_resources.client("sns")
    queue_url = sqs.create_queue(QueueName=f"outlook-{aws_resources.names.env}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=aws_resources.topic_arn, Protocol="sqs", Endpoint=queue_arn)
    _history(resources)
    _forecast(resources, 4, 1.0)
    assert _check(resources, "r1") == ["L1"]
    assert _check(resources, "r2") == []
    messages = sqs.receive_message(
        QueueUrl=queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=10
    ).get("Messages", [])
    assert len(messages) == 1
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Subject"].startswith("[umwi warn] outlook: line L1 of net")
    assert json.loads(envelope["Message"])["details"]["line_id"] == "L1"
