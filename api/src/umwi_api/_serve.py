"""`serve`: the API and the dashboard on one origin, under uvicorn (blocking)."""

from __future__ import annotations

from umwi_core.resources import Resources


def serve(resources: Resources, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until interrupted; the dashboard is at `/`, the API beside it."""
    import uvicorn

    from umwi_api._app import create_app

    app = create_app(resources)
    settings = resources.settings
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), access_log=False)


__all__ = ["serve"]
