"""`maintain`: compaction, vacuum that spares published versions, serving-copy pruning."""

from __future__ import annotations

import time

from umwi_core.lake import Lake
from umwi_core.publication import read_publication
from umwi_core.settings import Settings
from umwi_transform import (
    build_gold,
    commit_batch,
    land_forecast,
    maintain,
    open_delta,
    publish_gold,
    read_gold,
    read_silver,
)

from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    forecast_table,
    weather,
    weather_batch,
)


def test_maintain_compacts_and_keeps_what_readers_need(lake: Lake, settings: Settings) -> None:
    """Mutation: drop `follow_compaction(lake, compacted)` from `maintain` → the outlook's
    state names the pre-compaction versions and the next build rewrites the outlook: red."""
    commit_batch(weather_batch([weather(hour=at(hours=h)) for h in range(12)]), lake, settings, "w")
    # Two forecast issues for next week's hours, whose slots these hours fill.
    for issue in range(2):
        hours = [(at(hours=168 + h), 0.0) for h in range(6)]
        land_forecast(lake, forecast_table(at(hours=167 + issue * 0.5), hours), f"f{issue}")
    for h in range(6):  # many small commits, as polling makes them
        commit_batch(
            departures_batch([departure(trip=f"T{h}", scheduled=at(hours=h))]),
            lake,
            settings,
            f"r{h}",
        )
    published = publish_gold(
        lake, build_gold(lake, settings, "b1"), run_id="b1", gate={}, quality_report=None
    )
    old_rows = read_gold(lake, "punctuality_hourly", published.tables["punctuality_hourly"].version)
    commit_batch(
        departures_batch([departure(trip="late", scheduled=at(hours=7))]), lake, settings, "r9"
    )
    candidates = build_gold(lake, settings, "b2")  # not published: the old version stays visible
    silver_files = len(open_delta(lake, "silver", "departures").file_uris())  # type: ignore[union-attr]

    report = maintain(lake, settings, retain_hours=0)

    assert len(open_delta(lake, "silver", "departures").file_uris()) < silver_files  # type: ignore[union-attr]
    assert report["silver/departures"]["files_vacuumed"] > 0  # type: ignore[index]
    assert read_silver(lake, "departures").num_rows == 7
    assert report["silver/weather_forecast"]["files_vacuumed"] >= 0  # type: ignore[index]
    # The published version is still fully readable after the vacuum.
    again = read_gold(lake, "punctuality_hourly", published.tables["punctuality_hourly"].version)
    assert again.sort_by("hour").equals(old_rows.sort_by("hour"))
    # Compaction is no new input: the next build changes nothing.
    assert not any(c.changed for c in build_gold(lake, settings, "b3").values())
    assert candidates["punctuality_hourly"].rows == read_gold(lake, "punctuality_hourly").num_rows


def test_maintain_prunes_unreferenced_serving_copies(lake: Lake, settings: Settings) -> None:
    commit_batch(weather_batch([weather()]), lake, settings, "w")
    commit_batch(departures_batch([departure()]), lake, settings, "r1")
    first = publish_gold(
        lake, build_gold(lake, settings, "b1"), run_id="b1", gate={}, quality_report=None
    )
    commit_batch(departures_batch([departure(trip="T2")]), lake, settings, "r2")
    time.sleep(1.05)  # publication ids are stamped to the second
    second = publish_gold(
        lake, build_gold(lake, settings, "b2"), run_id="b2", gate={}, quality_report=None
    )
    report = maintain(lake, settings)
    current, _ = read_publication(lake)  # type: ignore[misc]
    assert current == second
    for entry in second.tables.values():
        assert lake.exists(entry.serving)
    removed = report["serving_removed"]
    assert removed
    assert all(first.publication_id in key for key in removed)  # type: ignore[union-attr]
