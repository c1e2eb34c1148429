"""The AWS Lambda entry point: the same app behind Mangum (API Gateway HTTP API, v2 events).

Settings are read once per container, at import, so a misconfigured function fails its
init. The app itself (FastAPI, Mangum, the routes) is built on the first invocation, not at
import: importing FastAPI alone costs more than the cold-import goal (api/README.md, "Lambda
bundle"). When Lambda initializes an environment ahead of requests — provisioned
concurrency, SnapStart — it is built at import instead, with the DuckDB store opened, so no
request of such an environment pays for it. An event Mangum cannot interpret (not from API
Gateway, or malformed) gets a 400 saying what this function accepts, with the request id
under which the detail is logged, instead of an unhandled error.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from umwi_core.settings import Settings, load_settings

from umwi_api._request_id import HEADER, lambda_request_id

if TYPE_CHECKING:
    from fastapi import FastAPI

    app: FastAPI  # built on first access (`__getattr__` below)

log = logging.getLogger("umwi.api.lambda")

UNUSABLE_EVENT = (
    "unusable event: this function answers API Gateway HTTP API requests (payload format 2.0)"
)
#: `AWS_LAMBDA_INITIALIZATION_TYPE` values whose init runs before any request is waiting.
AHEAD_OF_REQUESTS = frozenset({"provisioned-concurrency", "snap-start"})

settings: Settings = load_settings()
_built: tuple[FastAPI, Callable[[Any, Any], dict[str, Any]]] | None = None
_building = threading.Lock()


def _application() -> tuple[FastAPI, Callable[[Any, Any], dict[str, Any]]]:
    """The app and its Mangum adapter, built once per container."""
    global _built
    built = _built
    if built is None:
        with _building:
            if _built is None:
                from mangum import Mangum
                from umwi_core.resources import build_resources

                from umwi_api._app import create_app

                app = create_app(build_resources(settings), serve_web=False)
                _built = (app, Mangum(app, lifespan="off", api_gateway_base_path="/"))
            built = _built
    return built


def warm() -> None:
    """Build the app and open its DuckDB store now rather than on the first request."""
    app, _ = _application()
    app.state.reader.store.open()


def handler(event: Any, context: Any) -> dict[str, Any]:
    # Outside the `try`: a failure to build the app is the function's, not the event's.
    _, adapter = _application()
    try:
        response: dict[str, Any] = adapter(event, context)
    except (RuntimeError, KeyError, TypeError, AttributeError, ValueError) as error:
        # Mangum raises these for events it cannot read; the caller learns what is accepted,
        # the log gets what went wrong.
        request_id = lambda_request_id(event, context)
        log.warning(
            "request %s: unusable Lambda event: %s: %s",
            request_id,
            type(error).__name__,
            error,
            extra={"request_id": request_id},
        )
        body = {"error": f"{UNUSABLE_EVENT} (request id {request_id})", "detail": None}
        return {
            "statusCode": 400,
            "headers": {"content-type": "application/json", HEADER.lower(): request_id},
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
    return response


def __getattr__(name: str) -> Any:
    # `app` (for tests and tools) is built on first access, like the handler's.
    if name == "app":
        return _application()[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") in AHEAD_OF_REQUESTS:
    warm()


__all__ = ["app", "handler", "warm"]
