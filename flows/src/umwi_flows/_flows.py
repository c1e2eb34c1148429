"""The Prefect flows: ingest, build (gold candidates → gate → publish), pipeline, maintain.

Flow parameters are JSON (no settings objects: they hold secrets and Prefect records
parameters); each flow loads the settings itself and writes its own run manifest.
Import this module only after `prepare_prefect`.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime, timedelta
from time import perf_counter
from typing import Any, cast

from prefect import Flow, flow, get_run_logger
from prefect.context import get_run_context
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import ValidationError
from umwi_connectors import SourceJob, SourcesConfig
from umwi_core.alerts import Alert
from umwi_core.errors import InputError, UmwiError
from umwi_core.lake import Lake
from umwi_core.resources import build_resources
from umwi_core.runs import RunManifest, new_run_id, write_manifest
from umwi_core.settings import Settings, load_settings

from umwi_flows import _progress
from umwi_flows._config import load_config
from umwi_flows._ingest import IngestOutcome
from umwi_flows._sources import jobs_from_config
from umwi_flows._tasks import (
    alert_task,
    build_task,
    current_publication_task,
    gate_task,
    ingest_task,
    maintain_task,
    replay_task,
    retry_options,
)
from umwi_flows._windows import day_windows, parse_day


class IngestFailed(UmwiError):
    """At least one source failed after its retries (each was alerted)."""


class GateFailed(UmwiError):
    """The quality gate blocked publication (it sent the alert)."""


def _flow_run_id() -> str | None:
    try:
        context = get_run_context()
    except RuntimeError:
        return None
    run = getattr(context, "flow_run", None)
    return str(run.id) if run is not None else None


def _manifest(kind: str, run_id: str, started: datetime, parameters: dict[str, Any]) -> RunManifest:
    return RunManifest(
        run_id=run_id,
        kind=kind,
        started_at=started,
        parameters=parameters,
        outputs={"prefect_flow_run_id": _flow_run_id()},
    )


def _close(lake: Lake, manifest: RunManifest, **update: Any) -> None:
    update.setdefault("finished_at", datetime.now(UTC))
    outputs = {**manifest.outputs, **update.pop("outputs", {})}
    write_manifest(lake, manifest.model_copy(update={**update, "outputs": outputs}))


def _sources(settings: Settings, sources: dict[str, Any] | None) -> SourcesConfig:
    if sources is None:
        return load_config(settings.config_file).sources
    try:
        return SourcesConfig.parse(sources)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise InputError(f"sources.{where}: {first.get('msg')}") from None


def _range(
    start: str | None, end: str | None, lookback_days: int | None, today: date
) -> tuple[date | None, date | None]:
    if start is None and end is None and lookback_days is not None:
        # Scheduled runs: the last days up to now; today stays open until it is over.
        return today - timedelta(days=lookback_days), today + timedelta(days=1)
    first = parse_day(start, "--start") if start is not None else None
    last = parse_day(end, "--end") if end is not None else None
    return first, last


def _chunks(
    job: SourceJob, start: date | None, end: date | None, chunk_days: int | None
) -> list[tuple[date | None, date | None]]:
    if not job.by_day or chunk_days is None or start is None or end is None:
        return [(start, end)]
    days = day_windows(start, end)
    return [
        (days[i], min(days[i] + timedelta(days=chunk_days), end))
        for i in range(0, len(days), chunk_days)
    ]


def _describe(candidates: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"version": c.version, "rows": c.rows, "changed": c.changed}
        for name, c in candidates.items()
    }


def _jsonable_checks(result: Any) -> Any:
    checks = getattr(result, "checks", None)
    if isinstance(checks, list):
        return [asdict(c) if is_dataclass(c) and not isinstance(c, type) else c for c in checks]
    return checks


@flow(name="ingest", log_prints=False, task_runner=cast(Any, ThreadPoolTaskRunner(max_workers=1)))
def ingest_flow(
    sources: dict[str, Any] | None = None,
    start: str | None = None,
    end: str | None = None,
    only: list[str] | None = None,
    force: bool = False,
    lookback_days: int | None = None,
    chunk_days: int | None = None,
) -> dict[str, Any]:
    """Ingest the configured sources (or `sources`, the `[sources]` table of umwi.toml)
    over [start, end) — or the last `lookback_days` — committing bronze and silver."""
    logger = get_run_logger()
    resources = build_resources(load_settings())
    settings = resources.settings
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    manifest = _manifest(
        "flow:ingest",
        run_id,
        started,
        {"start": start, "end": end, "only": only, "force": force, "chunk_days": chunk_days},
    )
    first, last = _range(start, end, lookback_days, started.date())
    jobs = jobs_from_config(_sources(settings, sources), only)
    if not jobs:
        raise InputError("no sources to ingest: configure some in umwi.toml or give --source")
    work = [(job, a, b) for job in jobs for a, b in _chunks(job, first, last, chunk_days)]
    _progress.report("planned", total=len(work))
    task = ingest_task.with_options(**retry_options(settings))
    futures = {task.submit(job, resources, a, b, force): job for job, a, b in work}
    outcomes: list[IngestOutcome] = []
    failures: dict[str, str] = {}
    for future in as_completed(list(futures)):
        job = futures[future]
        result = future.result(raise_on_failure=False)
        if isinstance(result, IngestOutcome):
            outcomes.append(result)
            _progress.report("advanced", stream=job.stream, outcome=result)
            continue
        error = result
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        failures[job.stream] = reason
        _progress.report("advanced", stream=job.stream, error=reason)
        logger.error("%s failed after retries: %s", job.stream, reason)
        alert = Alert(
            severity="error",
            title=f"ingest of {job.stream} failed",
            summary=reason,
            run_id=run_id,
            report=None,
            details={"source": job.source, "start": str(first), "end": str(last)},
        )
        alert_task(resources, alert)
    summary = {
        "run_id": run_id,
        "ingest_runs": [outcome.summary() for outcome in outcomes],
        "failed": failures,
    }
    _close(
        resources.lake,
        manifest,
        status="failed" if failures else "done",
        outputs=summary,
        error="; ".join(f"{s}: {r}" for s, r in failures.items()) or None,
        timings_s={"total": (datetime.now(UTC) - started).total_seconds()},
    )
    if failures:
        stream, reason = next(iter(failures.items()))
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise IngestFailed(f"ingest of {stream} failed: {reason}{more}")
    return summary


@flow(name="build", log_prints=False)
def build_flow(from_bronze: bool = False) -> dict[str, Any]:
    """Build gold candidates from silver (after rebuilding silver from bronze if asked),
    run the quality gate, and publish when it passes."""
    resources = build_resources(load_settings())
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    manifest = _manifest("build", run_id, started, {"from_bronze": from_bronze})
    timings: dict[str, float] = {}
    outputs: dict[str, Any] = {}
    try:
        if from_bronze:
            began = perf_counter()
            outputs["replay"] = replay_task(resources, run_id)
            timings["replay"] = round(perf_counter() - began, 3)
        began = perf_counter()
        candidates = build_task(resources, run_id)
        timings["build"] = round(perf_counter() - began, 3)
        outputs["candidates"] = _describe(candidates)
        current = current_publication_task(resources, candidates)
        if current is not None:
            outputs |= {"gate_passed": True, "gate": "skipped", "publication_id": current}
            _close(resources.lake, manifest, status="done", outputs=outputs, timings_s=timings)
            return {"run_id": run_id, **outputs, "timings_s": timings}
        began = perf_counter()
        result: Any = gate_task(resources, run_id, candidates)
        timings["gate"] = round(perf_counter() - began, 3)
    except BaseException as error:
        _close(
            resources.lake,
            manifest,
            status="failed",
            error=str(error)[:500],
            timings_s=timings,
            outputs=outputs,
        )
        raise
    publication = getattr(result, "publication", None)
    outputs |= {
        "gate_passed": bool(result.passed),
        "gate": "passed" if result.passed else "failed",
        "quality_report": result.report_key,
        "publication_id": getattr(publication, "publication_id", None),
    }
    _close(
        resources.lake,
        manifest,
        status="done" if result.passed else "gate_failed",
        checks={"passed": bool(result.passed), "results": _jsonable_checks(result)},
        outputs=outputs,
        timings_s=timings,
    )
    if not result.passed:
        raise GateFailed(f"quality gate failed: nothing published (report: {result.report_key})")
    return {"run_id": run_id, **outputs, "timings_s": timings}


@flow(name="pipeline", log_prints=False)
def pipeline_flow(
    sources: dict[str, Any] | None = None,
    start: str | None = None,
    end: str | None = None,
    only: list[str] | None = None,
    force: bool = False,
    lookback_days: int | None = None,
    chunk_days: int | None = None,
    concurrency: int = 1,
) -> dict[str, Any]:
    """Ingest, then build, gate and publish. A failed source is alerted; the build still
    runs on what is stored, and the pipeline then fails naming the source."""
    resources = build_resources(load_settings())
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    manifest = _manifest(
        "pipeline",
        run_id,
        started,
        {"start": start, "end": end, "only": only, "force": force, "chunk_days": chunk_days},
    )
    runner: Any = ThreadPoolTaskRunner(max_workers=max(1, concurrency))
    ingest_state = ingest_flow.with_options(task_runner=runner)(
        sources=sources,
        start=start,
        end=end,
        only=only,
        force=force,
        lookback_days=lookback_days,
        chunk_days=chunk_days,
        return_state=True,
    )
    ingest_error: BaseException | None = None
    ingested: dict[str, Any] = {}
    if ingest_state.is_completed():
        ingested = ingest_state.result()
    else:
        found = ingest_state.result(raise_on_failure=False)
        ingest_error = found if isinstance(found, BaseException) else IngestFailed(str(found))
        if isinstance(ingest_error, InputError):
            _close(resources.lake, manifest, status="failed", error=str(ingest_error))
            raise ingest_error
    ingest_s = (datetime.now(UTC) - started).total_seconds()
    try:
        built = build_flow()
    except BaseException as error:
        _close(
            resources.lake,
            manifest,
            status="failed",
            error=str(error)[:500],
            outputs={"ingest": ingested},
        )
        raise
    outputs = {"ingest": ingested, "build": built}
    total = (datetime.now(UTC) - started).total_seconds()
    timings = {"ingest": ingest_s, "build": total - ingest_s, "total": total}
    _close(
        resources.lake,
        manifest,
        status="failed" if ingest_error else "done",
        error=str(ingest_error) if ingest_error else None,
        outputs=outputs,
        timings_s=timings,
    )
    if ingest_error is not None:
        raise ingest_error
    return {"run_id": run_id, **outputs, "timings_s": timings}


@flow(name="maintain", log_prints=False)
def maintain_flow(retain_hours: int = 168) -> dict[str, Any]:
    """Compact, checkpoint and vacuum the Delta tables; prune unpublished serving copies."""
    resources = build_resources(load_settings())
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    manifest = _manifest("maintain", run_id, started, {"retain_hours": retain_hours})
    try:
        summary = maintain_task(resources, retain_hours)
    except BaseException as error:
        _close(resources.lake, manifest, status="failed", error=str(error)[:500])
        raise
    _close(resources.lake, manifest, status="done", outputs={"maintenance": summary})
    return {"run_id": run_id, "maintenance": summary}


FLOWS: dict[str, Flow[..., Any]] = {
    "ingest": ingest_flow,
    "build": build_flow,
    "pipeline": pipeline_flow,
    "maintain": maintain_flow,
}

__all__ = [
    "FLOWS",
    "GateFailed",
    "IngestFailed",
    "build_flow",
    "ingest_flow",
    "maintain_flow",
    "pipeline_flow",
]
