"""A micro-cache of whole KPI responses, in front of FastAPI's routing and validation.

A published gold version never changes, so a 200 answer to the same path and query string
under the same publication id is the same bytes. Repeating one costs a dict lookup instead of
parameter parsing, dependency solving and a thread hop (the bulk of a cached request's time).
Only for the in-process (local) reader: on Lambda each container serves one request at a time
and the DynamoDB cache is the shared layer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from umwi_core.errors import UmwiError

from umwi_api.queries import GoldReader

MAX_BODY_BYTES = 1_000_000

_Entry = tuple[int, list[tuple[bytes, bytes]], bytes]


class ResponseCache:
    def __init__(
        self, app: ASGIApp, *, reader: GoldReader, paths: frozenset[str], max_entries: int = 1024
    ) -> None:
        self.app = app
        self.reader = reader
        self.paths = paths
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str, bytes], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _usable(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in self.paths:
            return False
        if not self.reader.nonblocking:
            return False
        # Conditional requests take the full path, which answers 304.
        return all(name != b"if-none-match" for name, _ in scope["headers"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._usable(scope):
            await self.app(scope, receive, send)
            return
        try:
            publication_id = self.reader.publication().publication_id
        except (UmwiError, ValueError):  # the full path answers properly (503 and its body)
            await self.app(scope, receive, send)
            return
        key = (publication_id, str(scope["path"]), bytes(scope["query_string"]))
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
        if hit is not None:
            status, headers, body = hit
            # A copy: middleware outside (gzip, CORS) edits the header list in place.
            start = {"type": "http.response.start", "status": status, "headers": list(headers)}
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return

        captured: dict[str, Any] = {"chunks": [], "ok": True}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured["chunks"].append(message.get("body", b""))
                if message.get("more_body"):
                    captured["ok"] = False
            await send(message)

        await self.app(scope, receive, capture)
        body = b"".join(captured["chunks"])
        etag = f'"{publication_id}"'.encode()
        # Stored only when the answer is of the publication the key names (no republish
        # happened in between).
        same = (b"etag", etag) in captured.get("headers", [])
        small = len(body) <= MAX_BODY_BYTES
        if captured.get("status") == 200 and captured["ok"] and same and small:
            with self._lock:
                self._entries[key] = (200, captured["headers"], body)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)


__all__ = ["ResponseCache"]
