"""umwi_api: the KPI API over published gold (FastAPI; uvicorn locally, Mangum on Lambda).

`create_app(resources)` builds the app, `serve(resources, host, port)` runs it with the
dashboard on one origin, `umwi_api.queries` is the query layer `umwi kpi` shares, and
`umwi_api.lambda_handler.handler` is the Lambda entry point. FastAPI is imported only when
`create_app` or `serve` is first used, so `umwi kpi` stays quick to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from umwi_api._app import create_app
    from umwi_api._serve import serve

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from umwi_api._app import create_app

        return create_app
    if name == "serve":
        from umwi_api._serve import serve

        return serve
    raise AttributeError(f"module 'umwi_api' has no attribute {name!r}")
