"""Point Prefect at the project's state folder before Prefect is imported.

Prefect reads its settings once, when first imported, so this must run first; it keeps
Prefect's home (database, logs) under `<state dir>/prefect`, never in `~/.prefect`.
"""

from __future__ import annotations

import os
import sys

from umwi_core.settings import Settings

#: Generous: the ephemeral server is slow to start on a small, loaded machine.
EPHEMERAL_STARTUP_TIMEOUT_S = 120

_QUIET: dict[str, str] = {
    # The ephemeral server's telemetry needs the internet and logs errors without it.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    # The local server lives for one command: no UI, and none of the background services
    # that watch schedules, late runs or workers (nothing is scheduled locally).
    "PREFECT_SERVER_UI_ENABLED": "false",
    **{
        f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false"
        for name in (
            "SCHEDULER",
            "LATE_RUNS",
            "FOREMAN",
            "REPOSSESSOR",
            "TRIGGERS",
            "PROACTIVE_TRIGGERS",
            "CANCELLATION_CLEANUP",
            "PAUSE_EXPIRATIONS",
        )
    },
}


def prepare_prefect(settings: Settings) -> bool:
    """Set Prefect's environment from the settings; False when Prefect was already loaded.

    With `PREFECT_API_URL` set (a deployment, Prefect Cloud, a shared server) flows report
    there; otherwise Prefect starts an ephemeral local server on first use.
    """
    if "prefect" in sys.modules:
        # Too late to move its home; the running process keeps the settings it has.
        return False
    home = settings.prefect_home
    home.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(home)
    os.environ.setdefault(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_STARTUP_TIMEOUT_S)
    )
    for name, value in _QUIET.items():
        os.environ.setdefault(name, value)
    return True


__all__ = ["EPHEMERAL_STARTUP_TIMEOUT_S", "prepare_prefect"]
