"""Loading the flows for a caller in this process (the CLI): Prefect set up first."""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from umwi_core.settings import Settings

from umwi_flows._prefect_env import prepare_prefect
from umwi_flows._results import (
    BuildSummary,
    IngestSummary,
    MaintainSummary,
    OutlookSummary,
    PipelineSummary,
)

if TYPE_CHECKING:
    from prefect import Flow


@dataclass(frozen=True)
class Flows:
    """The flows, each returning its summary."""

    ingest: Flow[..., IngestSummary]
    build: Flow[..., BuildSummary]
    pipeline: Flow[..., PipelineSummary]
    maintain: Flow[..., MaintainSummary]
    outlook: Flow[..., OutlookSummary]


def load_flows(settings: Settings, *, verbose: bool = False) -> Flows:
    """Import the flows with Prefect's home in the state folder (slow: Prefect loads)."""
    if not verbose:
        # Logs still reach the Prefect server (API handler); the caller shows its own
        # progress and one line on failure instead of Prefect's tracebacks.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    prepare_prefect(settings)
    booting = _EphemeralServer.start_if_needed()
    from umwi_flows import _flows

    # While the server boots in its own process, load what the tasks will import anyway.
    for module in WARM_MODULES:
        importlib.import_module(module)
    if booting is not None:
        booting.wait()
    return Flows(
        ingest=_flows.ingest_flow,
        build=_flows.build_flow,
        pipeline=_flows.pipeline_flow,
        maintain=_flows.maintain_flow,
        outlook=_flows.outlook_flow,
    )


#: Imported by the tasks on first use; loading them while Prefect's server boots takes
#: them off the flows' own time.
WARM_MODULES = ("umwi_connectors", "umwi_transform", "umwi_quality")


class _EphemeralServer:
    """Prefect's local server, started in a thread so it boots while the caller works.

    Prefect starts it on a flow's first API call otherwise, and nothing else happens while
    it boots. `SubprocessASGIServer` is one per process: the flows' client finds it
    running. Its `start()` marks the server running before it answers, so callers must
    `wait()` before any flow runs.
    """

    def __init__(self) -> None:
        from prefect.server.api.server import SubprocessASGIServer

        self._server = SubprocessASGIServer()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._boot, name="prefect-server", daemon=True)

    @classmethod
    def start_if_needed(cls) -> _EphemeralServer | None:
        """Start the local server unless flows report to a configured Prefect API."""
        from prefect.settings import PREFECT_API_URL

        if PREFECT_API_URL.value():
            return None
        booting = cls()
        booting._thread.start()
        return booting

    def _boot(self) -> None:
        try:
            self._server.start()
        except BaseException as error:  # re-raised in the caller's thread by wait()
            self._error = error

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


__all__ = ["Flows", "load_flows"]
