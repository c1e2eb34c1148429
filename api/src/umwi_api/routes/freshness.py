"""`/freshness`: how old the published gold is, which run published it, the gate's status."""

# No `from __future__ import annotations`: FastAPI evaluates the endpoint's annotations.

from typing import Any

from fastapi import APIRouter, Response

from umwi_api._models import Freshness
from umwi_api._responses import UNAVAILABLE
from umwi_api.deps import ReaderDep

router = APIRouter(tags=["service"])


@router.get(
    "/freshness",
    response_model=Freshness,
    summary="Age of each published gold table, the last run id and the gate status.",
    responses=UNAVAILABLE,
)
def freshness(response: Response, reader: ReaderDep) -> dict[str, Any]:
    # Ages change every second: clients must revalidate.
    response.headers["Cache-Control"] = "no-cache"
    return reader.freshness()


__all__ = ["router"]
