"""Properties of silver and gold (Hypothesis), each example on a fresh lake.

- Silver equals the reference dedup ("the latest `as_of` wins, then the later record")
  for any arrival order of the same records and any split into batches and runs; running
  the same input again changes no table version.
- Gold keeps its KPI invariants on any departures and weather: counts within departures,
  rates in [0, 1], departures adding up across weather classes (and `wet` equal to the
  rain and snow classes), the `*` line equal to the pooled lines; a second build with no
  new input commits nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from umwi_core.lake import Lake
from umwi_core.resources import make_lake
from umwi_core.settings import Settings, load_settings
from umwi_transform import (
    SilverLoader,
    build_gold,
    commit_batch,
    open_delta,
    read_gold,
    read_silver,
)

from tests.packages.umwi_transform.factory import (
    AS_OF,
    T0,
    departure,
    departures_batch,
    weather,
    weather_batch,
)


@contextmanager
def _fresh_lake() -> Iterator[tuple[Lake, Settings]]:
    """A lake of its own per example (function fixtures are shared across examples)."""
    with tempfile.TemporaryDirectory(prefix="umwi-property-") as folder:
        settings = load_settings(state_dir=Path(folder) / "state")
        yield make_lake(settings), settings


def _versions(lake: Lake, layer: str, tables: tuple[str, ...]) -> dict[str, int | None]:
    found = {table: open_delta(lake, layer, table) for table in tables}
    return {table: None if delta is None else delta.version() for table, delta in found.items()}


# --- silver -------------------------------------------------------------------------------

#: (trip, scheduled hour, as_of hour, delay): few values each, so keys and as_of collide.
_records = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.integers(min_value=0, max_value=2),
        st.integers(min_value=0, max_value=2),
        st.integers(min_value=-60, max_value=600),
    ),
    min_size=1,
    max_size=10,
)


@st.composite
def _arrivals(draw: st.DrawFn) -> list[list[list[tuple[str, int, int, int]]]]:
    """The same records in any order, cut into runs of batches: runs[batches[records]]."""
    records = draw(st.permutations(draw(_records)))
    runs: list[list[list[tuple[str, int, int, int]]]] = [[[]]]
    for index, record in enumerate(records):
        if index:
            cut = draw(st.sampled_from(["same batch", "new batch", "new run"]))
            if cut == "new run":
                runs.append([[]])
            elif cut == "new batch":
                runs[-1].append([])
        runs[-1][-1].append(record)
    return runs


def _row(record: tuple[str, int, int, int]) -> dict[str, Any]:
    trip, hour, as_of, delay = record
    return departure(
        trip=trip,
        scheduled=T0 + timedelta(hours=hour),
        delay=delay,
        as_of=AS_OF + timedelta(hours=as_of),
    )


def _reference(arrived: list[tuple[str, int, int, int]]) -> dict[tuple[str, int], int]:
    """(trip, hour) -> delay: the latest as_of, then the later record, by hand."""
    best: dict[tuple[str, int], tuple[int, int]] = {}
    for trip, hour, as_of, delay in arrived:
        key = (trip, hour)
        if key not in best or as_of >= best[key][0]:
            best[key] = (as_of, delay)
    return {key: delay for key, (_, delay) in best.items()}


def _commit(lake: Lake, settings: Settings, runs: list[list[list[Any]]], tag: str) -> None:
    for number, batches in enumerate(runs):
        with SilverLoader(lake, settings, f"{tag}-{number}") as loader:
            for batch in batches:
                loader.add(departures_batch([_row(record) for record in batch]))
            loader.finish()


@settings(max_examples=25, deadline=None)
@given(runs=_arrivals())
def test_silver_is_the_reference_dedup_for_any_order_and_split(
    runs: list[list[list[tuple[str, int, int, int]]]],
) -> None:
    """Mutations: `ORDER BY as_of DESC, _seq DESC` → `_seq ASC` in `SilverLoader` (the
    earlier of two equal-`as_of` records of one run wins); the MERGE guard
    `s.as_of >= t.as_of` → `>` (a later run's equal-`as_of` record is ignored); the plan's
    'unchanged' verdict dropped (the second run commits a version)."""
    arrived = [record for batches in runs for batch in batches for record in batch]
    with _fresh_lake() as (lake, settings):
        _commit(lake, settings, runs, "run")
        stored = read_silver(lake, "departures").to_pylist()
        found = {
            (r["trip_id"], int((r["scheduled_at"] - T0) / timedelta(hours=1))): r["delay_s"]
            for r in stored
        }
        assert len(found) == len(stored), "a key is stored twice"
        assert found == _reference(arrived)

        # The same input again, as one run: silver is where it was.
        before = _versions(lake, "silver", ("departures",))
        _commit(lake, settings, [[arrived]], "again")
        assert _versions(lake, "silver", ("departures",)) == before


# --- gold ---------------------------------------------------------------------------------

#: Two weather locations; stops near the first, near the second, or far from both.
_STOPS = {"S0": (48.0, 2.0), "S1": (48.3, 2.4), "S2": (10.0, 10.0)}
_LOCATIONS = {"W0": (48.0, 2.0), "W1": (48.3, 2.4)}


@st.composite
def _city(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    departures = []
    for number in range(draw(st.integers(min_value=1, max_value=30))):
        stop = draw(st.sampled_from(sorted(_STOPS)))
        cancelled = draw(st.booleans()) and draw(st.booleans())
        lat, lon = _STOPS[stop]
        departures.append(
            departure(
                trip=f"T{number}",
                stop=stop,
                line=draw(st.sampled_from(["L1", "L2", "L3"])),
                network=draw(st.sampled_from(["net", "other"])),
                scheduled=T0 + timedelta(minutes=draw(st.integers(min_value=0, max_value=300))),
                delay=None if cancelled else draw(st.integers(min_value=-300, max_value=1800)),
                cancelled=cancelled,
                lat=lat,
                lon=lon,
            )
        )
    weathers = []
    for location, (lat, lon) in _LOCATIONS.items():
        for hour in range(6):
            if draw(st.booleans()) and draw(st.booleans()):
                continue  # a missing hour: its departures have unknown weather
            weathers.append(
                weather(
                    location=location,
                    hour=T0 + timedelta(hours=hour),
                    lat=lat,
                    lon=lon,
                    precipitation=draw(st.sampled_from([0.0, 0.4, 2.5, 3.0, 9.0, None])),
                    snowfall=draw(st.sampled_from([0.0, 0.0, 0.2, None])),
                )
            )
    return departures, weathers


def _sums(frame: pd.DataFrame, by: list[str], columns: list[str]) -> dict[Any, list[int]]:
    grouped = frame.groupby(by, dropna=False)[columns].sum()
    return {
        key: [int(v) for v in row] for key, row in zip(grouped.index, grouped.values, strict=True)
    }


@settings(max_examples=5, deadline=None)
@given(city=_city())
def test_gold_kpi_invariants_and_a_second_build_commits_nothing(
    city: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """Mutations: `on_time` counting cancelled departures in `_gold_exprs` (on_time over
    departures − cancelled); the `*` rows built from the first line only; `wet` pooling
    rain without snow; `build_gold` rebuilding when nothing changed (a new version)."""
    departures, weathers = city
    with _fresh_lake() as (lake, settings):
        commit_batch(departures_batch(departures), lake, settings, "run-d")
        if weathers:
            commit_batch(weather_batch(weathers), lake, settings, "run-w")
        candidates = build_gold(lake, settings, "run-b1")
        gold = {t: read_gold(lake, t, c.version).to_pandas() for t, c in candidates.items()}

        hourly = gold["punctuality_hourly"]
        assert (hourly["cancelled"] <= hourly["departures"]).all()
        assert (hourly["on_time"] <= hourly["departures"] - hourly["cancelled"]).all()
        # The `*` line is the lines pooled, cell by cell.
        cell = ["network", "location_id", "hour"]
        counts = ["departures", "cancelled", "on_time"]
        lines = hourly[hourly["line_id"] != "*"]
        pooled = hourly[hourly["line_id"] == "*"]
        assert _sums(pooled, cell, counts) == _sums(lines, cell, counts)
        # Every departure is counted once per line and once in `*`.
        assert int(lines["departures"].sum()) == len(departures)

        impact = gold["weather_impact"]
        for rate in ("cancellation_rate", "on_time_rate", "reliability_rate"):
            values = impact[rate].dropna()
            assert ((values >= 0) & (values <= 1)).all(), rate
        group = ["network", "line_id", "period"]
        classes = impact[impact["weather_class"] != "wet"]
        # The classes partition the departures of each line and period...
        totals = (
            lines.assign(period="all").groupby(["network", "line_id", "period"])["departures"].sum()
        )
        by_class = classes[classes["period"] == "all"].groupby(group)["departures"].sum()
        by_class = by_class[by_class.index.get_level_values("line_id") != "*"]
        assert by_class.to_dict() == totals.to_dict()
        # ...`wet` is rain and snow together, and `*` the lines pooled.
        rainy = classes[
            classes["weather_class"].isin(["snow", "light_rain", "moderate_rain", "heavy_rain"])
        ]
        wet = impact[impact["weather_class"] == "wet"]
        assert _sums(wet, group, ["departures"]) == _sums(rainy, group, ["departures"])
        for_lines = classes[classes["line_id"] != "*"].assign(line_id="*")
        assert _sums(
            classes[classes["line_id"] == "*"], [*group, "weather_class"], ["departures"]
        ) == _sums(for_lines, [*group, "weather_class"], ["departures"])

        # Nothing new: the second build commits nothing and says so.
        before = _versions(lake, "gold", tuple(candidates))
        again = build_gold(lake, settings, "run-b2")
        assert not any(candidate.changed for candidate in again.values())
        assert _versions(lake, "gold", tuple(candidates)) == before
