"""`/lines` shares the KPI routes' conditional GET."""

from __future__ import annotations

from fastapi.testclient import TestClient
from umwi_core.publication import Publication


def test_lines_answer_304_for_the_current_version(client: TestClient, gold: Publication) -> None:
    """Mutation: drop the `not_modified` check in `routes.lines.lines` → 200, red."""
    first = client.get("/lines")
    assert first.headers["ETag"] == f'"{gold.publication_id}"'
    again = client.get("/lines", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
