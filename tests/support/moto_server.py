"""`moto_server` with DynamoDB's per-item write atomicity.

moto checks a ConditionExpression and then writes in two steps, without a lock, while its
server answers requests on many threads: two concurrent conditional claims of one item can
both succeed, which DynamoDB itself never allows (it serialises the writes to an item). The
ledger's claims rely on that guarantee, so the server the tests start serialises moto's
DynamoDB writes. Run as a script with `moto_server`'s arguments.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
_lock = threading.Lock()


def _serialised(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return write(*args, **kwargs)

    return locked


if __name__ == "__main__":
    for name in WRITES:
        setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))
    main()
