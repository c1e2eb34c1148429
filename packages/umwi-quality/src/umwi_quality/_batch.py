"""Batch-level checks that row-level quarantine cannot see, as SQL inside DuckDB.

Each judges the batch (the silver rows since the last publication) per source: volume
against the same source's recent days, freshness from the end of the ingest run's window,
quarantine share against the source's expected share, and the drift of delay_s (a warning
by default: bad weather legitimately moves delays, and those days are the point).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from umwi_core.lake import Lake
from umwi_core.runs import read_manifest
from umwi_core.settings import Settings

from umwi_quality._model import CheckResult, Severity
from umwi_quality._workspace import Workspace

log = logging.getLogger("umwi.quality")

#: The event time of each silver table and how long one record's period lasts.
EVENT_TIME = {"departures": ("scheduled_at", 0), "weather_hourly": ("hour", 3_600)}
_DAY = "CAST(epoch({ts}) // 86400 AS BIGINT)"


def _day(number: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=number)).isoformat()


def _severity(value: str) -> Severity:
    return "error" if value == "error" else "warn"


def volume_checks(workspace: Workspace, settings: Settings, now: datetime) -> list[CheckResult]:
    """Rows per (source, complete UTC day) of the batch against the median of the same
    source's previous `quality_volume_history_days` days; skipped without history."""
    results: list[CheckResult] = []
    floor = 1 - settings.quality_volume_drop_pct / 100
    today = int(now.timestamp() // 86_400)
    days = settings.quality_volume_history_days
    for table, (column, _) in EVENT_TIME.items():
        day = _DAY.format(ts=column)
        rows = workspace.sql(
            f"""
            WITH daily AS (
                SELECT source, {day} AS day, count(*) AS n
                FROM silver_{table}_all GROUP BY ALL),
            batch AS (
                SELECT DISTINCT source, {day} AS day FROM silver_{table}
                WHERE {day} < {today})
            SELECT b.source, b.day, d.n,
                (SELECT median(h.n) FROM daily h WHERE h.source = b.source
                    AND h.day < b.day AND h.day >= b.day - {days}) AS baseline,
                (SELECT count(*) FROM daily h WHERE h.source = b.source
                    AND h.day < b.day AND h.day >= b.day - {days}) AS history
            FROM batch b JOIN daily d USING (source, day)
            ORDER BY b.source, b.day
            """
        )
        by_source: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_source.setdefault(str(row[0]), []).append(row)
        for source, found in sorted(by_source.items()):
            judged = [row for row in found if row[4] > 0 and row[3]]
            threshold = f">= {floor:.0%} of the median of the previous {days} days"
            if not judged:
                log.warning("volume check of %s/%s skipped: no history yet", table, source)
                results.append(
                    CheckResult(
                        check=f"volume ({source})",
                        table=f"silver_{table}",
                        engine="batch",
                        severity=_severity(settings.quality_volume_severity),
                        status="skipped",
                        threshold=threshold,
                        message="no history of this source yet",
                    )
                )
                continue
            low = [row for row in judged if row[2] < row[3] * floor]
            worst = min(judged, key=lambda row: row[2] / row[3])
            results.append(
                CheckResult(
                    check=f"volume ({source})",
                    table=f"silver_{table}",
                    engine="batch",
                    severity=_severity(settings.quality_volume_severity),
                    status="failed" if low else "passed",
                    observed=f"{worst[2]} rows on {_day(worst[1])} vs median {worst[3]:g}",
                    threshold=threshold,
                    message=", ".join(f"{_day(row[1])}: {row[2]} rows" for row in low),
                    details={"days": {_day(row[1]): [row[2], row[3]] for row in judged}},
                )
            )
    return results


def _window_end(lake: Lake, run_id: str) -> datetime | None:
    """The end of the ingest run's day windows (capped at when it ran), if it had any."""
    try:
        manifest = read_manifest(lake, run_id)
    except (FileNotFoundError, ValueError):
        return None
    days: list[date] = []
    for window in manifest.parameters.get("windows") or []:
        try:
            days.append(date.fromisoformat(str(window)))
        except ValueError:
            continue
    if not days:
        return None
    end = datetime.combine(max(days) + timedelta(days=1), time(), UTC)
    return min(end, manifest.started_at)


def freshness_checks(workspace: Workspace, lake: Lake, settings: Settings) -> list[CheckResult]:
    """Hours between the end of each ingest run's window and its newest record.

    Measured from the window, not from now, so a backfill of last year is not stale;
    a run without day windows (a file, a poll) uses when the source stated its data.
    """
    results: list[CheckResult] = []
    limit = settings.quality_freshness_max_h
    for table, (column, period_s) in EVENT_TIME.items():
        rows = workspace.sql(
            f"SELECT source, run_id, max({column}), max(as_of) FROM silver_{table} "
            "GROUP BY ALL ORDER BY ALL"
        )
        worst: dict[str, tuple[float, str]] = {}
        for source, run_id, newest, as_of in rows:
            end = _window_end(lake, str(run_id)) or as_of
            lag_h = (end - (newest + timedelta(seconds=period_s))).total_seconds() / 3_600
            if str(source) not in worst or lag_h > worst[str(source)][0]:
                worst[str(source)] = (lag_h, str(run_id))
        for source, (lag_h, run_id) in sorted(worst.items()):
            results.append(
                CheckResult(
                    check=f"freshness ({source})",
                    table=f"silver_{table}",
                    engine="batch",
                    severity=_severity(settings.quality_freshness_severity),
                    status="failed" if lag_h > limit else "passed",
                    observed=f"{lag_h:.1f} h",
                    threshold=f"<= {limit:g} h after the run's window end",
                    details={"run_id": run_id, "lag_h": round(lag_h, 3)},
                )
            )
    return results


def quarantine_checks(workspace: Workspace, settings: Settings) -> list[CheckResult]:
    """Quarantined share of each source's batch against its expected share, with the
    quarantined records counted per `reason_code` (DESIGN.md §3)."""
    results: list[CheckResult] = []
    for table in EVENT_TIME:
        rows = workspace.sql(
            f"""
            WITH kept AS (SELECT source, count(*) AS n FROM silver_{table} GROUP BY ALL),
                 rejected AS (SELECT source, count(*) AS n FROM quarantine_{table} GROUP BY ALL)
            SELECT source, coalesce(kept.n, 0), coalesce(rejected.n, 0)
            FROM kept FULL JOIN rejected USING (source) ORDER BY source
            """
        )
        causes = _causes(workspace, table)
        for source, kept, rejected in rows:
            share = rejected / (kept + rejected) if kept + rejected else 0.0
            expected = settings.expected_quarantine_share(str(source))
            by_code = causes.get(str(source), {})
            listed = ", ".join(f"{count:,} {code}" for code, count in by_code.items())
            results.append(
                CheckResult(
                    check=f"quarantine share ({source})",
                    table=f"silver_{table}",
                    engine="batch",
                    severity=_severity(settings.quality_quarantine_severity),
                    status="failed" if share > expected else "passed",
                    observed=f"{share:.1%} ({rejected} of {kept + rejected})"
                    + (f": {listed}" if listed else ""),
                    threshold=f"<= {expected:.1%}",
                    details={
                        "kept": kept,
                        "quarantined": rejected,
                        "share": share,
                        "by_reason_code": by_code,
                    },
                )
            )
    return results


#: How rows quarantined before codes existed are counted until `umwi maintain` codes them.
UNCODED = "uncoded"


def _causes(workspace: Workspace, table: str) -> dict[str, dict[str, int]]:
    """Per source, the batch's quarantined records per reason code, most frequent first."""
    names = {name for name, _ in workspace.columns(f"quarantine_{table}")}
    code = "reason_code" if "reason_code" in names else "NULL"
    found: dict[str, dict[str, int]] = {}
    for source, reason_code, count in workspace.sql(
        f"SELECT source, coalesce({code}, '{UNCODED}'), count(*) FROM quarantine_{table} "
        "GROUP BY ALL ORDER BY 1, 3 DESC, 2"
    ):
        found.setdefault(str(source), {})[str(reason_code)] = int(count)
    return found


def drift_checks(workspace: Workspace, settings: Settings) -> list[CheckResult]:
    """Median delay_s of each source's batch against its previous days' median."""
    days = settings.quality_volume_history_days
    limit = settings.quality_drift_max_shift_s
    day = _DAY.format(ts="scheduled_at")
    rows = workspace.sql(
        f"""
        WITH batch AS (
            SELECT source, median(delay_s) AS median, min({day}) AS first, count(*) AS n
            FROM silver_departures WHERE NOT cancelled GROUP BY ALL)
        SELECT b.source, b.median, b.n,
            (SELECT median(h.delay_s) FROM silver_departures_all h
                WHERE h.source = b.source AND NOT h.cancelled
                AND {day.replace("scheduled_at", "h.scheduled_at")} < b.first
                AND {day.replace("scheduled_at", "h.scheduled_at")} >= b.first - {days})
        FROM batch b ORDER BY b.source
        """
    )
    results: list[CheckResult] = []
    for source, median, count, history in rows:
        base = CheckResult(
            check=f"delay_s drift ({source})",
            table="silver_departures",
            engine="batch",
            severity=_severity(settings.quality_drift_severity),
            status="skipped",
            threshold=f"|median shift| <= {limit:g} s",
        )
        if history is None or median is None:
            results.append(
                CheckResult(**{**base.as_json(), "message": "no history of this source yet"})
            )
            continue
        shift = float(median) - float(history)
        results.append(
            CheckResult(
                **{
                    **base.as_json(),
                    "status": "failed" if abs(shift) > limit else "passed",
                    "observed": f"{shift:+.0f} s (median {float(median):g} s of {count})",
                    "details": {"batch_median_s": median, "history_median_s": history},
                }
            )
        )
    return results


def batch_checks(
    workspace: Workspace, lake: Lake, settings: Settings, now: datetime
) -> list[CheckResult]:
    return [
        *volume_checks(workspace, settings, now),
        *freshness_checks(workspace, lake, settings),
        *quarantine_checks(workspace, settings),
        *drift_checks(workspace, settings),
    ]
