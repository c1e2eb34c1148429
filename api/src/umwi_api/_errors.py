"""Error answers: what the client did wrong, or that the service cannot answer now.

A `422` names the parameter and why. A `503` or `500` says nothing about the inside (no
bucket, key or DuckDB text): it carries the request id, and the detail goes to the log
under the same id, so an operator can find it from what a client reports.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from umwi_core.errors import LakeError

from umwi_api._request_id import HEADER, request_id
from umwi_api.queries import NotPublishedError, QueryError

log = logging.getLogger("umwi.api")

UNREADABLE = "published gold cannot be read right now; retry later"
INTERNAL = "the service failed to answer; retry later"


def error_response(
    status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": error, "detail": jsonable_encoder(detail)}
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {key: value for key, value in error.items() if key in ("loc", "msg", "type")}
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"loc": ("query",), "msg": "invalid request"}
    parameter = str(list(first["loc"])[-1])
    return error_response(422, f"invalid parameter {parameter}: {first['msg']}", errors)


async def _invalid_query(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QueryError)
    detail = [{"loc": ["query", exc.parameter], "msg": exc.message, "type": "value_error"}]
    return error_response(422, f"invalid parameter {exc.parameter}: {exc.message}", detail)


async def _not_published(request: Request, exc: Exception) -> JSONResponse:
    # Says nothing about the inside: only that nothing is published yet, and what fixes it.
    return error_response(503, str(exc), headers={"Retry-After": "60"})


async def _unreadable(request: Request, exc: Exception) -> JSONResponse:
    found = request_id(request)
    log.error("request %s: %s: %s", found, type(exc).__name__, exc, extra={"request_id": found})
    return error_response(503, f"{UNREADABLE} (request id {found})")


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    # The server logs the traceback too (Starlette re-raises after this answer).
    found = request_id(request)
    log.error("request %s: %s: %s", found, type(exc).__name__, exc, extra={"request_id": found})
    # Outside the middleware that adds the header, so it is set here.
    return error_response(500, f"{INTERNAL} (request id {found})", headers={HEADER: found})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(QueryError, _invalid_query)
    app.add_exception_handler(NotPublishedError, _not_published)
    app.add_exception_handler(LakeError, _unreadable)
    app.add_exception_handler(Exception, _internal)


__all__ = ["INTERNAL", "UNREADABLE", "error_response", "install_error_handlers"]
