"""Properties of every connector's parser on arbitrary input (Hypothesis).

Whatever bytes or rows arrive, a parser either refuses the whole payload with the
documented error (`InputError` or `SourceError`, with a message) or stages records, each of
which then lands in silver or in quarantine with a reason: no other exception, no record
lost. Documents are real fixtures with fields replaced by arbitrary JSON (random bytes
alone would almost never get past the JSON decoder).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.transit import gtfs_realtime_pb2
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from umwi_connectors import (
    GtfsStatic,
    WeatherLocation,
    read_departures_file,
    read_weather_file,
    stage_bronze_payload,
    stage_trip_updates,
)
from umwi_core import InputError, SourceError, UmwiError
from umwi_core.arrow import StagedBatch
from umwi_core.contracts import DEPARTURES, REASON_CODES, WEATHER_HOURLY
from umwi_core.resources import make_lake
from umwi_core.settings import load_settings
from umwi_transform._rules import check_batch

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NOW = datetime(2026, 3, 30, 6, tzinfo=UTC)
EXAMPLES = 60

NAVITIA_PAGES = {
    "departures_dst.json": "departures",
    "stop_schedules_fallback.json": "stop_schedules",
    "sncf/sncf-departures-2024-05-19.json": "departures",
    "sncf/sncf-stop-schedules-2024-05-19.json": "stop_schedules",
}
OPENMETEO_META = {
    "locations": [
        WeatherLocation("berlin", 52.52, 13.41).to_json(),
        WeatherLocation("munich", 48.14, 11.58).to_json(),
    ],
    "hours": {"start": "2026-03-28T00:00:00+00:00", "end": "2026-03-29T23:00:00+00:00"},
    "as_of": NOW.isoformat(),
}
DELETE = object()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=24)
    | st.sampled_from(["20260329T015500", "2026-03-28T05:00", "48.8", "", "base_schedule"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):  # the first items stand for the rest
            yield from _paths(item, (*prefix, index))


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`document` with the value at `path` replaced (or removed); unchanged when an earlier
    replacement already removed the path."""
    if not path:
        return None if value is DELETE else value
    parent = document
    for part in path[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return document
    last = path[-1]
    present = isinstance(parent, dict) and last in parent
    present |= isinstance(parent, list) and isinstance(last, int) and last < len(parent)
    if present:
        if value is DELETE:
            del parent[last]
        else:
            parent[last] = value
    return document


def _spoiled(document: Any) -> st.SearchStrategy[Any]:
    """`document` with up to three of its fields replaced by arbitrary JSON or removed."""
    paths = list(_paths(document))
    edit = st.tuples(st.sampled_from(paths), json_values | st.just(DELETE))

    def apply(edits: list[tuple[tuple[Any, ...], Any]]) -> Any:
        spoiled = copy.deepcopy(document)
        for path, value in edits:
            spoiled = _replace(spoiled, path, value)
        return spoiled

    return st.lists(edit, min_size=1, max_size=3).map(apply)


def _judged(batch: StagedBatch) -> None:
    """Every staged record reaches silver or quarantine, each quarantined one with a reason."""
    checked = check_batch(batch.table, batch.records, batch.source, "run-p", NOW)
    assert checked.valid.num_rows + checked.quarantine.num_rows == batch.records.num_rows
    reasons = checked.quarantine.column("reason").to_pylist()
    assert all(isinstance(reason, str) and reason.strip() for reason in reasons), reasons
    codes = set(checked.quarantine.column("reason_code").to_pylist())
    assert codes <= set(REASON_CODES) - {"other"}, codes


def _parses_or_refuses(parse: Callable[[], list[StagedBatch]]) -> None:
    try:
        batches = parse()
    except (InputError, SourceError) as error:
        refusal = str(error)
        event(f"refused: {type(error).__name__}")
        assert refusal.strip(), "a refusal must say what is wrong"
        return
    for batch in batches:
        event(
            "staged, some quarantined"
            if batch.records.column("_reason").null_count < batch.records.num_rows
            else "staged"
        )
        _judged(batch)


def _navitia(payload: bytes, endpoint: str) -> Callable[[], list[StagedBatch]]:
    meta = {"region": "fr-idf", "endpoint": endpoint}
    return lambda: [
        stage_bronze_payload("navitia", endpoint, payload, meta, run_id="r", input_key="k")
    ]


def _openmeteo(payload: bytes) -> Callable[[], list[StagedBatch]]:
    return lambda: [
        stage_bronze_payload(
            "open_meteo", "forecast", payload, OPENMETEO_META, run_id="r", input_key="k"
        )
    ]


@pytest.fixture(scope="module")
def static() -> GtfsStatic:
    return GtfsStatic.load(FIXTURES / "gtfs" / "edge-cases" / "static_gtfs")


def _trip_updates(payload: bytes, static: GtfsStatic) -> Callable[[], list[StagedBatch]]:
    return lambda: [
        stage_trip_updates(payload, static, network="waw", run_id="r", input_key="in.pb")
    ]


def _document(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _edited(name: str, path: tuple[Any, ...], value: Any) -> bytes:
    return json.dumps(_replace(_document(name), path, value)).encode()


def _feed(timestamp: int, time: int | None = None) -> bytes:
    """A TripUpdates feed of one known trip's first stop, departing at `time`."""
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.timestamp = timestamp
    update = feed.entity.add(id="e").trip_update
    update.trip.trip_id = "T15-1"
    stop = update.stop_time_update.add(stop_sequence=1)
    if time is not None:
        stop.departure.time = time
    return bytes(feed.SerializeToString())


#: What the properties found, kept as examples that always run.
HEADER_NOT_UTF8 = b"\x80,stop_id\n"
FEED_TIME_BEYOND_9999 = _feed(2**40)
STOP_TIME_BEYOND_9999 = _feed(1_774_850_000, time=2**60)
DATE_TIMES_NOT_A_LIST = (
    _edited("navitia/stop_schedules_fallback.json", ("stop_schedules", 0, "date_times"), True),
    "stop_schedules",
)
LINKS_NOT_A_LIST = (
    _edited("navitia/departures_dst.json", ("departures", 0, "links"), True),
    "departures",
)
_FORECAST = "openmeteo/forecast_two_locations.json"
OFFSET_OF_CENTURIES = _replace(_document(_FORECAST), (0, "utc_offset_seconds"), 2**50)
TIME_BEFORE_YEAR_1 = _replace(_document(_FORECAST), (0, "hourly", "time", 0), "0001-01-01T00:00")
TIME_BEFORE_YEAR_1[0]["utc_offset_seconds"] = 3600


# --- arbitrary bytes ----------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(payload=st.binary(max_size=400), endpoint=st.sampled_from(["departures", "stop_schedules"]))
def test_navitia_on_arbitrary_bytes(payload: bytes, endpoint: str) -> None:
    """Mutation: `UnicodeDecodeError` dropped from `parse_navitia`'s `except` (bytes that
    are not UTF-8 escape as that error)."""
    _parses_or_refuses(_navitia(payload, endpoint))


@settings(max_examples=EXAMPLES, deadline=None)
@given(payload=st.binary(max_size=400))
def test_openmeteo_on_arbitrary_bytes(payload: bytes) -> None:
    _parses_or_refuses(_openmeteo(payload))


@settings(max_examples=EXAMPLES, deadline=None)
@given(payload=st.binary(max_size=400))
@example(payload=FEED_TIME_BEYOND_9999)
def test_gtfs_rt_on_arbitrary_bytes(payload: bytes, static: GtfsStatic) -> None:
    """Mutations: `except DecodeError` dropped from `parse_feed` (protobuf's error
    escapes); `feed_time` without its `except (OverflowError, OSError, ValueError)` (a
    header time past the year 9999 escapes as ValueError)."""
    _parses_or_refuses(_trip_updates(payload, static))


# --- real documents with arbitrary fields -------------------------------------------------


def _navitia_cases() -> st.SearchStrategy[tuple[bytes, str]]:
    cases = []
    for name, endpoint in NAVITIA_PAGES.items():
        document = json.loads((FIXTURES / "navitia" / name).read_text())
        cases.append(_spoiled(document).map(lambda d, e=endpoint: (json.dumps(d).encode(), e)))
    return st.one_of(cases)


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(case=_navitia_cases())
@example(case=DATE_TIMES_NOT_A_LIST)
@example(case=LINKS_NOT_A_LIST)
def test_navitia_on_spoiled_pages(case: tuple[bytes, str]) -> None:
    """Mutations: `_links` iterating `obj.get("links") or ()` (a TypeError on `"links":
    true`); `_items` iterating `date_times` unchecked (the same on `"date_times": true`)."""
    payload, endpoint = case
    _parses_or_refuses(_navitia(payload, endpoint))


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(document=_spoiled(_document(_FORECAST)))
@example(document=OFFSET_OF_CENTURIES)
@example(document=TIME_BEFORE_YEAR_1)
def test_openmeteo_on_spoiled_responses(document: Any) -> None:
    """Mutations: no bound on `utc_offset_seconds` (`timedelta` overflows); `_time`
    without its `except OverflowError` (a time before the year 1 in UTC escapes)."""
    _parses_or_refuses(_openmeteo(json.dumps(document).encode()))


_trip_ids = st.sampled_from(["T15-1", "T175-1", "T15-NIGHT", "unknown", ""])
_stop_ids = st.sampled_from(["S1", "S2", "S3", "S4", "nowhere", ""])
_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)


@st.composite
def _feeds(draw: st.DrawFn) -> bytes:
    """A TripUpdates feed of arbitrary, mostly wrong, content for the edge-case static feed."""
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = draw(st.sampled_from(["2.0", "1.0", ""]))
    if draw(st.booleans()):
        feed.header.timestamp = draw(st.integers(min_value=0, max_value=2**40))
    for number in range(draw(st.integers(min_value=0, max_value=4))):
        entity = feed.entity.add(id=f"e{number}")
        update = entity.trip_update
        update.trip.trip_id = draw(_trip_ids)
        if draw(st.booleans()):
            update.trip.start_date = draw(st.sampled_from(["20260330", "2026033", "x", ""]))
        update.trip.schedule_relationship = draw(st.sampled_from([0, 1, 2, 3, 5]))
        if draw(st.booleans()):
            update.delay = draw(_int32)
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            stop = update.stop_time_update.add()
            if draw(st.booleans()):
                stop.stop_id = draw(_stop_ids)
            if draw(st.booleans()):
                stop.stop_sequence = draw(st.integers(min_value=0, max_value=2**32 - 1))
            stop.schedule_relationship = draw(st.sampled_from([0, 1, 2, 3]))
            for moment in (stop.arrival, stop.departure):
                if draw(st.booleans()):
                    moment.delay = draw(_int32)
                if draw(st.booleans()):
                    moment.time = draw(_int64)
    return bytes(feed.SerializeToString())


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(payload=_feeds())
@example(payload=STOP_TIME_BEYOND_9999)
def test_gtfs_rt_on_arbitrary_feeds(payload: bytes, static: GtfsStatic) -> None:
    """Mutation: `_known_trip_rows` adding the stop's time offset without its `except
    OverflowError` (a stop time past the year 9999 escapes instead of being quarantined)."""
    _parses_or_refuses(_trip_updates(payload, static))


# --- files --------------------------------------------------------------------------------

_cells = st.text(max_size=12) | st.sampled_from(
    ["2026-03-30T08:00:00Z", "2026-03-30 08:00", "1e400", "-0", "true", "NaN", "48.1", ""]
)


@st.composite
def _csv_files(draw: st.DrawFn, columns: tuple[str, ...], required: tuple[str, ...]) -> str:
    optional = [c for c in columns if c not in required]
    header = [*required, *draw(st.lists(st.sampled_from(optional), unique=True, max_size=5))]
    rows = draw(st.lists(st.lists(_cells, min_size=len(header), max_size=len(header)), max_size=6))
    sink = io.StringIO()
    writer = csv.writer(sink)
    writer.writerow(header)
    writer.writerows(rows)
    return sink.getvalue()


def _read(text: bytes, table: str) -> Callable[[], list[StagedBatch]]:
    def parse() -> list[StagedBatch]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{table}.csv"
            path.write_bytes(text)
            lake = make_lake(load_settings(state_dir=Path(folder) / "state"))
            if table == "departures":
                return list(read_departures_file(path, lake=lake, run_id="r", network="net"))
            return list(read_weather_file(path, lake=lake, run_id="r"))

    return parse


_DEPARTURE_COLUMNS = tuple(c for c in DEPARTURES.column_names if c not in ("ingested_at", "run_id"))
_WEATHER_COLUMNS = tuple(
    c for c in WEATHER_HOURLY.column_names if c not in ("ingested_at", "run_id")
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    text=_csv_files(
        _DEPARTURE_COLUMNS, ("line_id", "stop_id", "trip_id", "scheduled_at", "delay_s")
    )
)
def test_departure_files_of_arbitrary_rows(text: str) -> None:
    _parses_or_refuses(_read(text.encode(), "departures"))


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=_csv_files(_WEATHER_COLUMNS, ("location_id", "latitude", "longitude", "hour")))
def test_weather_files_of_arbitrary_rows(text: str) -> None:
    _parses_or_refuses(_read(text.encode(), "weather_hourly"))


@settings(max_examples=EXAMPLES, deadline=None)
@given(payload=st.binary(max_size=300), table=st.sampled_from(["departures", "weather_hourly"]))
@example(payload=HEADER_NOT_UTF8, table="departures")
def test_files_of_arbitrary_bytes(payload: bytes, table: str) -> None:
    """Mutation: `UnicodeDecodeError` dropped from `_read_file`'s `except` (a header that
    is not UTF-8 escapes as that error)."""
    _parses_or_refuses(_read(payload, table))


def test_the_refusals_are_umwi_errors() -> None:
    """The documented whole-payload errors are the project's own (a caller catches
    `UmwiError`)."""
    assert issubclass(InputError, UmwiError)
    assert issubclass(SourceError, UmwiError)
