"""The gate: GE + Soda + batch checks on silver and the gold candidates, then publish
on pass or alert once on fail (DESIGN.md §6)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

from umwi_core.alerts import Alert, AlertSink
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import OUTLOOK_HOURLY_TABLE, SILVER_TABLES, WEATHER_FORECAST
from umwi_core.errors import InputError
from umwi_core.failpoints import failpoint
from umwi_core.lake import Lake
from umwi_core.publication import GOLD_TABLES, read_publication
from umwi_core.settings import Settings
from umwi_transform import GoldCandidate, open_delta, publish_gold
from umwi_transform.catalog import scan_source

from umwi_quality._batch import batch_checks
from umwi_quality._ge import run_expectations
from umwi_quality._ge_suites import SUITES, SuiteContext
from umwi_quality._model import CheckResult, GateResult, verdict
from umwi_quality._report import docs_key, upload_site, write_results
from umwi_quality._soda import contract_names, verify_contracts
from umwi_quality._workspace import Workspace, register_gold, register_silver, sql_timestamp

log = logging.getLogger("umwi.quality")

SILVER_VIEWS = tuple(f"silver_{table}" for table in SILVER_TABLES)
GOLD_VIEWS = tuple(f"gold_{table}" for table in GOLD_TABLES)
CHECKED_VIEWS = SILVER_VIEWS + GOLD_VIEWS
OUTLOOK_VIEWS = (f"silver_{WEATHER_FORECAST.name}", f"gold_{OUTLOOK_HOURLY_TABLE}")


def _guarded(engine: str, run: Callable[[], list[CheckResult]]) -> list[CheckResult]:
    """An engine that crashes blocks the gate with a readable result instead of a traceback."""
    try:
        return run()
    except Exception as error:  # any engine failure must fail closed
        log.exception("%s checks could not run", engine)
        return [
            CheckResult(
                check=f"{engine} checks ran",
                table="(every checked table)",
                engine="soda" if engine == "soda" else "great_expectations",
                severity="error",
                status="error",
                message=f"{type(error).__name__}: {error}"[:500],
            )
        ]


def _check(
    workspace: Workspace,
    lake: Lake,
    settings: Settings,
    run_id: str,
    views: list[str],
    *,
    totals_window: str,
    now: datetime,
    with_batch: bool,
    kind: str,
) -> tuple[list[CheckResult], str]:
    """Every engine on `views`; writes results and docs; returns (checks, results key)."""
    context = SuiteContext(now=now, settings=settings, totals_window=totals_window)
    limit = context.future_limit
    checks: list[CheckResult] = []
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="umwi-docs-") as site:
        began = perf_counter()
        checks += _guarded(
            "great_expectations",
            lambda: run_expectations(workspace, views, context, Path(site)),
        )
        timings["great_expectations"] = perf_counter() - began
        failpoint("gate.running")
        began = perf_counter()
        soda_views = [view for view in views if view in contract_names()]
        checks += _guarded(
            "soda",
            lambda: verify_contracts(workspace, soda_views, {"FUTURE_LIMIT": limit}),
        )
        timings["soda"] = perf_counter() - began
        if with_batch:
            began = perf_counter()
            checks += batch_checks(workspace, lake, settings, now)
            timings["batch"] = perf_counter() - began
        docs = docs_key(run_id) if upload_site(lake, run_id, Path(site)) else None
    passed = verdict(checks)
    key = write_results(
        lake,
        run_id,
        passed=passed,
        checks=checks,
        checked_at=now,
        since=workspace.since,
        views=workspace.views,
        docs=docs,
        kind=kind,
    )
    log.info(
        "quality %s: %d checks, %s (%s)",
        kind,
        len(checks),
        "passed" if passed else "FAILED",
        ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timings.items()),
    )
    return checks, key


def _alert(
    lake: Lake, run_id: str, report_key: str, checks: list[CheckResult], *, failed: bool
) -> Alert:
    bad = [c for c in checks if (c.blocking if failed else c.warning)]
    tables = sorted({c.table for c in bad})
    lines = [f"{c.check} on {c.table}: observed {c.observed} (expected {c.threshold})" for c in bad]
    title = (
        f"quality gate failed: {len(bad)} check(s) on {', '.join(tables)}; nothing published"
        if failed
        else f"quality warnings: {len(bad)} check(s) on {', '.join(tables)}"
    )
    return Alert(
        severity="error" if failed else "warn",
        title=title,
        summary="; ".join(lines[:10])
        + (f"; and {len(lines) - 10} more" if len(lines) > 10 else ""),
        run_id=run_id,
        report=lake.uri(report_key),
        details={
            "failed_checks": [c.as_json() for c in bad],
            "tables": tables,
            "counts": {
                "checks": len(checks),
                "failed_error": sum(c.blocking for c in checks),
                "failed_warn": sum(c.warning for c in checks),
            },
            "results": report_key,
            "docs": docs_key(run_id),
        },
    )


def changed_scopes(
    candidates: Mapping[str, GoldCandidate], published: Mapping[str, Any]
) -> dict[str, str]:
    """The SQL predicate of what each candidate changed since the published version,
    for the tables where the build knows it: a candidate built on top of exactly the
    published version. Any other (a full build, a build after an unpublished one, a
    compaction in between) is judged whole."""
    scopes: dict[str, str] = {}
    for table, candidate in candidates.items():
        entry = published.get(table)
        if (
            candidate.scope is not None
            and entry is not None
            and getattr(entry, "version", None) == candidate.scope_base
        ):
            scopes[table] = candidate.scope
    return scopes


def run_gate(
    lake: Lake,
    settings: Settings,
    run_id: str,
    candidates: Mapping[str, GoldCandidate],
    alerts: AlertSink,
    *,
    now: datetime | None = None,
) -> GateResult:
    """Judge silver (rows ingested since the current publication) and the gold candidates
    (the partitions each changed since the published version, when the build says which;
    see `changed_scopes`).

    On pass, publish the candidates (`publish_gold`); a passing gate with warnings sends one
    `warn` alert. On fail, publish nothing and send exactly one `error` alert.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    current = read_publication(lake)
    since = current[0].published_at if current else None
    scopes = changed_scopes(candidates, current[0].tables if current else {})
    workspace = Workspace.open(settings.duckdb_memory_limit)
    try:
        register_gold(workspace, lake, {t: c.version for t, c in candidates.items()}, scopes)
        # Hourly gold judged whole may reach any day of silver: then silver is whole too.
        hourly_scoped = "punctuality_hourly" in scopes
        register_silver(
            workspace,
            lake,
            since,
            whole=False,
            history_days=settings.quality_volume_history_days if hourly_scoped else None,
            also_from=workspace.scalar('SELECT min(hour) FROM main."gold_punctuality_hourly"')
            if hourly_scoped
            else None,
        )
        views = [v for v in CHECKED_VIEWS if v in workspace.views]
        checks, report_key = _check(
            workspace,
            lake,
            settings,
            run_id,
            views,
            totals_window=(
                "SELECT DISTINCT date_trunc('hour', scheduled_at) AS hour FROM silver_departures"
            ),
            now=moment,
            with_batch=True,
            kind="gate",
        )
    finally:
        workspace.close()
    return _judge(lake, run_id, report_key, checks, candidates, alerts)


def run_outlook_gate(
    lake: Lake,
    settings: Settings,
    run_id: str,
    candidates: Mapping[str, GoldCandidate],
    alerts: AlertSink,
    *,
    now: datetime | None = None,
) -> GateResult:
    """The outlook's gate (DESIGN.md §8): the forecast's and `outlook_hourly`'s contract
    checks only; on pass, publish `outlook_hourly` with every other table's entry carried
    over. The historical gold and its checks are not touched."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    workspace = Workspace.open(settings.duckdb_memory_limit)
    try:
        register_gold(workspace, lake, {t: c.version for t, c in candidates.items()})
        forecast = open_delta(lake, "silver", WEATHER_FORECAST.name)
        workspace.register(
            f"silver_{WEATHER_FORECAST.name}",
            scan_source(forecast, arrow_schema(WEATHER_FORECAST).empty_table()),
            None,
            load=True,
        )
        views = [v for v in OUTLOOK_VIEWS if v in workspace.views]
        checks, report_key = _check(
            workspace,
            lake,
            settings,
            run_id,
            views,
            totals_window="SELECT NULL::TIMESTAMPTZ AS hour WHERE false",
            now=moment,
            with_batch=False,
            kind="outlook",
        )
    finally:
        workspace.close()
    return _judge(lake, run_id, report_key, checks, candidates, alerts)


def _judge(
    lake: Lake,
    run_id: str,
    report_key: str,
    checks: list[CheckResult],
    candidates: Mapping[str, GoldCandidate],
    alerts: AlertSink,
) -> GateResult:
    """The verdict on `checks`: an alert and nothing published when an error-severity
    check failed; otherwise a warning alert if any warned, then the publication."""
    result = GateResult(passed=verdict(checks), checks=checks, report_key=report_key)
    if not result.passed:
        alerts.send(_alert(lake, run_id, report_key, checks, failed=True))
        return result
    if result.warnings:
        alerts.send(_alert(lake, run_id, report_key, checks, failed=False))
    gate = {
        "status": "passed",
        "checks": len(checks),
        "warnings": len(result.warnings),
        "run_id": run_id,
    }
    publication = publish_gold(
        lake, dict(candidates), run_id=run_id, gate=gate, quality_report=report_key
    )
    return GateResult(passed=True, checks=checks, report_key=report_key, publication=publication)


def check_tables(
    lake: Lake,
    settings: Settings,
    run_id: str,
    tables: list[str] | None,
    *,
    now: datetime | None = None,
) -> GateResult:
    """Audit whole silver tables and the published gold (`umwi quality`); no publication,
    no alert. `tables` are `<layer>_<table>` names; None checks them all."""
    unknown = sorted(set(tables or ()) - set(CHECKED_VIEWS))
    if unknown:
        raise InputError(
            f"--table {unknown[0]!r}: not a checked table; choose from {', '.join(CHECKED_VIEWS)}"
        )
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    current = read_publication(lake)
    since = current[0].published_at if current else None
    wanted = list(tables) if tables else list(CHECKED_VIEWS)
    workspace = Workspace.open(settings.duckdb_memory_limit)
    try:
        register_silver(workspace, lake, since, whole=True)
        if current is not None:
            register_gold(
                workspace, lake, {t: entry.version for t, entry in current[0].tables.items()}
            )
        views = [v for v in wanted if v in workspace.views and v in SUITES]
        # Published gold predates rows ingested since; compare totals only on the hours
        # no later ingest touched.
        later = (
            f"SELECT DISTINCT date_trunc('hour', scheduled_at) FROM silver_departures_all "
            f"WHERE ingested_at > {sql_timestamp(since)}"
            if since
            else "SELECT NULL::TIMESTAMPTZ WHERE false"
        )
        window = (
            "SELECT DISTINCT date_trunc('hour', scheduled_at) AS hour FROM silver_departures_all "
            f"EXCEPT {later}"
        )
        checks, report_key = _check(
            workspace,
            lake,
            settings,
            run_id,
            views,
            totals_window=window,
            now=moment,
            with_batch=any(v in SILVER_VIEWS for v in wanted),
            kind="check",
        )
    finally:
        workspace.close()
    return GateResult(passed=verdict(checks), checks=checks, report_key=report_key)
