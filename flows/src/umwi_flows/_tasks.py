"""Prefect tasks: each calls one package function.

Data never passes through Prefect: tasks take parameters and return small summaries, and
no task result is cached or persisted (`cache_policy=NONE`, `persist_result=False`).
Import this module only after `prepare_prefect`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.tasks import exponential_backoff
from umwi_connectors import SourceJob
from umwi_core.alerts import Alert
from umwi_core.resources import Resources
from umwi_core.settings import Engine, Settings

from umwi_flows._ingest import IngestOutcome, ingest_job
from umwi_flows._results import ReplaySummary

if TYPE_CHECKING:
    from umwi_quality import GateResult
    from umwi_transform import GoldCandidate

_NO_RESULTS: dict[str, Any] = {"cache_policy": NONE, "persist_result": False}


def retry_options(settings: Settings) -> dict[str, Any]:
    """Retries with exponential backoff and jitter, from the settings."""
    delay = settings.task_retry_delay_s
    return {
        "retries": settings.task_retries,
        "retry_delay_seconds": exponential_backoff(backoff_factor=delay) if delay > 0 else 0,
        "retry_jitter_factor": 0.5 if delay > 0 else None,
    }


@task(name="ingest-window", timeout_seconds=3_600, log_prints=False, **_NO_RESULTS)
def ingest_task(
    job: SourceJob,
    resources: Resources,
    start: date | None,
    end: date | None,
    force: bool,
    now: datetime | None = None,
) -> IngestOutcome:
    logger = get_run_logger()
    settings = resources.settings
    outcome = ingest_job(
        job,
        settings,
        resources.lake,
        resources.ledger,
        start=start,
        end=end,
        force=force,
        now=now,
        lease_s=settings.ledger_lease_s,
    )
    logger.info(
        "%s: %s, %d windows, %d skipped, counts %s",
        job.stream,
        outcome.status,
        len(outcome.windows),
        len(outcome.skipped),
        {table: counts.model_dump() for table, counts in outcome.counts.items()},
    )
    return outcome


@task(name="alert", timeout_seconds=120, **_NO_RESULTS)
def alert_task(resources: Resources, alert: Alert) -> None:
    resources.alerts.send(alert)


@task(name="replay-bronze", timeout_seconds=6 * 3_600, **_NO_RESULTS)
def replay_task(resources: Resources, run_id: str) -> ReplaySummary:
    from umwi_flows._build import replay_bronze_all

    summary = replay_bronze_all(resources.settings, resources.lake, run_id)
    get_run_logger().info("replayed %d bronze payloads", summary.payloads)
    return summary


@task(name="build-gold", timeout_seconds=6 * 3_600, **_NO_RESULTS)
def build_task(
    resources: Resources, run_id: str, engine: Engine = Engine.DUCKDB
) -> dict[str, GoldCandidate]:
    """Gold candidates as new Delta versions (not yet visible): {table: candidate}."""
    if engine is Engine.SPARK:
        from umwi_transform.spark import build_candidates

        candidates = build_candidates(resources.lake, resources.settings, run_id)
    elif engine is Engine.EMR_SERVERLESS:
        from umwi_transform.emr import job_candidates, submit_and_wait

        job = submit_and_wait(resources.settings, run_id)
        get_run_logger().info("EMR Serverless job %s done", job)
        candidates = job_candidates(resources.lake, run_id)
    else:
        from umwi_transform import build_gold

        candidates = build_gold(resources.lake, resources.settings, run_id)
    changed = sorted(name for name, candidate in candidates.items() if candidate.changed)
    get_run_logger().info("gold candidates built; changed: %s", ", ".join(changed) or "none")
    return dict(candidates)


@task(name="publication-check", timeout_seconds=300, **_NO_RESULTS)
def current_publication_task(
    resources: Resources, candidates: Mapping[str, GoldCandidate]
) -> str | None:
    """The current publication when the build changed no gold (the gate is then skipped)."""
    from umwi_flows._build import current_publication

    found = current_publication(resources.lake, candidates)
    if found is not None:
        get_run_logger().info("gold unchanged: publication %s stays current", found)
    return found


@task(name="quality-gate", timeout_seconds=3_600, **_NO_RESULTS)
def gate_task(
    resources: Resources, run_id: str, candidates: Mapping[str, GoldCandidate]
) -> GateResult:
    """Judge silver and the candidates; publish on pass, one alert on fail."""
    from umwi_quality import run_gate

    result = run_gate(resources.lake, resources.settings, run_id, candidates, resources.alerts)
    logger = get_run_logger()
    if result.passed:
        logger.info("quality gate passed; report %s", result.report_key)
    else:
        logger.error("quality gate failed; nothing published; report %s", result.report_key)
    return result


@task(name="maintain", timeout_seconds=6 * 3_600, **_NO_RESULTS)
def maintain_task(resources: Resources, retain_hours: int) -> dict[str, object]:
    from umwi_transform import maintain

    summary = maintain(resources.lake, resources.settings, retain_hours=retain_hours)
    get_run_logger().info("maintenance done: %s", summary)
    return summary


__all__ = [
    "alert_task",
    "build_task",
    "current_publication_task",
    "gate_task",
    "ingest_task",
    "maintain_task",
    "replay_task",
    "retry_options",
]
