"""The same silver → gold → publish → maintain code on an S3 lake (moto server)."""

from __future__ import annotations

from typing import Any

import pytest
from umwi_core.publication import read_publication
from umwi_core.resources import make_lake
from umwi_transform import (
    build_gold,
    commit_batch,
    maintain,
    publish_gold,
    read_gold,
    read_quarantine,
    read_silver,
)

from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    weather,
    weather_batch,
)


@pytest.mark.slow
def test_pipeline_on_s3(aws_resources: Any) -> None:
    settings = aws_resources.settings
    lake = make_lake(settings)
    assert lake.root.startswith("s3://")
    rows = [departure(trip=f"T{h}", scheduled=at(hours=h), delay=10 * h) for h in range(6)]
    counts = commit_batch(
        departures_batch([*rows, departure(trip="bad", delay=None)]), lake, settings, "r1"
    )
    assert (counts.inserted, counts.quarantined) == (6, 1)
    again = commit_batch(departures_batch(rows), lake, settings, "r2")
    assert again.unchanged == 6
    commit_batch(
        weather_batch([weather(hour=at(hours=h), precipitation=h / 2) for h in range(6)]),
        lake,
        settings,
        "w",
    )
    assert read_silver(lake, "departures").num_rows == 6
    assert read_quarantine(lake, "departures").num_rows == 1

    candidates = build_gold(lake, settings, "b1")
    assert not any(c.changed for c in build_gold(lake, settings, "b2").values())
    publication = publish_gold(lake, candidates, run_id="b1", gate={}, quality_report=None)
    assert read_publication(lake)[0] == publication  # type: ignore[index]
    assert lake.exists(publication.tables["correlation"].serving)
    impact = read_gold(lake, "weather_impact", publication.tables["weather_impact"].version)
    assert impact.num_rows > 0

    report = maintain(lake, settings, retain_hours=0)
    assert "gold/correlation" in report
    assert read_gold(lake, "punctuality_hourly").num_rows == candidates["punctuality_hourly"].rows
