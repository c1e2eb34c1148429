"""The ledger in DynamoDB: condition expressions make claims exclusive across machines."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from umwi_core._aws import aws_client
from umwi_core.errors import LedgerError
from umwi_core.ledger import DEFAULT_LEASE_S, WindowRecord, WindowStatus, lease_end, utc_now
from umwi_core.settings import Settings

PARTITION_KEY = "pk"
SORT_KEY = "window"


class DynamoLedger:
    """Items keyed by `pk` = `window#<source>` and `window` = the window name."""

    def __init__(self, table: str, settings: Settings) -> None:
        self.table = table
        self._client = aws_client("dynamodb", settings)

    @staticmethod
    def _key(source: str, window: str) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": f"window#{source}"}, SORT_KEY: {"S": window}}

    def _conditional(self, **arguments: Any) -> bool:
        try:
            self._client.update_item(TableName=self.table, **arguments)
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
            raise LedgerError(f"DynamoDB table {self.table}: {code}") from None
        return True

    def claim(
        self,
        source: str,
        window: str,
        run_id: str,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        force: bool = False,
    ) -> bool:
        now = utc_now()
        condition = (
            "attribute_not_exists(#s) OR #s = :failed OR (#s = :running AND"
            " (#lease < :now OR #run = :run))"
        )
        if force:
            condition += " OR #s = :done"
        values: dict[str, Any] = {
            ":running": {"S": WindowStatus.RUNNING.value},
            ":failed": {"S": WindowStatus.FAILED.value},
            ":now": {"S": now.isoformat()},
            ":run": {"S": run_id},
            ":claimed": {"S": now.isoformat()},
            ":lease_until": {"S": lease_end(now, lease_s).isoformat()},
            ":source": {"S": source},
            ":info": {"S": "{}"},
        }
        if force:
            values[":done"] = {"S": WindowStatus.DONE.value}
        return self._conditional(
            Key=self._key(source, window),
            UpdateExpression=(
                "SET #s = :running, #run = :run, claimed_at = :claimed, #lease = :lease_until,"
                " #src = :source, info = :info REMOVE finished_at"
            ),
            ConditionExpression=condition,
            ExpressionAttributeNames={
                "#s": "status",
                "#run": "run_id",
                "#lease": "lease_until",
                "#src": "source",
            },
            ExpressionAttributeValues=values,
        )

    def renew(
        self, source: str, window: str, run_id: str, *, lease_s: float = DEFAULT_LEASE_S
    ) -> bool:
        return self._conditional(
            Key=self._key(source, window),
            UpdateExpression="SET #lease = :lease_until",
            ConditionExpression="#s = :running AND #run = :run",
            ExpressionAttributeNames={"#s": "status", "#run": "run_id", "#lease": "lease_until"},
            ExpressionAttributeValues={
                ":lease_until": {"S": lease_end(utc_now(), lease_s).isoformat()},
                ":running": {"S": WindowStatus.RUNNING.value},
                ":run": {"S": run_id},
            },
        )

    def _finish(
        self, source: str, window: str, run_id: str, status: WindowStatus, info: dict[str, Any]
    ) -> None:
        done = self._conditional(
            Key=self._key(source, window),
            UpdateExpression="SET #s = :status, finished_at = :now, info = :info",
            ConditionExpression="#run = :run",
            ExpressionAttributeNames={"#s": "status", "#run": "run_id"},
            ExpressionAttributeValues={
                ":status": {"S": status.value},
                ":now": {"S": utc_now().isoformat()},
                ":info": {"S": json.dumps(info, default=str, sort_keys=True)},
                ":run": {"S": run_id},
            },
        )
        if not done:
            raise LedgerError(f"run {run_id} does not hold window {source}/{window}")

    def complete(self, source: str, window: str, run_id: str, info: dict[str, Any]) -> None:
        self._finish(source, window, run_id, WindowStatus.DONE, info)

    def fail(self, source: str, window: str, run_id: str, reason: str) -> None:
        self._finish(source, window, run_id, WindowStatus.FAILED, {"reason": reason})

    @staticmethod
    def _record(item: dict[str, Any]) -> WindowRecord:
        finished = item.get("finished_at", {}).get("S")
        return WindowRecord(
            source=item["source"]["S"],
            window=item[SORT_KEY]["S"],
            status=WindowStatus(item["status"]["S"]),
            run_id=item["run_id"]["S"],
            claimed_at=datetime.fromisoformat(item["claimed_at"]["S"]),
            lease_until=datetime.fromisoformat(item["lease_until"]["S"]),
            finished_at=datetime.fromisoformat(finished) if finished else None,
            info=json.loads(item.get("info", {}).get("S", "{}")),
        )

    def get(self, source: str, window: str) -> WindowRecord | None:
        response = self._client.get_item(
            TableName=self.table, Key=self._key(source, window), ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else self._record(item)

    def records(self, source: str | None = None) -> list[WindowRecord]:
        found: list[WindowRecord] = []
        if source is not None:
            paginator = self._client.get_paginator("query")
            pages = paginator.paginate(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"window#{source}"}},
                ConsistentRead=True,
            )
        else:
            paginator = self._client.get_paginator("scan")
            pages = paginator.paginate(TableName=self.table, ConsistentRead=True)
        for page in pages:
            for item in page.get("Items", []):
                if str(item[PARTITION_KEY]["S"]).startswith("window#"):
                    found.append(self._record(item))
        return sorted(found, key=lambda record: (record.source, record.window))
