"""What the routes document in OpenAPI besides their bodies: headers and error answers."""

from __future__ import annotations

from typing import Any

from umwi_api._models import ErrorBody

TOTAL_HEADER = "X-Total-Count"

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "No gold published yet, or it is unreadable."},
}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the published gold is still the `If-None-Match` one."},
}
LIST_HEADERS: dict[str, dict[str, Any]] = {
    TOTAL_HEADER: {"description": "Rows matching the filters.", "schema": {"type": "integer"}},
    "ETag": {"description": "The published gold version.", "schema": {"type": "string"}},
}

__all__ = ["LIST_HEADERS", "NOT_MODIFIED", "TOTAL_HEADER", "UNAVAILABLE"]
