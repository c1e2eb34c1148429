"""`moto_server` with DynamoDB's per-item write atomicity, and Fargate tasks sized per task.

moto checks a ConditionExpression and then writes in two steps, without a lock, while its
server answers requests on many threads: two concurrent conditional claims of one item can
both succeed, which DynamoDB itself never allows (it serialises the writes to an item). The
ledger's claims rely on that guarantee, so the server the tests start serialises moto's
DynamoDB writes.

moto's RunTask also sums every container's memory, and fails (HTTP 500) when a container
leaves it out, which Fargate allows when the task definition sets the task's memory (as
Prefect's ECS worker registers them); such a container counts as 0 here.

Run as a script with `moto_server`'s arguments.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.ecs.models import EC2ContainerServiceBackend
from moto.server import main

WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
_lock = threading.Lock()


def _serialised(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return write(*args, **kwargs)

    return locked


RESOURCES = "_calculate_task_resource_requirements"
_sum_resources: Callable[[Any], dict[str, Any]] = getattr(EC2ContainerServiceBackend, RESOURCES)
MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")


def _task_sized_memory(task_definition: Any) -> dict[str, Any]:
    containers = [
        container
        if any(container.get(key) is not None for key in MEMORY_KEYS)
        else {**container, "memoryReservation": 0}
        for container in task_definition.container_definitions
    ]
    return _sum_resources(SimpleNamespace(container_definitions=containers))


if __name__ == "__main__":
    for name in WRITES:
        setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))
    setattr(EC2ContainerServiceBackend, RESOURCES, staticmethod(_task_sized_memory))
    main()
