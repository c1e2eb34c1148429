"""Verdict by severity, and the readable summary rows."""

from __future__ import annotations

from umwi_quality import SUMMARY_COLUMNS, CheckResult, GateResult, summary_rows
from umwi_quality._model import verdict


def check(status: str, severity: str = "error", name: str = "c") -> CheckResult:
    return CheckResult(
        check=name,
        table="silver_departures",
        engine="batch",
        severity=severity,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        observed=1,
        threshold="0",
    )


def test_error_failures_block_and_warnings_do_not() -> None:
    assert verdict([check("passed"), check("failed", "warn"), check("skipped")])
    assert not verdict([check("passed"), check("failed")])


def test_a_check_that_could_not_run_blocks() -> None:
    assert not verdict([check("error")])
    assert check("error").blocking


def test_summary_rows_put_blocking_failures_first() -> None:
    result = GateResult(
        passed=False,
        checks=[check("passed", name="a"), check("failed", "warn", "b"), check("failed", name="c")],
        report_key="quality/r/results.json",
    )
    rows = summary_rows(result)
    assert [row["check"] for row in rows] == ["c", "b", "a"]
    assert all(tuple(row) == SUMMARY_COLUMNS for row in rows)
    assert result.blocking == [result.checks[2]]
    assert result.warnings == [result.checks[1]]
