"""The gate's record in the lake: `quality/<run_id>/results.json` and the Data Docs site."""

from __future__ import annotations

import json
import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Any

from umwi_core.lake import Lake

from umwi_quality._model import CheckResult


def report_prefix(run_id: str) -> str:
    return f"quality/{run_id}"


def results_key(run_id: str) -> str:
    return f"{report_prefix(run_id)}/results.json"


def docs_key(run_id: str) -> str:
    return f"{report_prefix(run_id)}/docs/index.html"


def upload_site(lake: Lake, run_id: str, site_dir: Path) -> list[str]:
    """Copy every file of the built site under `quality/<run_id>/docs/`, one atomic write
    each (the same code for a folder and an S3 lake)."""
    keys: list[str] = []
    for path in sorted(site_dir.rglob("*")):
        if path.is_file():
            key = f"{report_prefix(run_id)}/docs/{path.relative_to(site_dir).as_posix()}"
            lake.write_bytes(key, path.read_bytes())
            keys.append(key)
    return keys


def content_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def write_results(
    lake: Lake,
    run_id: str,
    *,
    passed: bool,
    checks: list[CheckResult],
    checked_at: datetime,
    since: datetime | None,
    views: dict[str, int],
    docs: str | None,
    kind: str,
) -> str:
    """The machine-readable record of every check; returns its key."""
    payload: dict[str, Any] = {
        "run_id": run_id,
        "kind": kind,
        "passed": passed,
        "checked_at": checked_at.isoformat(),
        "batch_since": since.isoformat() if since else None,
        "rows": views,
        "counts": {
            "checks": len(checks),
            "passed": sum(c.status == "passed" for c in checks),
            "failed_error": sum(c.blocking for c in checks),
            "failed_warn": sum(c.warning for c in checks),
            "skipped": sum(c.status == "skipped" for c in checks),
        },
        "docs": docs,
        "checks": [check.as_json() for check in checks],
    }
    key = results_key(run_id)
    lake.write_bytes(key, json.dumps(payload, indent=2, default=str).encode())
    return key
