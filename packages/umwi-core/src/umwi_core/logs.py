"""Logging set-up shared by the CLI, the flows and the API."""

from __future__ import annotations

import logging

from umwi_core.settings import Settings


def configure_logging(settings: Settings) -> None:
    """Plain, one-line log records on stderr at the configured level."""
    root = logging.getLogger("umwi")
    root.setLevel(settings.log_level)
    if not any(getattr(handler, "_umwi", False) for handler in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._umwi = True  # type: ignore[attr-defined]
        root.addHandler(handler)
