"""Verify the Soda Core v4 data contracts (YAML in `umwi_quality/contracts/`) in-process
on the workspace's DuckDB connection.

Soda Core v4 is under the Elastic License 2.0. Telemetry is switched off before import.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

from umwi_quality._model import CheckResult, Status
from umwi_quality._workspace import Workspace

DATA_SOURCE = "umwi"


def contract_names() -> list[str]:
    """The views that have a contract (file stem = view name)."""
    folder = resources.files("umwi_quality") / "contracts"
    return sorted(
        entry.name.removesuffix(".yml") for entry in folder.iterdir() if entry.name.endswith(".yml")
    )


def _duckdb_connection(workspace: Workspace) -> Any:
    # duckdb-engine wraps the DuckDBPyConnection; Soda wants the connection itself.
    inner = getattr(workspace.connection, "_ConnectionWrapper__c", None)
    return inner if inner is not None else workspace.connection


def _status(result: Any) -> Status:
    if result.is_passed:
        return "passed"
    if result.is_failed or result.is_warned:
        return "failed"
    return "error"


_COUNTS = {
    "missing": "missing_count",
    "invalid": "invalid_count",
    "duplicate": "duplicate_count",
    "failed_rows": "failed_rows_count",
    "schema": "schema_events_count",
}


def _observed(result: Any) -> str | int | float | None:
    values = result.diagnostic_metric_values or {}
    key = _COUNTS.get(str(result.check.type))
    if key in values:
        return values[key]  # type: ignore[no-any-return]
    value = result.threshold_value
    return value if isinstance(value, (int, float)) else None


def _threshold(threshold: Any) -> str | None:
    if threshold is None:
        return None
    lines = [line for line in str(threshold).splitlines() if not line.startswith("level:")]
    return "; ".join(lines) or None


def _errors(session: Any) -> str:
    return str(session.get_errors_str())[:500]


def verify_contracts(
    workspace: Workspace, views: list[str], variables: dict[str, str]
) -> list[CheckResult]:
    """One `CheckResult` per Soda check of each view's contract.

    A contract Soda could not evaluate at all (unparseable YAML, missing table) becomes
    one `error` result rather than vanishing.
    """
    os.environ["SODA_CORE_TELEMETRY_ENABLED"] = "false"
    from soda_core.contracts import verify_contract_locally
    from soda_duckdb import DuckDBDataSource  # type: ignore[import-untyped]

    source = DuckDBDataSource.from_existing_cursor(_duckdb_connection(workspace), name=DATA_SOURCE)
    checks: list[CheckResult] = []
    folder = resources.files("umwi_quality") / "contracts"
    for view in views:
        with resources.as_file(folder / f"{view}.yml") as path:
            session = verify_contract_locally(
                data_sources=[source], contract_file_path=str(path), variables=variables
            )
        results = [
            result
            for contract in session.contract_verification_results
            for result in contract.check_results
        ]
        if not results:
            checks.append(
                CheckResult(
                    check="contract verified",
                    table=view,
                    engine="soda",
                    severity="error",
                    status="error",
                    message=_errors(session) or "Soda evaluated no check",
                )
            )
            continue
        for result in results:
            check = result.check
            name = check.name if not check.column_name else f"{check.column_name}: {check.name}"
            status = _status(result)
            checks.append(
                CheckResult(
                    check=str(name),
                    table=view,
                    engine="soda",
                    severity="error",
                    status=status,
                    observed=_observed(result),
                    threshold=_threshold(check.threshold),
                    message=_errors(session) if status == "error" else "",
                    details={"soda_type": str(check.type)},
                )
            )
    return checks
