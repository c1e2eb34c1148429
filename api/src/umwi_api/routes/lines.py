"""`/lines`: the networks and lines in published gold, for the dashboard's selectors."""

# No `from __future__ import annotations`: FastAPI evaluates the endpoint's annotations.

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from umwi_api._etag import not_modified, version_headers
from umwi_api._models import LineRow
from umwi_api._responses import UNAVAILABLE
from umwi_api.deps import ReaderDep

router = APIRouter(tags=["service"])


@router.get(
    "/lines",
    response_model=list[LineRow],
    summary="Networks and lines present in published gold (for selectors).",
    responses=UNAVAILABLE,
)
def lines(request: Request, reader: ReaderDep) -> Response:
    publication_id = reader.publication().publication_id
    headers = version_headers(publication_id, reader.settings.api_cache_ttl_s)
    unchanged = not_modified(request, headers)
    if unchanged is not None:
        return unchanged
    return JSONResponse(reader.lines(), headers=headers)


__all__ = ["router"]
