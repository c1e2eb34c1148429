"""What every check reports, and the gate's verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from umwi_core.publication import Publication

Severity = Literal["error", "warn"]
#: In the order reports list them (`umwi quality`'s counts per table).
Status = Literal["passed", "failed", "error", "skipped"]
Engine = Literal["great_expectations", "soda", "batch"]

#: Columns of the readable summary (`umwi quality`).
SUMMARY_COLUMNS = ("check", "table", "severity", "status", "observed", "threshold")


@dataclass(frozen=True)
class CheckResult:
    """One check on one table.

    `status` is `error` when the check could not be evaluated at all; that blocks like a
    failure, so a broken check can never let bad data through.
    """

    check: str
    table: str
    engine: Engine
    severity: Severity
    status: Status
    observed: str | int | float | None = None
    threshold: str | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.severity == "error" and self.status in ("failed", "error")

    @property
    def warning(self) -> bool:
        return self.severity == "warn" and self.status in ("failed", "error")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateResult:
    """The verdict: `passed` when no error-severity check failed."""

    passed: bool
    checks: list[CheckResult]
    report_key: str
    publication: Publication | None = None

    @property
    def blocking(self) -> list[CheckResult]:
        return [check for check in self.checks if check.blocking]

    @property
    def warnings(self) -> list[CheckResult]:
        return [check for check in self.checks if check.warning]


def verdict(checks: list[CheckResult]) -> bool:
    return not any(check.blocking for check in checks)


def summary_rows(result: GateResult) -> list[dict[str, Any]]:
    """One row per check with the `SUMMARY_COLUMNS`, blocking failures first."""
    order = {"error": 0, "failed": 0, "skipped": 2, "passed": 3}
    ranked = sorted(
        result.checks,
        key=lambda c: (order[c.status] + (0 if c.severity == "error" else 1), c.table, c.check),
    )
    return [{name: getattr(check, name) for name in SUMMARY_COLUMNS} for check in ranked]
