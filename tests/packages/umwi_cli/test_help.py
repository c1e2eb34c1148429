"""Every orchestration command has `--help`, quickly (Prefect is not imported for it)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

COMMANDS = [
    ("demo",),
    ("run",),
    ("backfill",),
    ("build",),
    ("quality",),
    ("maintain",),
    ("ingest",),
    ("ingest", "weather"),
    ("ingest", "navitia"),
    ("ingest", "gtfs-rt"),
    ("ingest", "file"),
    ("ingest", "sample"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(command: tuple[str, ...]) -> None:
    from typer.testing import CliRunner
    from umwi.cli import app

    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: umwi " + " ".join(command) in " ".join(result.output.split())


def test_help_does_not_import_prefect() -> None:
    code = (
        "import sys\n"
        "from umwi.cli import app\n"
        "from typer.testing import CliRunner\n"
        "assert CliRunner().invoke(app, ['demo', '--help']).exit_code == 0\n"
        "print('prefect' in sys.modules, 'great_expectations' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("command", [("build",), ("run",), ("backfill",)], ids=" ".join)
def test_every_gold_building_command_takes_the_engine(command: tuple[str, ...]) -> None:
    """Mutation: drop `engine: EngineOption` from the command and `--engine` is unknown."""
    from typer.testing import CliRunner
    from umwi.cli import app

    result = CliRunner().invoke(app, [*command, "--engine", "polars"])
    assert result.exit_code == 2, result.output
    words = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # no rich box
    assert "'--engine': Value error, 'polars' is not one of 'duckdb', 'spark'" in words
