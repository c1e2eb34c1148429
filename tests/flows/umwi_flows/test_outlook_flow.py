"""The outlook flow: forecasts refreshed, the outlook published alone, historical gold
untouched, an unchanged input publishing nothing (DESIGN.md §8)."""

from __future__ import annotations

from typing import Any

import pytest
from umwi_core.publication import read_publication
from umwi_core.resources import make_lake
from umwi_core.settings import Settings
from umwi_transform import open_delta

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]

SAMPLE = {"sample": {"start": "2026-01-05", "days": 7, "seed": 7}}
WEATHER = {
    "weather": {"locations": [{"location_id": "centre", "latitude": 48.85, "longitude": 2.35}]}
}


def test_the_outlook_flow_publishes_the_outlook_alone(
    fake_api: Any, fake_api_settings: Settings
) -> None:
    """A week of the sample city, then its forecast (Monday 12 January, whose slots the
    published Monday fills) and Open-Meteo's for one place.

    Mutation: make `outlook_step` call `build_gold` instead of `build_outlook` → the
    historical tables get new versions: red."""
    from umwi_flows import outlook_flow, pipeline_flow

    pipeline_flow(sources=SAMPLE, start="2026-01-05", end="2026-01-12")
    lake = make_lake(fake_api_settings)
    before = read_publication(lake)
    assert before is not None
    summary = outlook_flow(sources={**SAMPLE, **WEATHER})
    assert summary.forecast_hours == 2 * 48 + 48  # two sample stations, one Open-Meteo place
    assert summary.outlook["changed"] is True
    assert summary.outlook["gate"] == "passed"
    after = read_publication(lake)
    assert after is not None
    assert after[0].publication_id != before[0].publication_id
    for table, entry in before[0].tables.items():
        if table != "outlook_hourly":
            assert after[0].tables[table] == entry, table
    published = after[0].tables["outlook_hourly"]
    rows = open_delta(lake, "gold", "outlook_hourly", published.version)
    assert rows is not None
    outlook = rows.to_pyarrow_dataset().to_table()
    assert outlook.num_rows > 0
    assert {h.date().isoformat() for h in outlook.column("hour").to_pylist()} == {
        "2026-01-12",
        "2026-01-13",
    }
    again = outlook_flow(sources=SAMPLE)
    assert again.outlook["changed"] is False
    assert "gate" not in again.outlook
    latest = read_publication(lake)
    assert latest is not None
    assert latest[0].publication_id == after[0].publication_id
