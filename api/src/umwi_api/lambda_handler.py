"""The AWS Lambda entry point: the same app behind Mangum (API Gateway HTTP API, v2 events).

Settings are read once per container; an event Mangum cannot interpret (not from API
Gateway, or malformed) gets a 400 answer instead of an unhandled error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mangum import Mangum
from umwi_core.resources import build_resources
from umwi_core.settings import load_settings

from umwi_api._app import create_app

log = logging.getLogger("umwi.api.lambda")

app = create_app(build_resources(load_settings()), serve_web=False)
_adapter = Mangum(app, lifespan="off", api_gateway_base_path="/")


def handler(event: Any, context: Any) -> dict[str, Any]:
    try:
        response: dict[str, Any] = _adapter(event, context)
    except (RuntimeError, KeyError, TypeError, AttributeError, ValueError) as error:
        # Mangum raises these for events it cannot read; a caller deserves a clear answer.
        log.warning("unusable Lambda event: %s", type(error).__name__)
        body = {"error": f"unusable event: {type(error).__name__}: {error}"[:300], "detail": None}
        return {
            "statusCode": 400,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
    return response


__all__ = ["app", "handler"]
