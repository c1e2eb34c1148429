"""The `umwi` command line (DESIGN.md §7).

Each command lives in its own module and imports its heavy libraries (Prefect, Great
Expectations, deltalake) inside the command body, so `umwi --help` and the fast commands
start in well under a second.
"""

from __future__ import annotations

import sys

import typer

from umwi.cli import _app
from umwi.cli._app import app

# Importing the command modules registers their commands on `app`.
from umwi.cli import sql as _sql  # noqa: F401  isort: skip
from umwi.cli import kpi as _kpi  # noqa: F401  isort: skip
from umwi.cli import serve as _serve  # noqa: F401  isort: skip
from umwi.cli import demo, ingest, run, backfill, build, quality, maintain  # noqa: F401  isort: skip
from umwi.cli import backtest, outlook  # noqa: F401  isort: skip


def main() -> None:
    """Run the CLI: a `UmwiError` becomes one line on stderr and exit code 1."""
    try:
        result = app(standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.stderr.write("umwi: aborted\n")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.stderr.write("umwi: interrupted\n")
        sys.exit(130)
    except Exception as error:  # the one place that turns errors into exit codes
        sys.exit(_app.report_failure(error))
    sys.exit(result if isinstance(result, int) else 0)


__all__ = ["app", "main"]
