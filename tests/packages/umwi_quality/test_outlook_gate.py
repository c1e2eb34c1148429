"""The outlook's own gate: the forecast's and `outlook_hourly`'s checks, publication of
the outlook alone, every other published table carried over (DESIGN.md §8)."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest
from deltalake import write_deltalake
from umwi_core.alerts import FileAlertSink
from umwi_core.lake import Lake
from umwi_core.publication import read_publication
from umwi_core.settings import Settings
from umwi_quality import run_gate, run_outlook_gate
from umwi_transform import build_outlook, land_forecast, read_gold
from umwi_transform._delta import delta_uri
from umwi_transform._gold import GoldCandidate

from tests.packages.umwi_quality.factory import fill, gate_clock
from tests.packages.umwi_transform.factory import at, forecast_table

pytestmark = pytest.mark.slow

WEEK = 24 * 7


def test_the_outlook_publishes_alone_and_a_bad_one_is_blocked(
    lake: Lake, settings: Settings
) -> None:
    """Mutation: make `publish_gold` drop the tables without a candidate instead of
    carrying their entries over → the history disappears from the publication: red."""
    sink = FileAlertSink(settings.state_dir / "alerts.jsonl")
    first = run_gate(lake, settings, "g1", fill(lake, settings), sink, now=gate_clock())
    assert first.publication is not None
    issued = at(hours=WEEK - 1)
    hours = [(at(hours=WEEK + h), 0.0) for h in range(4)]
    land_forecast(lake, forecast_table(issued, hours), "f1")
    candidates = build_outlook(lake, settings, "o1")
    assert candidates["outlook_hourly"].changed
    passed = run_outlook_gate(lake, settings, "o1", candidates, sink, now=gate_clock())
    assert passed.passed, passed.blocking
    assert {c.table for c in passed.checks} == {"silver_weather_forecast", "gold_outlook_hourly"}
    published = read_publication(lake)
    assert published is not None
    tables = published[0].tables
    for table, entry in first.publication.tables.items():
        if table != "outlook_hourly":
            assert tables[table] == entry, table
    assert tables["outlook_hourly"].version == candidates["outlook_hourly"].version
    assert tables["outlook_hourly"].rows > 0

    # An expected rate above 1: the contract's range blocks it.
    rows = read_gold(lake, "outlook_hourly", candidates["outlook_hourly"].version)
    spoiled = rows.set_column(
        rows.schema.get_field_index("expected_on_time_rate"),
        "expected_on_time_rate",
        pc.add(rows.column("expected_on_time_rate"), 1.0),
    )
    write_deltalake(
        delta_uri(lake, "gold", "outlook_hourly"),
        spoiled,
        mode="overwrite",
        storage_options=lake.storage_options(),
    )
    bad = GoldCandidate("outlook_hourly", tables["outlook_hourly"].version + 1, 1, True, issued)
    alerts_before = len(sink.read())
    blocked = run_outlook_gate(lake, settings, "o2", {"outlook_hourly": bad}, sink)
    assert not blocked.passed
    assert any(c.check == "expected_on_time_rate within 0..1" for c in blocked.blocking)
    after = read_publication(lake)
    assert after is not None
    assert after[0].publication_id == published[0].publication_id
    new_alerts = sink.read()[alerts_before:]
    assert [a.severity for a in new_alerts] == ["error"]
    assert "gold_outlook_hourly" in new_alerts[0].title
