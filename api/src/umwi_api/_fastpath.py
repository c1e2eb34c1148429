"""Repeated local KPI requests answered before routing, from the reader's one cache.

FastAPI's parameter validation and dependency solving are most of what a cached request
costs. A published version never changes, so the same path and query string under the same
publication id always get the same body: after the first answer it is kept in the reader's
cache (the API's only cache of answers, with its bound and lifetime) under that request's
key, beside the filters' key the reader uses itself. Only for an in-process cache
(`GoldReader.nonblocking`): on Lambda each container serves one request at a time and the
DynamoDB cache is the shared layer.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from umwi_core.errors import UmwiError

from umwi_api._responses import TOTAL_HEADER
from umwi_api.deps import get_reader
from umwi_api.queries import GoldReader
from umwi_api.routes.kpi import kpi_response

MAX_BODY_BYTES = 1_000_000
_TOTAL = TOTAL_HEADER.lower().encode()


def _reader(scope: Scope) -> GoldReader | None:
    """The app's reader when this request may be answered here, else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    app = scope.get("app")
    # An overridden reader (a test's) is reached only through routing.
    if app is None or get_reader in app.dependency_overrides:
        return None
    reader: GoldReader = app.state.reader
    if not reader.nonblocking:
        return None
    # Conditional requests take the full path, which answers 304.
    if any(name == b"if-none-match" for name, _ in scope["headers"]):
        return None
    return reader


class FastPath:
    def __init__(self, app: ASGIApp, *, paths: frozenset[str]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reader = _reader(scope) if scope.get("path") in self.paths else None
        if reader is None:
            await self.app(scope, receive, send)
            return
        try:
            publication_id = reader.publication().publication_id
        except (UmwiError, ValueError):  # the full path answers properly (503 and its body)
            await self.app(scope, receive, send)
            return
        query = bytes(scope["query_string"]).decode("latin-1")
        key = f"{publication_id}#{scope['path']}?{query}"
        hit = reader.cache.get(key)
        if hit is not None:
            body, total = hit
            ttl_s = reader.settings.api_cache_ttl_s
            await kpi_response(body, total, publication_id, ttl_s)(scope, receive, send)
            return

        captured: dict[str, object] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = dict(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    captured["streamed"] = True
            await send(message)

        await self.app(scope, receive, capture)
        headers = captured.get("headers")
        if captured.get("status") != 200 or "streamed" in captured or not isinstance(headers, dict):
            return
        body = b"".join(chunks)
        # Kept only when the answer is of the publication the key names (no republish in
        # between) and small enough.
        same = headers.get(b"etag") == f'"{publication_id}"'.encode()
        if same and _TOTAL in headers and len(body) <= MAX_BODY_BYTES:
            reader.cache.put(key, body, int(headers[_TOTAL]))


__all__ = ["FastPath"]
