"""`/lines`: the networks and lines in published gold, for the dashboard's selectors."""

# No `from __future__ import annotations`: FastAPI evaluates the endpoint's annotations.

from fastapi import APIRouter, Request, Response

from umwi_api._etag import versioned_json
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
    return versioned_json(request, publication_id, reader.settings.api_cache_ttl_s, reader.lines)


__all__ = ["router"]
