"""`umwi maintain`: compact, checkpoint and vacuum the Delta tables; prune serving copies."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from deltalake import DeltaTable
from umwi_core.contracts import SILVER_TABLES, WEATHER_FORECAST
from umwi_core.lake import Lake
from umwi_core.publication import GOLD_TABLES, read_publication
from umwi_core.settings import Settings

from umwi_transform._delta import log, with_commit_retry
from umwi_transform._gold import CELLS, read_state, write_state
from umwi_transform._outlook_build import follow_compaction
from umwi_transform._reason_codes import code_old_rejections
from umwi_transform.catalog import open_delta

SERVING_PREFIX = "gold/_serving/"


def _age_hours(delta: DeltaTable, version: int) -> float:
    """Hours since `version` was committed."""
    for entry in delta.history():
        if int(entry.get("version", -1)) == version:
            committed = datetime.fromtimestamp(int(entry["timestamp"]) / 1000, UTC)
            return (datetime.now(UTC) - committed).total_seconds() / 3600
    return math.inf


def _maintain_table(
    lake: Lake, layer: str, table: str, retain_hours: int, keep: int | None, *, own_files: bool
) -> dict[str, Any] | None:
    """Compact, checkpoint and vacuum one table.

    `keep` is a version someone still reads: with `own_files` its files (the published
    gold version), otherwise the files added after it (the change feed the next gold build
    reads from silver). Every such file was removed by a commit after `keep`, so keeping
    removals younger than the commit `keep + 1` keeps them.
    """
    delta = open_delta(lake, layer, table)
    if delta is None:
        return None
    before = delta.version()

    def compact() -> dict[str, Any]:
        current = open_delta(lake, layer, table)
        assert current is not None
        return dict(current.optimize.compact())

    metrics = with_commit_retry(f"{layer}/{table}", compact)
    delta = open_delta(lake, layer, table)
    assert delta is not None
    delta.create_checkpoint()
    retention = float(retain_hours)
    if keep is not None and (own_files or keep < before) and keep < delta.version():
        retention = max(retention, math.ceil(_age_hours(delta, keep + 1)) + 1)
    removed: list[str] = []
    if not math.isinf(retention):
        removed = delta.vacuum(
            retention_hours=int(retention), enforce_retention_duration=False, dry_run=False
        )
    delta.cleanup_metadata()
    return {
        "version_before": before,
        "version_after": open_delta(lake, layer, table).version(),  # type: ignore[union-attr]
        "files_compacted": int(metrics.get("numFilesRemoved", 0)),
        "files_vacuumed": len(removed),
        # None: the kept version's age is unknown, so nothing was vacuumed.
        "retention_hours": None if math.isinf(retention) else retention,
    }


def _stamp(publication_id: str) -> str:
    """The creation second inside `pub-20261127T030000Z-1a2b3c4d`."""
    parts = publication_id.split("-")
    return parts[1] if len(parts) > 2 else ""


def _prune_serving(lake: Lake) -> list[str]:
    """Delete serving copies no publication names, made before the current one.

    A publisher reads the pointer before writing its copies, so one whose folder is older
    than the current publication can no longer swap the pointer: its copies are dead.
    Folders from the same second or later may be in flight and stay.
    """
    found = read_publication(lake)
    if found is None:
        return []
    publication = found[0]
    keep = {entry.serving for entry in publication.tables.values()}
    current = _stamp(publication.publication_id)
    removed = []
    for key in list(lake.list(SERVING_PREFIX)):
        folder = key.removeprefix(SERVING_PREFIX).split("/", 1)[0]
        if key not in keep and _stamp(folder) < current:
            lake.delete(key)
            removed.append(key)
    return removed


def maintain(lake: Lake, settings: Settings, *, retain_hours: int = 168) -> dict[str, object]:
    """Compact, checkpoint and vacuum silver, quarantine and gold; prune serving copies.

    First codes the quarantine rows written before `reason_code` existed (their count is
    `reason_codes_filled`), so compaction rewrites them once. Never removes a file that the
    published gold versions or the gold build's next change-feed read still need.
    """
    del settings  # every knob is an argument; the signature is the shared contract
    if retain_hours < 0:
        raise ValueError("retain_hours must be >= 0")
    report: dict[str, object] = {}
    state = read_state(lake)
    publication = read_publication(lake)
    for layer in ("silver", "quarantine"):
        for table in SILVER_TABLES:
            filled = code_old_rejections(lake, table) if layer == "quarantine" else None
            keep = state.silver_versions.get(table) if state and layer == "silver" else None
            done = _maintain_table(lake, layer, table, retain_hours, keep, own_files=False)
            if done is not None:
                if filled is not None:
                    done["reason_codes_filled"] = filled
                report[f"{layer}/{table}"] = done
    # The forecasts take a version an hour (DESIGN.md §8); the outlook reads the latest.
    forecast = _maintain_table(
        lake, "silver", WEATHER_FORECAST.name, retain_hours, None, own_files=False
    )
    compacted: dict[str, tuple[int, int]] = {}
    if forecast is not None:
        report[f"silver/{WEATHER_FORECAST.name}"] = forecast
        compacted[WEATHER_FORECAST.name] = (
            int(forecast["version_before"]),
            int(forecast["version_after"]),
        )
    gold_versions = dict(state.gold_versions) if state else {}
    for table in (*GOLD_TABLES, CELLS):
        entry = publication[0].tables.get(table) if publication else None
        # The correlation cells are never published: the build's own version is kept.
        keep = entry.version if entry else gold_versions.get(table) if table == CELLS else None
        done = _maintain_table(lake, "gold", table, retain_hours, keep, own_files=True)
        if done is None:
            continue
        report[f"gold/{table}"] = done
        compacted[table] = (int(done["version_before"]), int(done["version_after"]))
        # Compaction commits no data change: the build state follows it so the next
        # build does not mistake it for a foreign change and rebuild everything.
        if gold_versions.get(table) == done["version_before"]:
            gold_versions[table] = int(done["version_after"])
    if state is not None and gold_versions != state.gold_versions:
        write_state(lake, state.model_copy(update={"gold_versions": gold_versions}))
    follow_compaction(lake, compacted)
    report["serving_removed"] = _prune_serving(lake)
    log.info("maintain: %s", report)
    return report
