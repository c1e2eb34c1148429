"""Alerts: a structured log line plus `alerts.jsonl` locally, an SNS message on aws."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from umwi_core.settings import Settings

logger = logging.getLogger("umwi.alerts")


class Alert(BaseModel):
    """One thing a person should look at."""

    severity: Literal["error", "warn", "info"]
    title: str
    summary: str
    run_id: str | None = None
    report: str | None = Field(None, description="Path or URI of the detailed report.")
    details: dict[str, Any] = Field(default_factory=dict)
    sent_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


@runtime_checkable
class AlertSink(Protocol):
    def send(self, alert: Alert) -> None: ...


class FileAlertSink:
    """Appends one JSON object per line: `O_APPEND` writes of one line do not interleave."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, alert: Alert) -> None:
        log = logger.error if alert.severity == "error" else logger.warning
        log("%s: %s", alert.title, alert.summary, extra={"alert": alert.model_dump(mode="json")})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (alert.model_dump_json() + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def read(self) -> list[Alert]:
        if not self.path.exists():
            return []
        return [
            Alert.model_validate_json(line)
            for line in self.path.read_text().splitlines()
            if line.strip()
        ]


class SnsAlertSink:
    def __init__(self, topic_arn: str, settings: Settings) -> None:
        from umwi_core._aws import aws_client

        self.topic_arn = topic_arn
        self._client = aws_client("sns", settings)

    def send(self, alert: Alert) -> None:
        logger.warning("%s: %s (to SNS)", alert.title, alert.summary)
        # SNS subjects are limited to 100 printable characters.
        subject = f"[umwi {alert.severity}] {alert.title}"[:100]
        self._client.publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=json.dumps(alert.model_dump(mode="json"), indent=2),
            MessageAttributes={
                "severity": {"DataType": "String", "StringValue": alert.severity},
            },
        )
