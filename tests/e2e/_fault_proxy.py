"""An HTTP proxy on 127.0.0.1 that fails a seeded share of S3 requests before moto sees them.

The failures are the ones S3 itself answers under load: `503 SlowDown` (throttling) and
`500 InternalError`. A failed request never reaches the server, so whatever the client
does next (retry or give up) decides whether data is lost. DynamoDB and SNS requests
(recognised by their `X-Amz-Target` header or form `Action`) pass untouched: the faults
under test are S3's.
"""

from __future__ import annotations

import http.client
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

FAULTS = (
    (503, "SlowDown", "Please reduce your request rate."),
    (500, "InternalError", "We encountered an internal error. Please try again."),
)
# Hop-by-hop headers are the proxy's own business, never forwarded.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te"}


def client_of(user_agent: str | None) -> str:
    """Which S3 client sent a request: botocore (umwi's own S3 calls), object_store
    (deltalake), DuckDB (httpfs), from its User-Agent."""
    agent = (user_agent or "").lower()
    for marker, name in (("botocore", "botocore"), ("object_store", "object_store")):
        if marker in agent:
            return name
    if "duckdb" in agent:
        return "duckdb"
    return agent.split("/", 1)[0] or "unknown"


class FaultProxy:
    """`with FaultProxy(upstream, share=0.1, seed=1) as proxy:` then use `proxy.url`."""

    def __init__(self, upstream: str, *, share: float, seed: int) -> None:
        if not 0 <= share < 1:
            raise ValueError(f"fault share must be in [0, 1), got {share}")
        split = urlsplit(upstream)
        if split.hostname is None or split.port is None:
            raise ValueError(f"upstream {upstream!r} needs a host and a port")
        self.upstream_host = split.hostname
        self.upstream_port = split.port
        self.share = share
        self.counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def summary(self) -> str:
        faults = sum(self.counts[f"fault {status}"] for status, _, _ in FAULTS)
        return (
            f"{self.counts['s3']} S3 requests, {faults} failed "
            f"({self.counts['fault 503']} × 503 SlowDown, {self.counts['fault 500']} × 500), "
            f"{self.counts['other']} DynamoDB/SNS requests passed; faults by client: "
            + ", ".join(
                f"{key.removeprefix('fault by ')} {count}"
                for key, count in sorted(self.counts.items())
                if key.startswith("fault by ")
            )
        )

    def _pick_fault(self, is_s3: bool, client: str) -> tuple[int, str, str] | None:
        with self._lock:
            self.counts["s3" if is_s3 else "other"] += 1
            if not is_s3 or self._random.random() >= self.share:
                return None
            fault = FAULTS[self._random.randrange(len(FAULTS))]
            self.counts[f"fault {fault[0]}"] += 1
            self.counts[f"fault by {client}"] += 1
            return fault

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(
                self.upstream_host, self.upstream_port, timeout=120
            )
            self._local.connection = connection
        return connection

    def _forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.putheader("Content-Length", str(len(body)))
                connection.endheaders(body)
                response = connection.getresponse()
                data = response.read()
                return response.status, response.reason, response.getheaders(), data
            except (http.client.HTTPException, OSError):
                # The kept-alive upstream connection went stale: one fresh try.
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    parts: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline().strip():
                                pass
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _is_s3(self, body: bytes) -> bool:
                if self.headers.get("X-Amz-Target"):
                    return False
                form = self.headers.get("Content-Type", "").startswith(
                    "application/x-www-form-urlencoded"
                )
                return not (self.command == "POST" and form and body.startswith(b"Action="))

            def _answer(
                self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes
            ) -> None:
                self.send_response(status, reason)
                # A HEAD answer carries the object's length without its body.
                length = str(len(body))
                for name, value in headers:
                    if name.lower() == "content-length":
                        length = value if self.command == "HEAD" else length
                    elif name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                body = self._body()
                fault = proxy._pick_fault(
                    self._is_s3(body), client_of(self.headers.get("User-Agent"))
                )
                if fault is not None:
                    status, code, message = fault
                    xml = (
                        '<?xml version="1.0" encoding="UTF-8"?>\n'
                        f"<Error><Code>{code}</Code><Message>{message}</Message>"
                        "<RequestId>umwi-fault-proxy</RequestId></Error>"
                    ).encode()
                    self._answer(status, code, [("Content-Type", "application/xml")], xml)
                    return
                headers = [
                    (name, value)
                    for name, value in self.headers.items()
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length"
                ]
                status, reason, answer_headers, data = proxy._forward(
                    self.command, self.path, headers, body
                )
                self._answer(status, reason, answer_headers, data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler


__all__ = ["FAULTS", "FaultProxy", "client_of"]
