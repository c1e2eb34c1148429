"""Outlook alerts (DESIGN.md §8): one alert per line and episode of low expected reliability.

A line's expected reliability over the next N hours (`UMWI_OUTLOOK_ALERT_HOURS`) is the
mean of `expected_reliability_rate` over the published `outlook_hourly` rows of the line
(every location) whose hour is before the forecast's issue hour + N h. Below
`UMWI_OUTLOOK_ALERT_RELIABILITY`, an episode opens: one alert. It stays open, without
further alerts, until a check finds the line at or above the threshold again.

The episode is a ledger window (source `outlook-alert`, window `<network>/<line_id>`), so
the SQLite and DynamoDB ledgers' conditional claims make two concurrent checks send one
alert: `running` = open (claimed with a lease that outlives any forecast), `done` = closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
from umwi_core.alerts import Alert, AlertSink
from umwi_core.contracts import ALL_LINES, OUTLOOK_HOURLY_TABLE
from umwi_core.lake import Lake
from umwi_core.ledger import Ledger, WindowStatus
from umwi_core.publication import read_publication
from umwi_core.settings import Settings

from umwi_transform._publish import read_gold

ALERT_SOURCE = "outlook-alert"
#: An open episode's claim must not lapse while it is open (a lapsed one would re-alert).
EPISODE_LEASE_S = 10 * 365 * 86_400.0


@dataclass
class LineOutlook:
    """One line's next hours: the mean expected reliability over its rows and the worst."""

    total: float
    rows: int
    worst_hour: datetime
    worst_rate: float
    issued_at: datetime

    @property
    def reliability(self) -> float:
        return self.total / self.rows


def line_reliability(outlook: pa.Table, hours: int) -> dict[tuple[str, str], LineOutlook]:
    """Per (network, line_id), `*` left out: its rows in the first `hours` of the forecast."""
    if outlook.num_rows == 0:
        return {}
    anchor = pc.floor_temporal(outlook.column("issued_at"), unit="hour")
    end = pc.add(anchor, pa.scalar(timedelta(hours=hours), pa.duration("us")))
    ahead = outlook.filter(
        pc.and_(
            pc.less(outlook.column("hour"), end),
            pc.and_(
                pc.is_valid(outlook.column("expected_reliability_rate")),
                pc.not_equal(outlook.column("line_id"), ALL_LINES),
            ),
        )
    )
    found: dict[tuple[str, str], LineOutlook] = {}
    for row in ahead.to_pylist():
        key = (row["network"], row["line_id"])
        rate = float(row["expected_reliability_rate"])
        entry = found.get(key)
        if entry is None:
            found[key] = LineOutlook(rate, 1, row["hour"], rate, row["issued_at"])
            continue
        entry.total += rate
        entry.rows += 1
        if rate < entry.worst_rate:
            entry.worst_hour, entry.worst_rate = row["hour"], rate
    return found


def outlook_alerts(
    lake: Lake, settings: Settings, ledger: Ledger, alerts: AlertSink, run_id: str
) -> list[Alert]:
    """Open (and alert) or close each line's episode from the published outlook; returns
    the alerts sent."""
    found = read_publication(lake)
    if found is None or OUTLOOK_HOURLY_TABLE not in found[0].tables:
        return []
    outlook = read_gold(lake, OUTLOOK_HOURLY_TABLE, found[0].tables[OUTLOOK_HOURLY_TABLE].version)
    hours, threshold = settings.outlook_alert_hours, settings.outlook_alert_reliability
    lines = line_reliability(outlook, hours)
    sent: list[Alert] = []
    for (network, line_id), entry in sorted(lines.items()):
        window = f"{network}/{line_id}"
        record = ledger.get(ALERT_SOURCE, window)
        is_open = record is not None and record.status is WindowStatus.RUNNING
        reliability = entry.reliability
        if reliability >= threshold:
            if is_open:
                assert record is not None
                ledger.complete(
                    ALERT_SOURCE,
                    window,
                    record.run_id,
                    {"closed_by": run_id, "reliability": reliability},
                )
            continue
        # The conditional claim is the guard: it fails while an episode is open (held by
        # the run that opened it), so concurrent checks send one alert between them.
        if not ledger.claim(ALERT_SOURCE, window, run_id, lease_s=EPISODE_LEASE_S, force=True):
            continue
        alert = Alert(
            severity="warn",
            title=f"outlook: line {line_id} of {network} expected {reliability:.0%} reliable "
            f"over the next {hours} h",
            summary=f"below the {threshold:.0%} threshold; worst hour "
            f"{entry.worst_hour:%Y-%m-%d %H:%MZ} at {entry.worst_rate:.0%} (forecast issued "
            f"{entry.issued_at:%Y-%m-%d %H:%MZ})",
            run_id=run_id,
            report=None,
            details={
                "network": network,
                "line_id": line_id,
                "expected_reliability": reliability,
                "threshold": threshold,
                "hours": hours,
                "rows": entry.rows,
                "worst_hour": entry.worst_hour.isoformat(),
                "worst_reliability": entry.worst_rate,
                "issued_at": entry.issued_at.isoformat(),
            },
        )
        alerts.send(alert)
        sent.append(alert)
    return sent
