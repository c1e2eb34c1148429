"""How the CLI shows a running flow and its result: a progress bar, result tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import get_args

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from umwi_flows import BuildSummary, IngestSummary, Planned, ProgressEvent, on_progress
from umwi_quality import SUMMARY_COLUMNS, GateResult, Status, summary_rows

from umwi.cli._output import cell, printable, show_table


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[None]:
    """A rich progress bar that advances as the running flow reports windows done."""
    if not enabled:
        yield
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=Console(stderr=True),
        transient=False,
    )
    task = progress.add_task(description, total=None, last="")

    def listen(event: ProgressEvent) -> None:
        if isinstance(event, Planned):
            progress.update(task, total=event.total)
        else:
            last = f"[red]{event.stream} failed" if event.error else event.stream
            progress.update(task, advance=1, last=last)

    with progress, on_progress(listen):
        yield


COUNT_COLUMNS = ("read", "inserted", "replaced", "unchanged", "superseded", "quarantined")


def ingest_table(summary: IngestSummary) -> Table:
    """One row per ingestion run and table: windows done and the record counts."""
    table = Table(title="ingest")
    for name in ("stream", "status", "windows", "skipped", "table", *COUNT_COLUMNS):
        table.add_column(
            name, justify="right" if name not in ("stream", "status", "table") else "left"
        )
    for run in summary.ingest_runs:
        counts: dict[str, dict[str, int]] = {
            name: numbers.model_dump() for name, numbers in run.counts.items()
        } or {"–": {}}
        for name, numbers in counts.items():
            table.add_row(
                cell(run.stream),
                cell(str(run.status)),
                cell(run.windows),
                cell(run.skipped),
                cell(name),
                *(cell(numbers.get(field, "")) for field in COUNT_COLUMNS),
            )
    for stream, reason in summary.failed.items():
        failed = Text("failed", style="red")
        table.add_row(cell(stream), failed, "", "", cell(reason), "", "", "", "", "", "")
    causes = quarantine_causes(summary)
    if causes:
        table.caption = Text(printable("\n".join(causes)))
        table.caption_justify = "left"
    return table


def quarantine_causes(summary: IngestSummary) -> list[str]:
    """One line per run and table with quarantined records, most frequent code first:
    `quarantined <stream> <table>: 6,337 unknown_trip, 12 unknown_stop` (DESIGN.md §3)."""
    lines = []
    for run in summary.ingest_runs:
        for name, numbers in run.counts.items():
            codes = numbers.quarantined_by_code
            if codes:
                ranked = sorted(codes.items(), key=lambda item: (-item[1], item[0]))
                listed = ", ".join(f"{count:,} {code}" for code, count in ranked)
                lines.append(f"quarantined {run.stream} {name}: {listed}")
    return lines


def build_table(summary: BuildSummary) -> Table:
    table = Table(title="gold")
    for name in ("table", "version", "rows", "changed"):
        table.add_column(name)
    for name, candidate in summary.candidates.items():
        table.add_row(
            cell(name),
            cell(candidate.version),
            cell(candidate.rows),
            cell("yes" if candidate.changed else "no"),
        )
    return table


def print_build(console: Console, summary: BuildSummary) -> None:
    show_table(build_table(summary), console)
    if summary.gate == "skipped":
        console.print(
            f"gold unchanged: publication {summary.publication_id} stays current "
            "(quality gate not needed)"
        )
        return
    console.print(
        f"quality gate: {'passed' if summary.gate_passed else 'FAILED'}; "
        f"published: {summary.publication_id or 'nothing'}; "
        f"report: {summary.quality_report}"
    )


QUALITY_STATUSES: tuple[str, ...] = get_args(Status)


def quality_overview(result: GateResult) -> tuple[Table, Table]:
    """What needs a reader's eyes: the checks that did not pass, each in full, and then
    one line per table counting its checks by status (the passes are not listed one by
    one: a gate runs hundreds of checks, and `--all` or `--format json` lists them)."""
    attention = Table(title="checks that did not pass")
    for name in SUMMARY_COLUMNS:
        attention.add_column(name)
    for row in summary_rows(result):  # blocking failures first
        if row["status"] != "passed":
            attention.add_row(*(cell(row[name]) for name in SUMMARY_COLUMNS))
    per_table = Table(title="checks per table")
    per_table.add_column("table")
    for status in QUALITY_STATUSES:
        per_table.add_column(status, justify="right")
    counts: dict[str, dict[str, int]] = {}
    for check in result.checks:
        tally = counts.setdefault(check.table, dict.fromkeys(QUALITY_STATUSES, 0))
        tally[check.status] += 1
    for name in sorted(counts):
        per_table.add_row(cell(name), *(cell(counts[name][status]) for status in QUALITY_STATUSES))
    return attention, per_table


__all__ = [
    "build_table",
    "ingest_table",
    "print_build",
    "progress_bar",
    "quality_overview",
    "quarantine_causes",
]
