"""Conditional GET over the published gold version: the one place that writes `ETag`.

A publication never changes once written, so its id is a strong validator for every answer
derived from it; a republish changes the id and so every `ETag` at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

#: Browsers and shared caches may reuse an answer this long without asking again.
MAX_AGE_CAP_S = 60


def version_headers(publication_id: str, cache_ttl_s: int) -> dict[str, str]:
    """`ETag` and `Cache-Control` for an answer derived from `publication_id`."""
    max_age = min(cache_ttl_s, MAX_AGE_CAP_S)
    return {"ETag": f'"{publication_id}"', "Cache-Control": f"public, max-age={max_age}"}


def not_modified(request: Request, headers: Mapping[str, str]) -> Response | None:
    """A `304` carrying `headers` when the request's `If-None-Match` names their `ETag`."""
    header = request.headers.get("if-none-match")
    if not header:
        return None
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    if "*" in candidates or headers["ETag"] in candidates:
        return Response(status_code=304, headers=dict(headers))
    return None


def versioned_json(
    request: Request, publication_id: str, cache_ttl_s: int, body: Callable[[], Any]
) -> Response:
    """`body()` as JSON under the version `publication_id`; a `304` when the client holds
    that version already (`body` is then not called)."""
    headers = version_headers(publication_id, cache_ttl_s)
    unchanged = not_modified(request, headers)
    if unchanged is not None:
        return unchanged
    return JSONResponse(body(), headers=headers)


__all__ = ["MAX_AGE_CAP_S", "not_modified", "version_headers", "versioned_json"]
