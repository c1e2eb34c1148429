"""One id per request, returned as `X-Request-Id` and logged with any error's detail.

On Lambda the id is API Gateway's (`requestContext.requestId`, which its access logs carry
too) or else the invocation's; elsewhere a fresh random one. A client-sent header is not
trusted: an id must name one request in the logs.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-Id"
_STATE_KEY = "request_id"
_MAX_LENGTH = 100


def new_request_id() -> str:
    return uuid.uuid4().hex


def _from_lambda(event: Any, context: Any) -> str | None:
    found: Any = None
    if isinstance(event, dict):
        request_context = event.get("requestContext")
        if isinstance(request_context, dict):
            found = request_context.get("requestId")
    if not found:
        found = getattr(context, "aws_request_id", None)
    if (
        isinstance(found, str)
        and 0 < len(found) <= _MAX_LENGTH
        and found.isascii()
        and found.isprintable()
    ):
        return found
    return None


def lambda_request_id(event: Any, context: Any) -> str:
    """API Gateway's id for this event, else the invocation's, else a new one."""
    return _from_lambda(event, context) or new_request_id()


def request_id(request: Request) -> str:
    """The id `RequestIdMiddleware` gave this request (a new one if it did not run)."""
    state = request.scope.setdefault("state", {})
    found = state.get(_STATE_KEY)
    if not isinstance(found, str):
        found = state[_STATE_KEY] = new_request_id()
    return found


class RequestIdMiddleware:
    """Gives each HTTP request its id and adds the `X-Request-Id` header to the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = lambda_request_id(scope.get("aws.event"), scope.get("aws.context"))
        scope.setdefault("state", {})[_STATE_KEY] = found
        header = (HEADER.lower().encode(), found.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, send_with_id)


__all__ = ["HEADER", "RequestIdMiddleware", "lambda_request_id", "new_request_id", "request_id"]
