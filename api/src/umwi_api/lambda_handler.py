"""The AWS Lambda entry point: the same app behind Mangum (API Gateway HTTP API, v2 events).

Settings are read once per container; an event Mangum cannot interpret (not from API
Gateway, or malformed) gets a 400 saying what this function accepts, with the request id
under which the detail is logged, instead of an unhandled error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mangum import Mangum
from umwi_core.resources import build_resources
from umwi_core.settings import load_settings

from umwi_api._app import create_app
from umwi_api._request_id import HEADER, lambda_request_id

log = logging.getLogger("umwi.api.lambda")

UNUSABLE_EVENT = (
    "unusable event: this function answers API Gateway HTTP API requests (payload format 2.0)"
)

app = create_app(build_resources(load_settings()), serve_web=False)
_adapter = Mangum(app, lifespan="off", api_gateway_base_path="/")


def handler(event: Any, context: Any) -> dict[str, Any]:
    try:
        response: dict[str, Any] = _adapter(event, context)
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


__all__ = ["app", "handler"]
