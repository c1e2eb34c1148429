"""The Typer application, its global options and the error reporting they control."""

from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass, field

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from umwi_core.errors import UmwiError
from umwi_core.logs import configure_logging
from umwi_core.redact import redact
from umwi_core.resources import Resources, build_resources
from umwi_core.settings import Settings, load_settings

app = typer.Typer(
    name="umwi",
    help="umwi — measure how weather hurts public-transport punctuality.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class CliState:
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _resources: Resources | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
            configure_logging(self._settings)
            if self.debug:
                logging.getLogger("umwi").setLevel(logging.DEBUG)
        return self._settings

    @property
    def resources(self) -> Resources:
        """The environment's adapters, built once per invocation from the settings."""
        if self._resources is None:
            self._resources = build_resources(self.settings)
        return self._resources


state = CliState()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
) -> None:
    # Settings are read afresh by every invocation (tests call the app many times).
    state._settings = None
    state._resources = None
    state.debug = debug


def report_failure(error: BaseException) -> int:
    """Print one line naming what went wrong (a traceback with --debug); return the code."""
    if isinstance(error, NoArgsIsHelpError):
        return 0
    if isinstance(error, ClickException):
        error.show()
        return error.exit_code
    if state.debug:
        traceback.print_exception(error)
    if isinstance(error, UmwiError):
        message = str(error)
    else:
        message = f"{type(error).__name__}: {error}".strip()
    first = (
        redact(
            message, [] if state._settings is None else state._settings.secret_values()
        ).splitlines()[0]
        if message
        else type(error).__name__
    )
    sys.stderr.write(f"umwi: {first}\n")
    return 1
