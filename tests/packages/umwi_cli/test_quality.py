"""`umwi quality` at 80 columns: what did not pass first and whole, the passes counted."""

from __future__ import annotations

import json
from typing import Any

import pytest
import umwi_quality
from umwi_core.settings import Settings
from umwi_quality import CheckResult, GateResult

from tests.packages.umwi_cli.in_process import run_cli, use_settings

DRIFT_THRESHOLD = "|median shift| <= 300 s against the previous 28 days"


def _result() -> GateResult:
    passes = [
        CheckResult(f"check number {n}", table, "great_expectations", "error", "passed", 0, "0")
        for table in ("gold_correlation", "silver_departures")
        for n in range(120)
    ]
    failed = CheckResult(
        "key unique", "gold_correlation", "soda", "error", "failed", 3, "must be: 0"
    )
    skipped = CheckResult(
        "delay_s drift (sample)",
        "silver_departures",
        "batch",
        "warn",
        "skipped",
        None,
        DRIFT_THRESHOLD,
    )
    return GateResult(False, [*passes, skipped, failed], "quality/r1/results.json")


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    use_settings(settings, monkeypatch)
    monkeypatch.setenv("COLUMNS", "80")

    def check_tables(*_args: Any) -> GateResult:
        return _result()

    monkeypatch.setattr(umwi_quality, "check_tables", check_tables)


@pytest.mark.usefixtures("checked")
def test_quality_shows_what_did_not_pass_and_counts_the_rest(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default view lists only checks that did not pass, blocking ones first and
    whole at 80 columns, then one line per table. Mutation: listing every check (dropping
    the `status != "passed"` filter in `quality_overview`) prints the 240 passes and turns
    this red."""
    assert run_cli(monkeypatch, "quality") == 1
    captured = capsys.readouterr()
    out = captured.out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "check number" not in out
    assert out.index("key unique") < out.index("delay_s drift (sample)")
    assert DRIFT_THRESHOLD in out
    counts = {
        cells[0]: cells[1:]
        for line in out.splitlines()
        if (cells := [cell.strip() for cell in line.strip("│ ").split("│")])[0].startswith(
            ("gold_", "silver_")
        )
    }
    assert counts == {
        "gold_correlation": ["120", "1", "0", "0"],
        "silver_departures": ["120", "0", "0", "1"],
    }
    assert "242 checks, 2 did not pass" in out
    assert "1 error check(s) failed: key unique on gold_correlation" in captured.err


@pytest.mark.usefixtures("checked")
def test_quality_all_and_json_list_every_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--all` and `--format json` keep every check. Mutation: routing `--all` to the
    overview turns this red."""
    assert run_cli(monkeypatch, "quality", "--format", "json") == 1
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 242
    assert rows[0]["check"] == "key unique"
    assert run_cli(monkeypatch, "quality", "--all") == 1
    assert "check number 119" in capsys.readouterr().out
