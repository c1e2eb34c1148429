"""Swagger UI at `/docs` from assets shipped in a Python package, so it needs no network.

FastAPI's own page loads Swagger UI from a CDN: blank offline and on a locked-down network.
The assets come from `fastapi-offline` (Swagger UI's release files, kept current by its
maintainer); only the local server offers `/docs` (see api/README.md, "/docs").
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"


def assets_folder() -> Path:
    """Where `fastapi-offline` keeps `swagger-ui-bundle.js`, `swagger-ui.css`, the icon."""
    return Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """`/docs` and its assets, all same-origin."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_folder()), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # The default validator badge is an image from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )


__all__ = ["ASSETS_PATH", "DOCS_PATH", "assets_folder", "install_docs"]
