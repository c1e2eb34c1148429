"""Batch-level checks that row-level quarantine cannot see, as SQL inside DuckDB.

Each judges the batch (the silver rows since the last publication) per source, and within
a source per feed (`GROUPS`: the network of a departure, the location of a weather hour):
one source may carry many networks (a file of ten; two GTFS-RT cities), a batch may hold
any subset of them, and each must be compared with its own history, not the pool's.
Volume against the feed's recent days, freshness from the end of the ingest run's window,
quarantine share against the source's expected share, and the drift of delay_s (a warning
by default: bad weather legitimately moves delays, and those days are the point). One
result per (table, source) names its worst feed; `details` has every feed's figures.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
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
#: The column whose values are a source's separate feeds, and what to call one.
GROUPS = {"departures": ("network", "network"), "weather_hourly": ("location_id", "location")}
#: The UTC day number of a timestamp. `epoch` is a DOUBLE, on which DuckDB's `//` divides
#: exactly and the cast then rounds: days would turn at noon.
_DAY = "CAST(floor(epoch({ts}) / 86400) AS BIGINT)"


def _day(number: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=number)).isoformat()


def _severity(value: str) -> Severity:
    return "error" if value == "error" else "warn"


def volume_checks(workspace: Workspace, settings: Settings, now: datetime) -> list[CheckResult]:
    """Rows per (source, feed, complete UTC day) of the batch against the median of the
    same feed's previous `quality_volume_history_days` days; a feed without history is
    left out (skipped when no feed of the source has any). A feed absent from the batch
    is not judged: a file may carry any subset of a source's networks."""
    results: list[CheckResult] = []
    floor = 1 - settings.quality_volume_drop_pct / 100
    today = int(now.timestamp() // 86_400)
    days = settings.quality_volume_history_days
    threshold = f">= {floor:.0%} of the feed's median of the previous {days} days"
    for table, (column, _) in EVENT_TIME.items():
        group, label = GROUPS[table]
        day = _DAY.format(ts=column)
        rows = workspace.sql(
            f"""
            WITH daily AS (
                SELECT source, {group} AS feed, {day} AS day, count(*) AS n
                FROM silver_{table}_all GROUP BY ALL),
            batch AS (
                SELECT DISTINCT source, {group} AS feed, {day} AS day FROM silver_{table}
                WHERE {day} < {today})
            SELECT b.source, b.feed, b.day, d.n, median(h.n) AS baseline
            FROM batch b JOIN daily d USING (source, feed, day)
            LEFT JOIN daily h ON h.source = b.source AND h.feed = b.feed
                AND h.day < b.day AND h.day >= b.day - {days}
            GROUP BY b.source, b.feed, b.day, d.n
            ORDER BY b.source, b.feed, b.day
            """
        )
        by_source: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            by_source[str(row[0])].append(row)
        for source, found in sorted(by_source.items()):
            judged = [row for row in found if row[4] is not None]
            unjudged = sorted({str(row[1]) for row in found} - {str(row[1]) for row in judged})
            base = CheckResult(
                check=f"volume ({source})",
                table=f"silver_{table}",
                engine="batch",
                severity=_severity(settings.quality_volume_severity),
                status="skipped",
                threshold=threshold,
            )
            if unjudged:
                log.warning(
                    "volume check of %s/%s: no history yet for %s %s",
                    table,
                    source,
                    label,
                    ", ".join(unjudged),
                )
            if not judged:
                results.append(_with(base, message=f"no history of this source's {label}s yet"))
                continue
            low = [row for row in judged if row[3] < row[4] * floor]
            worst = min(judged, key=lambda row: row[3] / row[4])
            by_feed: dict[str, dict[str, list[Any]]] = defaultdict(dict)
            for row in judged:
                by_feed[str(row[1])][_day(row[2])] = [row[3], row[4]]
            results.append(
                _with(
                    base,
                    status="failed" if low else "passed",
                    observed=f"{worst[3]} rows of {label} {worst[1]} on {_day(worst[2])} "
                    f"vs its median {worst[4]:g}",
                    message=", ".join(f"{label} {r[1]} {_day(r[2])}: {r[3]} rows" for r in low),
                    details={f"days_by_{label}": dict(by_feed), "no_history": unjudged},
                )
            )
    return results


def _with(base: CheckResult, **changes: Any) -> CheckResult:
    return CheckResult(**{**base.as_json(), **changes})


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
    """Hours between the end of each ingest run's window and the newest record of each
    feed it brought; the worst feed per source is reported.

    Measured from the window, not from now, so a backfill of last year is not stale;
    a run without day windows (a file, a poll) uses when the source stated its data.
    Per feed, because one run's newest record of a busy network hides a stopped one.
    """
    results: list[CheckResult] = []
    limit = settings.quality_freshness_max_h
    for table, (column, period_s) in EVENT_TIME.items():
        group, label = GROUPS[table]
        rows = workspace.sql(
            f"SELECT source, {group}, run_id, max({column}), max(as_of) FROM silver_{table} "
            "GROUP BY ALL ORDER BY ALL"
        )
        ends: dict[str, datetime | None] = {}
        lags: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)
        for source, feed, run_id, newest, as_of in rows:
            if str(run_id) not in ends:
                ends[str(run_id)] = _window_end(lake, str(run_id))
            end = ends[str(run_id)] or as_of
            lag_h = (end - (newest + timedelta(seconds=period_s))).total_seconds() / 3_600
            feeds = lags[str(source)]
            if str(feed) not in feeds or lag_h > feeds[str(feed)][0]:
                feeds[str(feed)] = (lag_h, str(run_id))
        for source, feeds in sorted(lags.items()):
            feed, (lag_h, run_id) = max(feeds.items(), key=lambda item: item[1][0])
            results.append(
                CheckResult(
                    check=f"freshness ({source})",
                    table=f"silver_{table}",
                    engine="batch",
                    severity=_severity(settings.quality_freshness_severity),
                    status="failed" if lag_h > limit else "passed",
                    observed=f"{lag_h:.1f} h ({label} {feed})",
                    threshold=f"<= {limit:g} h after the run's window end",
                    details={
                        "run_id": run_id,
                        "lag_h": round(lag_h, 3),
                        f"lag_h_by_{label}": {f: round(lag, 3) for f, (lag, _) in feeds.items()},
                    },
                )
            )
    return results


#: How a departure rejected before its network was known is named among the networks.
NO_NETWORK = "(no network)"


def quarantine_checks(workspace: Workspace, settings: Settings) -> list[CheckResult]:
    """Quarantined share of each (source, network) of the departures batch, and of each
    source of the weather batch, against the source's expected share, with the rejects
    counted per `reason_code` (DESIGN.md §3); the worst network is reported.

    Pooled per source, a broken small feed would hide behind a big one. A rejected
    weather hour keeps no location, and a departure rejected for lacking its network
    has none: those are judged as a share of the whole source's batch.
    """
    results: list[CheckResult] = []
    for table in EVENT_TIME:
        # '' stands for no feed, so that kept and rejected rows without one meet in the join.
        feed = "network" if table == "departures" else "''"
        rejected_feed = (
            "coalesce(network, '')"
            if table == "departures" and _has(workspace, f"quarantine_{table}", "network")
            else "''"
        )
        rows = workspace.sql(
            f"""
            WITH kept AS (SELECT source, {feed} AS feed, count(*) AS n
                          FROM silver_{table} GROUP BY ALL),
                 rejected AS (SELECT source, {rejected_feed} AS feed, count(*) AS n
                              FROM quarantine_{table} GROUP BY ALL)
            SELECT source, feed, coalesce(kept.n, 0), coalesce(rejected.n, 0)
            FROM kept FULL JOIN rejected USING (source, feed) ORDER BY source, feed
            """
        )
        causes = _causes(workspace, table, rejected_feed)
        by_source: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            by_source[str(row[0])].append(row)
        for source, found in sorted(by_source.items()):
            total = sum(kept + rejected for _, _, kept, rejected in found)
            expected = settings.expected_quarantine_share(source)
            shares: dict[str, tuple[float, int, int]] = {}
            for _, name, kept, rejected in found:
                name = str(name)
                # With no feed to pool by (weather; no network), the source's batch is the whole.
                whole = kept + rejected if name else total
                shares[name] = (rejected / whole if whole else 0.0, rejected, whole)
            worst = max(shares, key=lambda name: shares[name][0])
            share, rejected, whole = shares[worst]
            listed = ", ".join(
                f"{count:,} {code}" for code, count in causes.get((source, worst), {}).items()
            )
            pooled: Counter[str] = Counter()
            for name in shares:
                pooled.update(causes.get((source, name), {}))
            by_code = dict(sorted(pooled.items(), key=lambda item: (-item[1], item[0])))
            where = "" if table != "departures" else f" of network {worst or NO_NETWORK}"
            results.append(
                CheckResult(
                    check=f"quarantine share ({source})",
                    table=f"silver_{table}",
                    engine="batch",
                    severity=_severity(settings.quality_quarantine_severity),
                    status="failed" if share > expected else "passed",
                    observed=f"{share:.1%} ({rejected} of {whole}){where}"
                    + (f": {listed}" if listed else ""),
                    threshold=f"<= {expected:.1%}",
                    details={
                        "kept": sum(row[2] for row in found),
                        "quarantined": sum(row[3] for row in found),
                        "share": share,
                        "by_reason_code": by_code,
                        "share_by_network": {
                            name or NO_NETWORK: round(value[0], 6) for name, value in shares.items()
                        }
                        if table == "departures"
                        else {},
                    },
                )
            )
    return results


#: How rows quarantined before codes existed are counted until `umwi maintain` codes them.
UNCODED = "uncoded"


def _has(workspace: Workspace, view: str, column: str) -> bool:
    return column in {name for name, _ in workspace.columns(view)}


def _causes(workspace: Workspace, table: str, feed: str) -> dict[tuple[str, str], dict[str, int]]:
    """Per (source, feed), the batch's quarantined records per reason code, most
    frequent first."""
    code = "reason_code" if _has(workspace, f"quarantine_{table}", "reason_code") else "NULL"
    found: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for source, name, reason_code, count in workspace.sql(
        f"SELECT source, {feed}, coalesce({code}, '{UNCODED}'), count(*) "
        f"FROM quarantine_{table} GROUP BY ALL ORDER BY 1, 2, 4 DESC, 3"
    ):
        found[(str(source), str(name))][str(reason_code)] = int(count)
    return found


def drift_checks(workspace: Workspace, settings: Settings) -> list[CheckResult]:
    """Median delay_s of each (source, network) of the batch against the same network's
    median over its previous days; the largest shift per source is reported. Pooled per
    source, two cities with different usual delays would drift on every run of one."""
    days = settings.quality_volume_history_days
    limit = settings.quality_drift_max_shift_s
    day = _DAY.format(ts="scheduled_at")
    rows = workspace.sql(
        f"""
        WITH batch AS (
            SELECT source, network, median(delay_s) AS median, min({day}) AS first,
                count(*) AS n
            FROM silver_departures WHERE NOT cancelled GROUP BY ALL)
        SELECT b.source, b.network, b.median, b.n, median(h.delay_s)
        FROM batch b LEFT JOIN silver_departures_all h
            ON h.source = b.source AND h.network = b.network AND NOT h.cancelled
            AND {day.replace("scheduled_at", "h.scheduled_at")} < b.first
            AND {day.replace("scheduled_at", "h.scheduled_at")} >= b.first - {days}
        GROUP BY b.source, b.network, b.median, b.n
        ORDER BY b.source, b.network
        """
    )
    by_source: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_source[str(row[0])].append(row)
    results: list[CheckResult] = []
    for source, found in sorted(by_source.items()):
        base = CheckResult(
            check=f"delay_s drift ({source})",
            table="silver_departures",
            engine="batch",
            severity=_severity(settings.quality_drift_severity),
            status="skipped",
            threshold=f"|median shift| <= {limit:g} s",
        )
        judged = [row for row in found if row[2] is not None and row[4] is not None]
        if not judged:
            results.append(_with(base, message="no history of this source's networks yet"))
            continue
        shifts = {str(row[1]): float(row[2]) - float(row[4]) for row in judged}
        _, network, median, count, history = max(judged, key=lambda row: abs(shifts[str(row[1])]))
        shift = shifts[str(network)]
        results.append(
            _with(
                base,
                status="failed" if abs(shift) > limit else "passed",
                observed=f"{shift:+.0f} s (median {float(median):g} s of {count}, "
                f"network {network})",
                details={
                    "batch_median_s": median,
                    "history_median_s": history,
                    "shift_s_by_network": shifts,
                    "no_history": sorted({str(r[1]) for r in found} - set(shifts)),
                },
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
