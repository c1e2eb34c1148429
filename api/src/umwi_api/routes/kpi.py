"""`/kpi/*` and `/correlation`: pages of the published KPI tables (DESIGN.md §7).

Handlers only translate HTTP to the query layer and back; every rule about filters and rows
lives in `umwi_api.queries`, which `umwi kpi` shares.
"""

# No `from __future__ import annotations`: FastAPI evaluates the endpoints' annotations,
# which name dependencies chosen per route.

from collections.abc import Awaitable, Callable
from types import GenericAlias
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from umwi_api._etag import not_modified, version_headers
from umwi_api._models import ROW_MODELS, DailyRow
from umwi_api._responses import LIST_HEADERS, NOT_MODIFIED, TOTAL_HEADER, UNAVAILABLE
from umwi_api.deps import (
    FiltersDependency,
    GrainDependency,
    PageRequest,
    ReaderDep,
    correlation_filters,
    hour_or_day,
    hourly_filters,
    hourly_only,
    impact_filters,
    paging,
)
from umwi_api.queries import DAILY_TABLES, KPI_TABLES, GoldReader, Grain, KpiFilters

PagingDependency = Callable[..., Awaitable[PageRequest]]
EndpointType = Callable[..., Awaitable[Response]]


class Route(NamedTuple):
    """A KPI route: its path, KPI name, filters, summary, and whether it takes `grain`."""

    path: str
    kpi: str
    filters: FiltersDependency
    summary: str
    grain: GrainDependency = hourly_only


ROUTES: tuple[Route, ...] = (
    Route(
        "/kpi/weather-impact",
        "weather-impact",
        impact_filters,
        "Punctuality by weather class (with the pooled `wet` row and the uplift over dry).",
    ),
    Route(
        "/kpi/punctuality",
        "punctuality",
        hourly_filters,
        "Hourly punctuality per line and weather location (unknown weather included).",
    ),
    Route(
        "/kpi/hourly",
        "hourly",
        hourly_filters,
        "Hourly punctuality joined with the hour's weather (known weather only); with "
        "`grain=day`, one row per UTC day aggregated by the API.",
        hour_or_day,
    ),
    Route(
        "/kpi/sensitivity",
        "sensitivity",
        impact_filters,
        "Weather sensitivity per line: wet-minus-dry mean delay and reliability with "
        "day-clustered 95 % intervals, ranked by the uplift's lower bound.",
    ),
    Route(
        "/kpi/outlook",
        "outlook",
        hourly_filters,
        "Expected punctuality per line and weather location for the 48 h of the latest "
        "forecast, with 95 % intervals (DESIGN.md §8).",
    ),
    *(
        Route(
            path,
            "correlation",
            correlation_filters,
            "Correlation of delay with a weather variable (Pearson + CI + p, Spearman, fit).",
        )
        for path in ("/kpi/correlation", "/correlation")
    ),
)


class Selection(NamedTuple):
    """What one request asks for: the table, its filters, the row grain and the page."""

    kpi: str
    filters: KpiFilters
    grain: Grain
    page: PageRequest


def _page_response(
    request: Request, reader: GoldReader, asked: Selection, *, cache_only: bool
) -> Response | None:
    """The answer (a 304 when the client has this version); None when `cache_only` and the
    page is not cached."""
    ttl_s = reader.settings.api_cache_ttl_s
    unchanged = not_modified(request, version_headers(reader.publication().publication_id, ttl_s))
    if unchanged is not None:
        return unchanged
    kpi, filters, grain, page = asked
    if cache_only:
        found = reader.cached(kpi, filters, grain=grain, limit=page.limit, offset=page.offset)
        if found is None:
            return None
    else:
        found = reader.page(kpi, filters, grain=grain, limit=page.limit, offset=page.offset)
    # The page's own version: a republish may have happened since the check above.
    return kpi_response(found.body, found.total, found.publication_id, ttl_s)


def kpi_response(body: bytes, total: int, publication_id: str, cache_ttl_s: int) -> Response:
    """A page's answer: the JSON body with its version and row count."""
    headers = version_headers(publication_id, cache_ttl_s)
    headers[TOTAL_HEADER] = str(total)
    return Response(content=body, media_type="application/json", headers=headers)


async def answer(request: Request, reader: GoldReader, asked: Selection) -> Response:
    """A local cache hit is answered on the event loop; anything that may block (DuckDB, S3,
    DynamoDB) runs in the thread pool."""
    if reader.nonblocking:
        found = _page_response(request, reader, asked, cache_only=True)
        if found is not None:
            return found
    response = await run_in_threadpool(_page_response, request, reader, asked, cache_only=False)
    assert response is not None  # only `cache_only` answers None
    return response


def _endpoint(route: Route, paging_dependency: PagingDependency) -> EndpointType:
    async def endpoint(
        request: Request,
        reader: ReaderDep,
        filters: Annotated[KpiFilters, Depends(route.filters)],
        grain: Annotated[Grain, Depends(route.grain)],
        page: Annotated[PageRequest, Depends(paging_dependency)],
    ) -> Response:
        return await answer(request, reader, Selection(route.kpi, filters, grain, page))

    # FastAPI names the operation (its OpenAPI operationId) after the function.
    endpoint.__name__ = "get_" + route.kpi.replace("-", "_")
    return endpoint


def _response_model(route: Route) -> Any:
    """The body's schema: a list of the table's rows, or of its daily rows when the route
    takes `grain`."""
    table = KPI_TABLES[route.kpi]
    # `list[model]` spelled as a call: the model is chosen per route, held in a variable.
    rows = GenericAlias(list, (ROW_MODELS[table],))
    if route.grain is hourly_only or table not in DAILY_TABLES:
        return rows
    return rows | GenericAlias(list, (DailyRow,))


def router(max_limit: int) -> APIRouter:
    """The KPI routes; `max_limit` bounds `limit` (and the OpenAPI schema says so)."""
    routes = APIRouter(tags=["kpi"])
    paging_dependency = paging(max_limit)
    for route in ROUTES:
        routes.add_api_route(
            route.path,
            _endpoint(route, paging_dependency),
            methods=["GET"],
            summary=route.summary,
            response_model=_response_model(route),
            responses={200: {"headers": LIST_HEADERS}, **NOT_MODIFIED, **UNAVAILABLE},
        )
    return routes


__all__ = ["ROUTES", "Route", "Selection", "answer", "kpi_response", "router"]
