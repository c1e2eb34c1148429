"""Ingest one source job over a range: claim its windows, fetch, commit, record.

Plain functions (no Prefect), so the flows stay thin and the logic is tested directly.
Each call is one ingestion run with its own run id and manifest; windows are completed in
the ledger only after their batches are committed, so a crash leaves them to be resumed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from time import perf_counter

from umwi_connectors import Batches, SourceJob, Span
from umwi_core.arrow import StagedBatch
from umwi_core.days import day_spans
from umwi_core.failpoints import failpoint
from umwi_core.lake import Lake
from umwi_core.ledger import Ledger
from umwi_core.redact import redact
from umwi_core.runs import RunStatus, TableCounts, new_run_id, recorded_run
from umwi_core.settings import Settings

from umwi_flows._results import IngestRunSummary
from umwi_flows._windows import DEFAULT_LEASE_S, claim, complete_at, job_windows

log = logging.getLogger("umwi.flows")


@dataclass
class IngestOutcome:
    """What one ingestion run did; small and JSON-ready (no data)."""

    run_id: str
    source: str
    stream: str
    status: RunStatus  # done, skipped (nothing to do) or failed
    windows: list[str] = field(default_factory=list)
    open_windows: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    held_by_others: list[str] = field(default_factory=list)
    counts: dict[str, TableCounts] = field(default_factory=dict)
    error: str | None = None

    def summary(self) -> IngestRunSummary:
        return IngestRunSummary(
            run_id=self.run_id,
            stream=self.stream,
            status=self.status,
            windows=len(self.windows),
            skipped=len(self.skipped),
            held_by_others=len(self.held_by_others),
            counts=self.counts,
        )


def _drain(batches: Batches, each: Callable[[StagedBatch], None]) -> None:
    """Feed every batch to `each`, from a plain or an async iterator."""
    if not isinstance(batches, AsyncIterable):
        for batch in batches:
            each(batch)
        return

    async def consume(items: AsyncIterable[StagedBatch]) -> None:
        async for batch in items:
            # Committing blocks; off the loop, the connector's requests keep flowing.
            await asyncio.to_thread(each, batch)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(consume(batches))
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, consume(batches)).result()


def _spans(job: SourceJob, windows: list[str], max_days: int) -> list[Span]:
    if not job.by_day:
        return [Span(windows=(window,)) for window in windows]
    days = [date.fromisoformat(window) for window in windows]
    return [
        Span(
            windows=tuple(day.isoformat() for day in sorted(days) if first <= day < end),
            start=first,
            end=end,
        )
        for first, end in day_spans(days, max_days)
    ]


def ingest_job(
    job: SourceJob,
    settings: Settings,
    lake: Lake,
    ledger: Ledger,
    *,
    start: date | None = None,
    end: date | None = None,
    force: bool = False,
    max_days: int = 31,
    lease_s: float = DEFAULT_LEASE_S,
    now: datetime | None = None,
) -> IngestOutcome:
    """Ingest the job's windows in [start, end) that are not done yet (all with `force`).

    Raises what the connector or the commit raised, after marking the run's windows
    failed and writing the failed manifest; windows another live run holds are left.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    run_id = new_run_id(moment)
    wanted = job_windows(job, start, end, moment)
    claims = claim(ledger, job.stream, wanted, run_id, force=force, lease_s=lease_s)
    outcome = IngestOutcome(
        run_id=run_id,
        source=job.source,
        stream=job.stream,
        status=RunStatus.SKIPPED,
        skipped=claims.done_already,
        held_by_others=claims.held_by_others,
    )
    if not claims.taken:
        log.info(
            "%s: nothing to do (%d windows done, %d held by other runs)",
            job.stream,
            len(claims.done_already),
            len(claims.held_by_others),
        )
        return outcome

    from umwi_transform import SilverLoader

    parameters = {**job.parameters(), "stream": job.stream, "windows": claims.taken, "force": force}
    with recorded_run(
        lake, "ingest", run_id=run_id, started_at=moment, source=job.source, parameters=parameters
    ) as manifest:
        began = perf_counter()
        try:
            for span in _spans(job, claims.taken, max_days):
                with SilverLoader(lake, settings, run_id) as loader:

                    def each(batch: StagedBatch, span: Span = span) -> None:
                        loader.add(batch)
                        manifest.inputs.extend(
                            key for key in batch.inputs if key not in manifest.inputs
                        )
                        for window in span.windows:
                            ledger.renew(job.stream, window, run_id, lease_s=lease_s)

                    _drain(job.fetch(settings, lake, run_id, span), each)
                    # The span's batches are committed together: one dedup, time-ordered MERGEs.
                    for table, counts in loader.finish().items():
                        previous = outcome.counts.get(table, TableCounts())
                        outcome.counts[table] = previous + counts
                failpoint("silver.committed")
                for window in span.windows:
                    closes = complete_at(job, window)
                    if closes is not None and closes > moment:
                        # The day is not over: what arrived is stored, the rest comes later.
                        ledger.fail(job.stream, window, run_id, "open: the day is not over yet")
                        outcome.open_windows.append(window)
                    else:
                        ledger.complete(
                            job.stream,
                            window,
                            run_id,
                            {"counts": {t: c.model_dump() for t, c in outcome.counts.items()}},
                        )
                    outcome.windows.append(window)
        except BaseException as error:
            reason = redact(
                f"{type(error).__name__}: {error}", settings.secret_values()
            ).splitlines()[0]
            for window in claims.taken:
                if window not in outcome.windows:
                    ledger.fail(job.stream, window, run_id, reason)
            outcome.status = RunStatus.FAILED
            outcome.error = manifest.error = reason
            raise
        else:
            outcome.status = RunStatus.DONE
        finally:
            manifest.status = outcome.status
            manifest.counts = outcome.counts
            manifest.timings_s["ingest"] = round(perf_counter() - began, 3)
            manifest.outputs = {"windows": outcome.windows, "open_windows": outcome.open_windows}
    return outcome


__all__ = ["IngestOutcome", "ingest_job"]
