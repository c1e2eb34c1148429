"""`/health`: liveness, and nothing else."""

from __future__ import annotations

from fastapi import APIRouter, Response

from umwi_api._models import Health

router = APIRouter(tags=["service"])


@router.get("/health", response_model=Health, summary="Liveness.")
async def health() -> Response:
    # Cheap on purpose: the load benchmark uses it as the framework's ceiling.
    return Response(
        content=b'{"status":"ok"}',
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


__all__ = ["router"]
