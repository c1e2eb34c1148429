"""The CLI's help, exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.packages.umwi_cli.in_process import run_cli


def test_help_lists_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "--help") == 0
    out = capsys.readouterr().out
    assert "sql" in out


def test_unknown_command_is_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "no-such-command") == 2
    assert "No such command" in capsys.readouterr().err


def test_bad_setting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UMWI_ENV", "mars")
    assert run_cli(monkeypatch, "sql", "SELECT 1") == 1
    err = capsys.readouterr().err
    assert err == "umwi: UMWI_ENV: Input should be 'local' or 'aws' (got 'mars')\n"


def test_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UMWI_ENV", "mars")
    assert run_cli(monkeypatch, "--debug", "sql", "SELECT 1") == 1
    assert "Traceback" in capsys.readouterr().err


def test_python_dash_m_umwi_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "umwi", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0
    assert "Usage: umwi" in result.stdout or "Usage: python -m umwi" in result.stdout
