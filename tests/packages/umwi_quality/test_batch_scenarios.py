"""The batch checks where one source carries several feeds, end to end: a file of ten
networks through `umwi ingest file` and `umwi build`, and two GTFS-RT cities on one lake
through the real transform and the scoped gate."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from umwi_core.alerts import FileAlertSink
from umwi_core.lake import Lake
from umwi_core.publication import read_publication
from umwi_core.resources import make_lake
from umwi_core.settings import Settings
from umwi_quality import run_gate
from umwi_transform import build_gold, commit_batch

from tests.packages.umwi_cli.in_process import run_cli, use_settings
from tests.packages.umwi_quality.factory import gate_clock
from tests.packages.umwi_transform.factory import departure, departures_batch

pytestmark = pytest.mark.slow

COLUMNS = ["network", "line_id", "line_name", "mode", "stop_id", "stop_name", "trip_id",
           "scheduled_at", "delay_s", "cancelled", "stop_lat", "stop_lon"]  # fmt: skip


def _write_departures(path: Path, days: list[date], networks: list[str], per_day: int) -> Path:
    """`per_day` departures of each network on each day, as `umwi ingest file` reads them."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for day in days:
            start = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
            for network in networks:
                for i in range(per_day):
                    when = start + timedelta(minutes=20 * i)
                    out.writerow([network, "L1", "Line 1", "bus", "s1", "S1",
                                  f"{network}-{day}-{i}", when.isoformat(), 30, "false",
                                  48.85, 2.35])  # fmt: skip
    return path


def _check(lake: Lake, report: str, name: str) -> dict[str, Any]:
    found = json.loads(lake.read_bytes(report))["checks"]
    (check,) = [c for c in found if (c["check"], c["table"]) == (name, "silver_departures")]
    return dict(check)


@pytest.mark.usefixtures("prefect_server")
def test_an_ordinary_day_of_one_of_ten_networks_in_a_file_is_published(
    tmp_path: Path, fast_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten networks imported through `umwi ingest file` (one source, `file`); later a file
    with one ordinary day of one network. Its day is a tenth of the source's usual day,
    and the network's usual day: the build publishes.

    Mutation: group the volume query's `daily` and `batch` by source only (`{group}` ->
    `''`): the build exits 1 and publishes nothing."""
    use_settings(fast_settings, monkeypatch)
    today = datetime.now(UTC).date()
    networks = [f"net-{n}" for n in range(10)]
    history = [today - timedelta(days=back) for back in range(20, 5, -1)]
    first = _write_departures(tmp_path / "ten.csv", history, networks, per_day=6)
    assert run_cli(monkeypatch, "ingest", "file", "--departures", str(first)) == 0
    assert run_cli(monkeypatch, "build") == 0
    lake = make_lake(fast_settings)
    published = read_publication(lake)
    assert published is not None

    day = _write_departures(tmp_path / "one.csv", [today - timedelta(days=5)], ["net-4"], 6)
    assert run_cli(monkeypatch, "ingest", "file", "--departures", str(day)) == 0
    assert run_cli(monkeypatch, "build") == 0

    again = read_publication(lake)
    assert again is not None
    assert again[0].publication_id != published[0].publication_id
    assert again[0].quality_report is not None
    volume = _check(lake, again[0].quality_report, "volume (file)")
    assert volume["status"] == "passed"
    assert volume["observed"].startswith("6 rows of network net-4 on ")
    assert json.loads(lake.read_bytes(again[0].quality_report))["rows"]["silver_departures"] == 6


def _city(network: str, days: range, per_day: int, delay: int) -> list[dict[str, Any]]:
    base = datetime(2026, 3, 2, 5, tzinfo=UTC)
    return [
        departure(
            trip=f"{network}-{day}-{i}",
            network=network,
            scheduled=base + timedelta(days=day, minutes=5 * i),
            delay=delay + i % 7,
        )
        for day in days
        for i in range(per_day)
    ]


def test_the_smaller_of_two_gtfs_rt_cities_does_not_trip_the_gate(
    lake: Lake, settings: Settings
) -> None:
    """Two GTFS-RT cities (source `gtfs_rt`) on one lake: a big one with short delays and a
    small one with long ones. A run of the small city alone is a twentieth of the source's
    usual day, and its delays are far from the big city's: against its own history, the
    scoped gate passes without a warning from volume or drift.

    Mutation: drop `AND h.network = b.network` from the drift query, or group the volume
    query by source only: red."""
    sink = FileAlertSink(settings.state_dir / "alerts.jsonl")
    past = _city("big", range(14), 200, delay=60) + _city("small", range(14), 10, delay=400)
    commit_batch(departures_batch(past, source="gtfs_rt"), lake, settings, "run-cities")
    first = run_gate(lake, settings, "g1", build_gold(lake, settings, "b1"), sink, now=gate_clock())
    assert first.passed, first.blocking

    run = _city("small", range(14, 15), 10, delay=400)
    commit_batch(departures_batch(run, source="gtfs_rt"), lake, settings, "run-small")
    candidates = build_gold(lake, settings, "b2")
    result = run_gate(lake, settings, "g2", candidates, sink, now=gate_clock())

    assert result.passed, result.blocking
    assert result.publication is not None
    checks = {c.check: c for c in result.checks if c.engine == "batch"}
    assert checks["volume (gtfs_rt)"].status == "passed"
    assert checks["volume (gtfs_rt)"].observed.endswith("vs its median 10")
    assert checks["delay_s drift (gtfs_rt)"].status == "passed"
    assert checks["delay_s drift (gtfs_rt)"].details["shift_s_by_network"] == {"small": 0.0}
    # The gate judged only what the small city's run changed.
    rows = json.loads(lake.read_bytes(result.report_key))["rows"]
    assert rows["gold_punctuality_hourly"] < candidates["punctuality_hourly"].rows
