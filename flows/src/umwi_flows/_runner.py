"""Running the flows from the CLI: Prefect set up first, a progress bar, a result table."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from umwi_core.settings import Settings

from umwi_flows import _progress
from umwi_flows._prefect_env import prepare_prefect


def load_flows(settings: Settings, *, verbose: bool = False) -> ModuleType:
    """Import the flows with Prefect's home in the state folder (slow: Prefect loads)."""
    if not verbose:
        # Logs still reach the Prefect server (API handler); the terminal shows progress
        # bars, result tables and one line on failure instead of Prefect's tracebacks.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    prepare_prefect(settings)
    from umwi_flows import _flows

    return _flows


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

    def listen(event: str, details: dict[str, Any]) -> None:
        if event == "planned":
            progress.update(task, total=details["total"])
        elif event == "advanced":
            last = details.get("stream", "")
            if details.get("error"):
                last = f"[red]{last} failed"
            progress.update(task, advance=1, last=last)

    with progress, _progress.listening(listen):
        yield


def ingest_table(summary: dict[str, Any]) -> Table:
    """One row per ingestion run and table: windows done and the record counts."""
    table = Table(title="ingest")
    for name in (
        "stream",
        "status",
        "windows",
        "skipped",
        "table",
        "read",
        "inserted",
        "replaced",
        "unchanged",
        "superseded",
        "quarantined",
    ):
        table.add_column(
            name, justify="right" if name not in ("stream", "status", "table") else "left"
        )
    for run in summary.get("ingest_runs", []):
        counts: dict[str, dict[str, int]] = run["counts"] or {"–": {}}
        for name, numbers in counts.items():
            table.add_row(
                run["stream"],
                run["status"],
                str(run["windows"]),
                str(run["skipped"]),
                name,
                *(
                    str(numbers.get(field, ""))
                    for field in (
                        "read",
                        "inserted",
                        "replaced",
                        "unchanged",
                        "superseded",
                        "quarantined",
                    )
                ),
            )
    for stream, reason in summary.get("failed", {}).items():
        table.add_row(stream, "[red]failed", "", "", reason, "", "", "", "", "", "")
    causes = quarantine_causes(summary)
    if causes:
        table.caption = "\n".join(causes)
        table.caption_justify = "left"
    return table


def quarantine_causes(summary: dict[str, Any]) -> list[str]:
    """One line per run and table with quarantined records, most frequent code first:
    `quarantined <stream> <table>: 6,337 unknown_trip, 12 unknown_stop` (DESIGN.md §3)."""
    lines = []
    for run in summary.get("ingest_runs", []):
        for name, numbers in (run["counts"] or {}).items():
            codes: dict[str, int] = numbers.get("quarantined_by_code") or {}
            if codes:
                ranked = sorted(codes.items(), key=lambda item: (-item[1], item[0]))
                listed = ", ".join(f"{count:,} {code}" for code, count in ranked)
                lines.append(f"quarantined {run['stream']} {name}: {listed}")
    return lines


def build_table(summary: dict[str, Any]) -> Table:
    table = Table(title="gold")
    for name in ("table", "version", "rows", "changed"):
        table.add_column(name)
    for name, candidate in summary.get("candidates", {}).items():
        table.add_row(
            name,
            str(candidate["version"]),
            str(candidate["rows"]),
            "yes" if candidate["changed"] else "no",
        )
    return table


def print_build(console: Console, summary: dict[str, Any]) -> None:
    console.print(build_table(summary))
    if summary.get("gate") == "skipped":
        console.print(
            f"gold unchanged: publication {summary.get('publication_id')} stays current "
            "(quality gate not needed)"
        )
        return
    console.print(
        f"quality gate: {'passed' if summary.get('gate_passed') else 'FAILED'}; "
        f"published: {summary.get('publication_id') or 'nothing'}; "
        f"report: {summary.get('quality_report')}"
    )


__all__ = [
    "build_table",
    "ingest_table",
    "load_flows",
    "print_build",
    "progress_bar",
    "quarantine_causes",
]
