"""`/coverage`: what the published data covers, per network (first and last hour with data).

The dashboard shows this beside the publication time: gold can be published long after its
last hour (a backfill, a quiet feed), and the two must not be confused.
"""

# No `from __future__ import annotations`: FastAPI evaluates the endpoint's annotations.

from fastapi import APIRouter, Request, Response

from umwi_api._etag import versioned_json
from umwi_api._models import Coverage
from umwi_api._responses import NOT_MODIFIED, UNAVAILABLE
from umwi_api.deps import ReaderDep

router = APIRouter(tags=["service"])


@router.get(
    "/coverage",
    response_model=list[Coverage],
    summary="Per network, the first and last hour with data in published gold.",
    responses={**NOT_MODIFIED, **UNAVAILABLE},
)
def coverage(request: Request, reader: ReaderDep) -> Response:
    publication_id = reader.publication().publication_id
    return versioned_json(request, publication_id, reader.settings.api_cache_ttl_s, reader.coverage)


__all__ = ["router"]
