"""The Prefect flows: ingest, build (gold candidates → gate → publish), pipeline, maintain.

Flow parameters are JSON (no settings objects: they hold secrets and Prefect records
parameters); each flow loads the settings itself and writes its own run manifest.
Import this module only after `prepare_prefect`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
from umwi_core.errors import InputError, UmwiError, first_problem
from umwi_core.lake import Lake
from umwi_core.resources import build_resources
from umwi_core.runs import RunManifest, RunStatus, recorded_run
from umwi_core.settings import Engine, Settings, load_settings

from umwi_flows import _progress
from umwi_flows._config import load_config
from umwi_flows._ingest import IngestOutcome
from umwi_flows._results import (
    BuildSummary,
    CandidateSummary,
    IngestSummary,
    MaintainSummary,
    OutlookSummary,
    PipelineSummary,
)
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


@contextmanager
def _flow_run(
    lake: Lake, kind: str, parameters: Mapping[str, Any], started: datetime
) -> Iterator[RunManifest]:
    """The flow's manifest, with the Prefect flow run it belongs to."""
    outputs = {"prefect_flow_run_id": _flow_run_id()}
    with recorded_run(
        lake, kind, started_at=started, parameters=parameters, outputs=outputs
    ) as manifest:
        yield manifest


def _sources(settings: Settings, sources: dict[str, Any] | None) -> SourcesConfig:
    if sources is None:
        return load_config(settings.config_file).sources
    try:
        return SourcesConfig.parse(sources)
    except ValidationError as error:
        location, message = first_problem(error)
        raise InputError(f"sources.{'.'.join(location)}: {message}") from None


def _ingest_parameters(
    start: str | None, end: str | None, only: list[str] | None, force: bool, chunk_days: int | None
) -> dict[str, object]:
    """What an ingesting flow's manifest records of its parameters."""
    return {"start": start, "end": end, "only": only, "force": force, "chunk_days": chunk_days}


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


@flow(name="ingest", log_prints=False, task_runner=cast(Any, ThreadPoolTaskRunner(max_workers=1)))
def ingest_flow(
    sources: dict[str, Any] | None = None,
    start: str | None = None,
    end: str | None = None,
    only: list[str] | None = None,
    force: bool = False,
    lookback_days: int | None = None,
    chunk_days: int | None = None,
) -> IngestSummary:
    """Ingest the configured sources (or `sources`, the `[sources]` table of umwi.toml)
    over [start, end) — or the last `lookback_days` — committing bronze and silver."""
    logger = get_run_logger()
    resources = build_resources(load_settings())
    settings = resources.settings
    started = datetime.now(UTC)
    parameters = _ingest_parameters(start, end, only, force, chunk_days)
    with _flow_run(resources.lake, "flow:ingest", parameters, started) as manifest:
        first, last = _range(start, end, lookback_days, started.date())
        jobs = jobs_from_config(_sources(settings, sources), only)
        if not jobs:
            raise InputError("no sources to ingest: configure some in umwi.toml or give --source")
        work = [(job, a, b) for job in jobs for a, b in _chunks(job, first, last, chunk_days)]
        _progress.report(_progress.Planned(total=len(work)))
        task = ingest_task.with_options(**retry_options(settings))
        futures = {task.submit(job, resources, a, b, force): job for job, a, b in work}
        outcomes: list[IngestOutcome] = []
        failures: dict[str, str] = {}
        for future in as_completed(list(futures)):
            job = futures[future]
            result = future.result(raise_on_failure=False)
            if isinstance(result, IngestOutcome):
                outcomes.append(result)
                _progress.report(_progress.Advanced(stream=job.stream))
                continue
            error = result
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            failures[job.stream] = reason
            _progress.report(_progress.Advanced(stream=job.stream, error=reason))
            logger.error("%s failed after retries: %s", job.stream, reason)
            alert = Alert(
                severity="error",
                title=f"ingest of {job.stream} failed",
                summary=reason,
                run_id=manifest.run_id,
                report=None,
                details={"source": job.source, "start": str(first), "end": str(last)},
            )
            alert_task(resources, alert)
        summary = IngestSummary(
            run_id=manifest.run_id,
            ingest_runs=[outcome.summary() for outcome in outcomes],
            failed=failures,
        )
        manifest.outputs |= summary.outputs()
        manifest.timings_s["total"] = (datetime.now(UTC) - started).total_seconds()
        if failures:
            manifest.status = RunStatus.FAILED
            manifest.error = "; ".join(f"{s}: {r}" for s, r in failures.items())
    if failures:
        stream, reason = next(iter(failures.items()))
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise IngestFailed(f"ingest of {stream} failed: {reason}{more}")
    return summary


def _engine(engine: str | None, settings: Settings) -> Engine:
    """The engine a build runs on: the flow's parameter, else `UMWI_ENGINE`."""
    if engine is None:
        return settings.engine
    try:
        return Engine(engine)
    except ValueError:
        choices = ", ".join(repr(e.value) for e in Engine)
        raise InputError(f"engine: {engine!r} is not one of {choices}") from None


@flow(name="build", log_prints=False)
def build_flow(from_bronze: bool = False, engine: str | None = None) -> BuildSummary:
    """Build gold candidates from silver (after rebuilding silver from bronze if asked),
    run the quality gate, and publish when it passes. `engine` (`duckdb` or `spark`)
    overrides `UMWI_ENGINE` for this run."""
    resources = build_resources(load_settings())
    chosen = _engine(engine, resources.settings)
    parameters = {"from_bronze": from_bronze, "engine": chosen.value}
    with _flow_run(resources.lake, "build", parameters, datetime.now(UTC)) as manifest:
        run_id, timings = manifest.run_id, manifest.timings_s
        replay = None
        if from_bronze:
            began = perf_counter()
            replay = replay_task(resources, run_id)
            timings["replay"] = round(perf_counter() - began, 3)
            manifest.outputs["replay"] = replay.outputs()
        began = perf_counter()
        candidates = build_task(resources, run_id, chosen)
        timings["build"] = round(perf_counter() - began, 3)
        described = {
            name: CandidateSummary(version=c.version, rows=c.rows, changed=c.changed)
            for name, c in candidates.items()
        }
        manifest.outputs["candidates"] = {name: c.outputs() for name, c in described.items()}
        current = current_publication_task(resources, candidates)
        if current is not None:
            summary = BuildSummary(
                run_id=run_id,
                replay=replay,
                candidates=described,
                gate="skipped",
                gate_passed=True,
                publication_id=current,
                timings_s=timings,
            )
        else:
            began = perf_counter()
            result = gate_task(resources, run_id, candidates)
            timings["gate"] = round(perf_counter() - began, 3)
            publication = result.publication
            summary = BuildSummary(
                run_id=run_id,
                replay=replay,
                candidates=described,
                gate="passed" if result.passed else "failed",
                gate_passed=result.passed,
                quality_report=result.report_key,
                publication_id=None if publication is None else publication.publication_id,
                timings_s=timings,
            )
            manifest.checks = {
                "passed": result.passed,
                "results": [check.as_json() for check in result.checks],
            }
            if not result.passed:
                manifest.status = RunStatus.GATE_FAILED
        manifest.outputs |= summary.outputs()
    if not summary.gate_passed:
        raise GateFailed(
            f"quality gate failed: nothing published (report: {summary.quality_report})"
        )
    return summary


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
    engine: str | None = None,
) -> PipelineSummary:
    """Ingest, then build, gate and publish (on `engine`, else `UMWI_ENGINE`). A failed
    source is alerted; the build still runs on what is stored, and the pipeline then
    fails naming the source."""
    resources = build_resources(load_settings())
    started = datetime.now(UTC)
    chosen = _engine(engine, resources.settings)
    parameters = _ingest_parameters(start, end, only, force, chunk_days) | {"engine": chosen.value}
    with _flow_run(resources.lake, "pipeline", parameters, started) as manifest:
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
        ingested: IngestSummary | None = None
        if ingest_state.is_completed():
            ingested = ingest_state.result()
        else:
            found = ingest_state.result(raise_on_failure=False)
            ingest_error = found if isinstance(found, BaseException) else IngestFailed(str(found))
            if isinstance(ingest_error, InputError):
                raise ingest_error
        manifest.outputs["ingest"] = None if ingested is None else ingested.outputs()
        ingest_s = (datetime.now(UTC) - started).total_seconds()
        built = build_flow(engine=chosen.value)
        manifest.outputs["build"] = built.model_dump(mode="json")
        total = (datetime.now(UTC) - started).total_seconds()
        manifest.timings_s |= {"ingest": ingest_s, "build": total - ingest_s, "total": total}
        if ingest_error is not None:
            manifest.status = RunStatus.FAILED
            manifest.error = str(ingest_error)
    if ingest_error is not None or ingested is None:
        raise ingest_error or IngestFailed("the ingest flow returned no summary")
    return PipelineSummary(
        run_id=manifest.run_id, ingest=ingested, build=built, timings_s=manifest.timings_s
    )


@flow(name="outlook", log_prints=False)
def outlook_flow(sources: dict[str, Any] | None = None) -> OutlookSummary:
    """Refresh the forecasts, rebuild and publish the outlook alone, and alert per line
    and episode (DESIGN.md §8). Cheap and hourly: no historical gold is rebuilt."""
    from umwi_flows._outlook import outlook_step, refresh_forecasts

    resources = build_resources(load_settings())
    config = _sources(resources.settings, sources)
    with _flow_run(resources.lake, "outlook", {}, datetime.now(UTC)) as manifest:
        began = perf_counter()
        landed = refresh_forecasts(resources, config, manifest.run_id)
        manifest.timings_s["forecast"] = round(perf_counter() - began, 3)
        began = perf_counter()
        outcome = outlook_step(resources, manifest.run_id)
        manifest.timings_s["outlook"] = round(perf_counter() - began, 3)
        summary = OutlookSummary(run_id=manifest.run_id, forecast_hours=landed, outlook=outcome)
        manifest.outputs |= summary.outputs()
        if outcome.get("gate") == "failed":
            manifest.status = RunStatus.GATE_FAILED
    if outcome.get("gate") == "failed":
        raise GateFailed("outlook quality gate failed: the published outlook is unchanged")
    return summary


@flow(name="maintain", log_prints=False)
def maintain_flow(retain_hours: int = 168) -> MaintainSummary:
    """Compact, checkpoint and vacuum the Delta tables; prune unpublished serving copies."""
    resources = build_resources(load_settings())
    parameters = {"retain_hours": retain_hours}
    with _flow_run(resources.lake, "maintain", parameters, datetime.now(UTC)) as manifest:
        summary = MaintainSummary(
            run_id=manifest.run_id, maintenance=maintain_task(resources, retain_hours)
        )
        manifest.outputs |= summary.outputs()
    return summary


FLOWS: dict[str, Flow[..., Any]] = {
    "ingest": ingest_flow,
    "build": build_flow,
    "pipeline": pipeline_flow,
    "maintain": maintain_flow,
    "outlook": outlook_flow,
}

__all__ = [
    "FLOWS",
    "GateFailed",
    "IngestFailed",
    "build_flow",
    "ingest_flow",
    "maintain_flow",
    "outlook_flow",
    "pipeline_flow",
]
