"""The API's result cache: in-process locally, a DynamoDB table with TTL on aws.

Keys start with the publication id, so a republish never serves an old result. Values are
the encoded JSON page and the total row count. Which one a process uses is chosen in
`umwi_core.resources`.
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
from collections import OrderedDict
from functools import cached_property
from typing import Any, Protocol

from umwi_core._aws import aws_client
from umwi_core.settings import Settings

log = logging.getLogger("umwi.cache")

#: DynamoDB items are at most 400 KB; bigger pages are simply not cached.
MAX_ITEM_BYTES = 350_000
#: The attribute the cache table's TTL is configured on (the Pulumi stack sets it).
TTL_ATTRIBUTE = "expires_at"


class ResultCache(Protocol):
    def get(self, key: str) -> tuple[bytes, int] | None: ...

    def put(self, key: str, body: bytes, total: int) -> None: ...


class MemoryCache:
    """A bounded LRU with a lifetime per entry, safe across threads."""

    def __init__(self, ttl_s: float, max_entries: int = 512) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, bytes, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bytes, int] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1], entry[2]

    def put(self, key: str, body: bytes, total: int) -> None:
        if self._ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + self._ttl_s, body, total)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class DynamoCache:
    """Items `{pk, body (gzip), total, expires_at}`; expired items are ignored on read
    because DynamoDB deletes them only eventually."""

    def __init__(self, settings: Settings, table: str) -> None:
        self._settings = settings
        self._table = table
        self._ttl_s = settings.api_cache_ttl_s

    @cached_property
    def client(self) -> Any:
        return aws_client("dynamodb", self._settings)

    def get(self, key: str) -> tuple[bytes, int] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            item = self.client.get_item(TableName=self._table, Key={"pk": {"S": key}}).get("Item")
        except (BotoCoreError, ClientError) as error:
            # The cache only saves work: a failing cache must not fail the request.
            log.warning("API cache read failed: %s", type(error).__name__)
            return None
        if not item or int(item[TTL_ATTRIBUTE]["N"]) <= time.time():
            return None
        return gzip.decompress(item["body"]["B"]), int(item["total"]["N"])

    def put(self, key: str, body: bytes, total: int) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if self._ttl_s <= 0:
            return
        packed = gzip.compress(body, compresslevel=6)
        if len(packed) > MAX_ITEM_BYTES:
            return
        item = {
            "pk": {"S": key},
            "body": {"B": packed},
            "total": {"N": str(total)},
            TTL_ATTRIBUTE: {"N": str(int(time.time()) + self._ttl_s)},
        }
        try:
            self.client.put_item(TableName=self._table, Item=item)
        except (BotoCoreError, ClientError) as error:
            log.warning("API cache write failed: %s", type(error).__name__)


__all__ = ["TTL_ATTRIBUTE", "DynamoCache", "MemoryCache", "ResultCache"]
