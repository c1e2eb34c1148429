"""Running the `umwi` command in this process, on the test's own state folder."""

from __future__ import annotations

import json
import sys

import pytest
from umwi.cli import main
from umwi.cli._app import state
from umwi_core.settings import Settings


def use_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI caches its settings per process; point it at this test's state folder."""
    monkeypatch.setenv("UMWI_STATE_DIR", str(settings.state_dir))
    monkeypatch.setattr(state, "_settings", None)
    monkeypatch.setattr(state, "_resources", None)


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str, columns: int | None = None) -> int:
    """`umwi ARGS` as the console script runs it; its exit code. `columns` sets the terminal
    width Rich lays its tables out in, for a test that reads a table's rows unwrapped."""
    if columns is not None:
        monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(sys, "argv", ["umwi", *args])
    try:
        main()
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def kpi_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> list[dict[str, object]]:
    """The rows `umwi kpi ARGS --format json` prints; the command must succeed."""
    assert run_cli(monkeypatch, "kpi", *args, "--format", "json") == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows
