"""The FastAPI application: DESIGN.md §7's endpoints over `umwi_api.queries`.

Handlers only translate HTTP to the query layer and back; every rule about filters and rows
lives in `queries`, which `umwi kpi` shares.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the annotations of the
# endpoints defined inside `create_app`, which name local dependencies.

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from umwi_core.contracts import CORRELATION_VARIABLES, Y_KINDS
from umwi_core.cors import EXPOSED_HEADERS
from umwi_core.errors import LakeError
from umwi_core.resources import Resources

from umwi_api._fastpath import ResponseCache
from umwi_api._models import ROW_MODELS, ErrorBody, Freshness, Health, LineRow
from umwi_api.queries import (
    KPI_TABLES,
    MAX_OFFSET,
    MAX_TEXT,
    PERIOD_PATTERN,
    GoldReader,
    KpiFilters,
    NotPublishedError,
    QueryError,
    parse_time,
)

DESCRIPTION = """\
KPIs of public-transport punctuality against the weather, read from the **published gold**
of umwi (DESIGN.md §5). Every list endpoint returns the same objects as
`umwi kpi <table> --format json`, pages with `limit`/`offset` (the number of matching rows is
in `X-Total-Count`), and carries the published gold version as its `ETag`
(send `If-None-Match` for a `304`). Before the first publication every data endpoint answers
`503`. Invalid parameters get a `422` whose `error` names the parameter.
"""

TOTAL_HEADER = "X-Total-Count"


def default_web_dir() -> Path | None:
    """The dashboard in a source checkout (`<repo>/web`), if present."""
    candidate = Path(__file__).resolve().parents[3] / "web"
    return candidate if (candidate / "index.html").is_file() else None


# --- query parameters (shared by several endpoints) -----------------------------------------
Network = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_TEXT, description="Network name.", examples=["auckland"]),
]
LineId = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_TEXT,
        description="Line id; `*` selects the all-lines rows.",
        examples=["*"],
    ),
]
Period = Annotated[
    str | None,
    Query(
        pattern=PERIOD_PATTERN,
        description="`all` (whole history) or a UTC month `YYYY-MM`.",
        examples=["all"],
    ),
]
Start = Annotated[
    str | None,
    Query(
        max_length=40,
        description="First hour, inclusive: a date (UTC midnight) or ISO time with offset.",
        examples=["2024-03-01T00:00:00Z"],
    ),
]
End = Annotated[
    str | None,
    Query(
        max_length=40,
        description="End, exclusive: a date (UTC midnight) or ISO time with offset.",
        examples=["2024-03-08"],
    ),
]
Variable = Annotated[
    str | None,
    Query(
        description="Weather variable: " + ", ".join(CORRELATION_VARIABLES) + ".",
        examples=["precipitation_mm"],
        json_schema_extra={"enum": list(CORRELATION_VARIABLES)},
    ),
]
LagH = Annotated[
    int | None, Query(ge=0, le=3, description="Lag of x in hours (0–3).", examples=[0])
]
YKind = Annotated[
    str | None,
    Query(
        description="`raw` mean delay or `anomaly` (minus the weekday×hour baseline).",
        examples=["raw"],
        json_schema_extra={"enum": list(Y_KINDS)},
    ),
]


def _time(value: str | None, parameter: str) -> Any:
    return None if value is None else parse_time(value, parameter)


async def impact_filters(
    network: Network = None, line_id: LineId = None, period: Period = None
) -> KpiFilters:
    return KpiFilters(network=network, line_id=line_id, period=period)


async def hourly_filters(
    network: Network = None, line_id: LineId = None, start: Start = None, end: End = None
) -> KpiFilters:
    return KpiFilters(
        network=network,
        line_id=line_id,
        start=_time(start, "start"),
        end=_time(end, "end"),
    )


async def correlation_filters(
    network: Network = None,
    line_id: LineId = None,
    period: Period = None,
    variable: Variable = None,
    lag_h: LagH = None,
    y_kind: YKind = None,
) -> KpiFilters:
    return KpiFilters(
        network=network,
        line_id=line_id,
        period=period,
        variable=variable,
        lag_h=lag_h,
        y_kind=y_kind,
    )


def _error(status: int, error: str, detail: Any = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": error, "detail": jsonable_encoder(detail)}
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {key: value for key, value in error.items() if key in ("loc", "msg", "type")}
            for error in exc.errors()
        ]
        first = errors[0] if errors else {"loc": ("query",), "msg": "invalid request"}
        parameter = str(list(first["loc"])[-1])
        return _error(422, f"invalid parameter {parameter}: {first['msg']}", errors)

    async def invalid_query(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, QueryError)
        detail = [{"loc": ["query", exc.parameter], "msg": exc.message, "type": "value_error"}]
        return _error(422, f"invalid parameter {exc.parameter}: {exc.message}", detail)

    async def not_published(request: Request, exc: Exception) -> JSONResponse:
        response = _error(503, str(exc))
        response.headers["Retry-After"] = "60"
        return response

    async def lake_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return _error(503, f"published gold is unavailable: {exc}")

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(QueryError, invalid_query)
    app.add_exception_handler(NotPublishedError, not_published)
    app.add_exception_handler(LakeError, lake_unavailable)


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates


def create_app(
    resources: Resources,
    *,
    reader: GoldReader | None = None,
    web_dir: Path | None = None,
    serve_web: bool = True,
) -> FastAPI:
    """The API (and, when `serve_web` and a dashboard folder exist, the dashboard at `/`)."""
    settings = resources.settings
    gold = reader if reader is not None else GoldReader(resources)
    max_age = min(settings.api_cache_ttl_s, 60)

    app = FastAPI(
        title="umwi KPI API",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
    )
    _install_error_handlers(app)
    kpi_paths = frozenset(f"/kpi/{name}" for name in KPI_TABLES) | {"/correlation"}
    # Added first, so it sits innermost: gzip and CORS still apply to what it answers.
    app.add_middleware(ResponseCache, reader=gold, paths=kpi_paths)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET"],
            allow_headers=["If-None-Match"],
            expose_headers=list(EXPOSED_HEADERS),  # the gateway's too (umwi_core.cors)
            max_age=600,
        )

    async def paging(
        limit: Annotated[
            int,
            Query(
                ge=1,
                le=settings.api_max_limit,
                description=f"Page size, at most {settings.api_max_limit}.",
                examples=[100],
            ),
        ] = min(1000, settings.api_max_limit),
        offset: Annotated[
            int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.", examples=[0])
        ] = 0,
    ) -> tuple[int, int]:
        return limit, offset

    Paging = Annotated[tuple[int, int], Depends(paging)]
    error_responses: dict[int | str, dict[str, Any]] = {
        304: {"description": "Not modified: the published gold is still the `If-None-Match` one."},
        503: {"model": ErrorBody, "description": "No gold published yet, or it is unreadable."},
    }
    list_headers = {
        TOTAL_HEADER: {"description": "Rows matching the filters.", "schema": {"type": "integer"}},
        "ETag": {"description": "The published gold version.", "schema": {"type": "string"}},
    }

    def kpi_response(
        request: Request,
        kpi: str,
        filters: KpiFilters,
        page: tuple[int, int],
        cache_only: bool = False,
    ) -> Response | None:
        etag = f'"{gold.publication().publication_id}"'
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
        if _etag_matches(request, etag):
            return Response(status_code=304, headers=headers)
        if cache_only:
            result = gold.cached(kpi, filters, limit=page[0], offset=page[1])
            if result is None:
                return None
        else:
            result = gold.page(kpi, filters, limit=page[0], offset=page[1])
        headers["ETag"] = f'"{result.publication_id}"'
        headers[TOTAL_HEADER] = str(result.total)
        return Response(content=result.body, media_type="application/json", headers=headers)

    async def answer(
        request: Request, kpi: str, filters: KpiFilters, page: tuple[int, int]
    ) -> Response:
        # A local cache hit is answered on the event loop; anything that may block (DuckDB,
        # S3, DynamoDB) runs in the thread pool.
        if gold.nonblocking:
            found = kpi_response(request, kpi, filters, page, cache_only=True)
            if found is not None:
                return found
        response = await run_in_threadpool(kpi_response, request, kpi, filters, page)
        assert response is not None
        return response

    def route(
        path: str, kpi: str, dependency: Callable[..., Awaitable[KpiFilters]], summary: str
    ) -> Callable[..., Awaitable[Response]]:
        model = ROW_MODELS[KPI_TABLES[kpi]]

        async def endpoint(
            request: Request,
            filters: Annotated[KpiFilters, Depends(dependency)],
            page: Paging,
        ) -> Response:
            return await answer(request, kpi, filters, page)

        endpoint.__name__ = "get_" + kpi.replace("-", "_")
        app.get(
            path,
            summary=summary,
            response_model=list[model],  # type: ignore[valid-type]
            responses={
                200: {"headers": list_headers},
                **error_responses,
            },
            tags=["kpi"],
        )(endpoint)
        return endpoint

    route(
        "/kpi/weather-impact",
        "weather-impact",
        impact_filters,
        "Punctuality by weather class (with the pooled `wet` row and the uplift over dry).",
    )
    route(
        "/kpi/punctuality",
        "punctuality",
        hourly_filters,
        "Hourly punctuality per line and weather location (unknown weather included).",
    )
    route(
        "/kpi/hourly",
        "hourly",
        hourly_filters,
        "Hourly punctuality joined with the hour's weather (known weather only).",
    )
    for path in ("/kpi/correlation", "/correlation"):
        route(
            path,
            "correlation",
            correlation_filters,
            "Correlation of delay with a weather variable (Pearson + CI + p, Spearman, fit).",
        )

    @app.get("/health", response_model=Health, tags=["service"], summary="Liveness.")
    async def health() -> Response:
        # Cheap on purpose: the load benchmark uses it as the framework's ceiling.
        return Response(
            content=b'{"status":"ok"}',
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    @app.get(
        "/freshness",
        response_model=Freshness,
        tags=["service"],
        summary="Age of each published gold table, the last run id and the gate status.",
        responses={503: error_responses[503]},
    )
    def freshness(response: Response) -> dict[str, Any]:
        response.headers["Cache-Control"] = "no-cache"
        return gold.freshness()

    @app.get(
        "/lines",
        response_model=list[LineRow],
        tags=["service"],
        summary="Networks and lines present in published gold (for selectors).",
        responses={503: error_responses[503]},
    )
    def lines(request: Request) -> Response:
        etag = f'"{gold.publication().publication_id}"'
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
        if _etag_matches(request, etag):
            return Response(status_code=304, headers=headers)
        return JSONResponse(gold.lines(), headers=headers)

    folder = web_dir if web_dir is not None else default_web_dir()
    if serve_web and folder is not None:
        app.mount("/", StaticFiles(directory=folder, html=True), name="dashboard")
    app.state.reader = gold
    return app


__all__ = ["create_app", "default_web_dir"]
