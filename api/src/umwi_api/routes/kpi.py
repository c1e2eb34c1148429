"""`/kpi/*` and `/correlation`: pages of the published KPI tables (DESIGN.md §7).

Handlers only translate HTTP to the query layer and back; every rule about filters and rows
lives in `umwi_api.queries`, which `umwi kpi` shares.
"""

# No `from __future__ import annotations`: FastAPI evaluates the endpoints' annotations,
# which name dependencies chosen per route.

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from umwi_api._etag import not_modified, version_headers
from umwi_api._models import ROW_MODELS
from umwi_api._responses import LIST_HEADERS, NOT_MODIFIED, TOTAL_HEADER, UNAVAILABLE
from umwi_api.deps import (
    FiltersDependency,
    PageRequest,
    ReaderDep,
    correlation_filters,
    hourly_filters,
    impact_filters,
    paging,
)
from umwi_api.queries import KPI_TABLES, GoldReader, KpiFilters

PagingDependency = Callable[..., Awaitable[PageRequest]]
EndpointType = Callable[..., Awaitable[Response]]

#: path, KPI name, its filters, summary.
ROUTES: tuple[tuple[str, str, FiltersDependency, str], ...] = (
    (
        "/kpi/weather-impact",
        "weather-impact",
        impact_filters,
        "Punctuality by weather class (with the pooled `wet` row and the uplift over dry).",
    ),
    (
        "/kpi/punctuality",
        "punctuality",
        hourly_filters,
        "Hourly punctuality per line and weather location (unknown weather included).",
    ),
    (
        "/kpi/hourly",
        "hourly",
        hourly_filters,
        "Hourly punctuality joined with the hour's weather (known weather only).",
    ),
    *(
        (
            path,
            "correlation",
            correlation_filters,
            "Correlation of delay with a weather variable (Pearson + CI + p, Spearman, fit).",
        )
        for path in ("/kpi/correlation", "/correlation")
    ),
)


def _page_response(
    request: Request,
    reader: GoldReader,
    kpi: str,
    filters: KpiFilters,
    page: PageRequest,
    *,
    cache_only: bool,
) -> Response | None:
    """The answer (a 304 when the client has this version); None when `cache_only` and the
    page is not cached."""
    ttl_s = reader.settings.api_cache_ttl_s
    unchanged = not_modified(request, version_headers(reader.publication().publication_id, ttl_s))
    if unchanged is not None:
        return unchanged
    if cache_only:
        found = reader.cached(kpi, filters, limit=page.limit, offset=page.offset)
        if found is None:
            return None
    else:
        found = reader.page(kpi, filters, limit=page.limit, offset=page.offset)
    # The page's own version: a republish may have happened since the check above.
    return kpi_response(found.body, found.total, found.publication_id, ttl_s)


def kpi_response(body: bytes, total: int, publication_id: str, cache_ttl_s: int) -> Response:
    """A page's answer: the JSON body with its version and row count."""
    headers = version_headers(publication_id, cache_ttl_s)
    headers[TOTAL_HEADER] = str(total)
    return Response(content=body, media_type="application/json", headers=headers)


async def answer(
    request: Request, reader: GoldReader, kpi: str, filters: KpiFilters, page: PageRequest
) -> Response:
    """A local cache hit is answered on the event loop; anything that may block (DuckDB, S3,
    DynamoDB) runs in the thread pool."""
    if reader.nonblocking:
        found = _page_response(request, reader, kpi, filters, page, cache_only=True)
        if found is not None:
            return found
    response = await run_in_threadpool(
        _page_response, request, reader, kpi, filters, page, cache_only=False
    )
    assert response is not None  # only `cache_only` answers None
    return response


def _endpoint(
    kpi: str, filters_dependency: FiltersDependency, paging_dependency: PagingDependency
) -> EndpointType:
    async def endpoint(
        request: Request,
        reader: ReaderDep,
        filters: Annotated[KpiFilters, Depends(filters_dependency)],
        page: Annotated[PageRequest, Depends(paging_dependency)],
    ) -> Response:
        return await answer(request, reader, kpi, filters, page)

    # FastAPI names the operation (its OpenAPI operationId) after the function.
    endpoint.__name__ = "get_" + kpi.replace("-", "_")
    return endpoint


def router(max_limit: int) -> APIRouter:
    """The KPI routes; `max_limit` bounds `limit` (and the OpenAPI schema says so)."""
    routes = APIRouter(tags=["kpi"])
    paging_dependency = paging(max_limit)
    for path, kpi, filters_dependency, summary in ROUTES:
        model = ROW_MODELS[KPI_TABLES[kpi]]
        routes.add_api_route(
            path,
            _endpoint(kpi, filters_dependency, paging_dependency),
            methods=["GET"],
            summary=summary,
            # A row model chosen per route: mypy cannot check a type held in a variable.
            response_model=list[model],  # type: ignore[valid-type]
            responses={200: {"headers": LIST_HEADERS}, **NOT_MODIFIED, **UNAVAILABLE},
        )
    return routes


__all__ = ["ROUTES", "answer", "kpi_response", "router"]
