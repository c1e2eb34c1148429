"""`create_app`: the FastAPI application assembled from its routers (`umwi_api.routes`),
dependencies (`umwi_api.deps`), error answers and middleware."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from umwi_core.cors import ALLOWED_HEADERS, ALLOWED_METHODS, EXPOSED_HEADERS, MAX_AGE_S
from umwi_core.resources import Resources

from umwi_api._errors import install_error_handlers
from umwi_api._fastpath import FastPath
from umwi_api._request_id import RequestIdMiddleware
from umwi_api.queries import GoldReader
from umwi_api.routes import coverage, freshness, health, kpi, lines

DESCRIPTION = """\
KPIs of public-transport punctuality against the weather, read from the **published gold**
of umwi (DESIGN.md §5). Every list endpoint returns the same objects as
`umwi kpi <table> --format json`, pages with `limit`/`offset` (the number of matching rows is
in `X-Total-Count`), and carries the published gold version as its `ETag`
(send `If-None-Match` for a `304`). Before the first publication every data endpoint answers
`503`. Invalid parameters get a `422` whose `error` names the parameter.
"""


def default_web_dir() -> Path | None:
    """The dashboard in a source checkout (`<repo>/web`), if present."""
    candidate = Path(__file__).resolve().parents[3] / "web"
    return candidate if (candidate / "index.html").is_file() else None


def add_cors(app: FastAPI, origins: list[str]) -> None:
    """CORS for the allowed origins only; none configured means no CORS headers at all."""
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            # The same policy the gateway answers with on AWS (umwi_core.cors).
            allow_methods=list(ALLOWED_METHODS),
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=list(EXPOSED_HEADERS),
            max_age=MAX_AGE_S,
        )


def create_app(
    resources: Resources, *, web_dir: Path | None = None, serve_web: bool = True
) -> FastAPI:
    """The API; with `serve_web` (local serving) also `/docs` and, when a dashboard folder
    exists, the dashboard at `/`. Routes read gold through `deps.get_reader`."""
    settings = resources.settings
    app = FastAPI(
        title="umwi KPI API",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    app.state.reader = GoldReader(resources)
    install_error_handlers(app)
    # Added innermost first: gzip and CORS apply to what the fast path answers, and the
    # request id wraps everything, so every answer carries one.
    app.add_middleware(FastPath, paths=frozenset(path for path, *_ in kpi.ROUTES))
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    add_cors(app, settings.api_cors_origins)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(kpi.router(settings.api_max_limit))
    for router in (health.router, freshness.router, coverage.router, lines.router):
        app.include_router(router)
    if serve_web:
        from umwi_api._docs import install_docs

        install_docs(app)
        folder = web_dir if web_dir is not None else default_web_dir()
        if folder is not None:
            app.mount("/", StaticFiles(directory=folder, html=True), name="dashboard")
    return app


__all__ = ["add_cors", "create_app", "default_web_dir"]
