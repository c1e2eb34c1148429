"""The published gold pointer, `gold/_published.json` (DESIGN.md §6).

Readers (CLI, API, dashboard) see gold only at the versions it names. It is replaced in one
atomic, conditional write, so a failed gate or a crashed build leaves it untouched. Pure
JSON: the API imports this without deltalake or pyarrow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from umwi_core.contracts import GOLD_TABLES
from umwi_core.errors import ConflictError
from umwi_core.lake import Lake

PUBLISHED_KEY = "gold/_published.json"


class PublishedTable(BaseModel):
    version: int = Field(description="Delta version of gold/<table>.")
    serving: str = Field(description="Lake key of the serving Parquet copy.")
    rows: int
    updated_at: datetime = Field(description="When this table's data last changed.")


class Publication(BaseModel):
    publication_id: str = Field(description="Unique id; the API's ETag.")
    published_at: datetime
    run_id: str
    tables: dict[str, PublishedTable]
    quality_report: str | None = Field(None, description="Lake key of the gate's results.")
    gate: dict[str, Any] = Field(default_factory=dict, description="Status and check counts.")


def serving_key(publication_id: str, table: str) -> str:
    return f"gold/_serving/{publication_id}/{table}.parquet"


def read_publication(lake: Lake) -> tuple[Publication, str] | None:
    """The current publication and its version token, or None before the first."""
    found = lake.read_versioned(PUBLISHED_KEY)
    if found is None:
        return None
    data, token = found
    return Publication.model_validate_json(data), token


def write_publication(lake: Lake, publication: Publication, expected_token: str | None) -> str:
    """Replace the pointer only if it is still at `expected_token` (None: still absent).

    Raises `ConflictError` when another publisher got there first.
    """
    payload = publication.model_dump_json(indent=2).encode()
    if expected_token is None:
        return lake.write_bytes(PUBLISHED_KEY, payload, if_absent=True)
    return lake.write_bytes(PUBLISHED_KEY, payload, if_match=expected_token)


def new_publication_id(now: datetime | None = None) -> str:
    from umwi_core.runs import new_run_id

    return "pub-" + new_run_id(now or datetime.now(UTC))


__all__ = [
    "GOLD_TABLES",
    "PUBLISHED_KEY",
    "ConflictError",
    "Publication",
    "PublishedTable",
    "new_publication_id",
    "read_publication",
    "serving_key",
    "write_publication",
]
