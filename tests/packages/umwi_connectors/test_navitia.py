from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyarrow as pa
import pytest
from umwi_connectors import fetch_departures, read_meta, stage_bronze_payload, sync_iter
from umwi_connectors._http import RateLimiter
from umwi_connectors._navitia import NAVITIA_QUOTA
from umwi_core import Lake, Settings, SourceError, load_settings
from umwi_core.arrow import StagedBatch

from tests.support.fake_servers import (
    DEFAULT_REGION,
    DEFAULT_STOP_AREA,
    FakeApiServer,
    FakeResponse,
    load_navitia_fixture,
)

TOKEN = "navitia-test-token"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class FastLimiter(RateLimiter):
    def __init__(self) -> None:
        super().__init__(NAVITIA_QUOTA)
        self.calls = 0

    async def acquire(self, weight: float = 1.0) -> None:
        self.calls += 1


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    fake = FakeApiServer()
    yield fake
    fake.stop()


def _settings(server: FakeApiServer, **extra: Any) -> Settings:
    return load_settings(**{**server.settings_overrides(), "http_max_retries": 2, **extra})


def _fetch(
    settings: Settings,
    lake: Lake,
    transport: httpx.AsyncBaseTransport,
    stop_areas: list[str] | None = None,
    **kwargs: Any,
) -> list[StagedBatch]:
    kwargs.setdefault("limiter", FastLimiter())
    kwargs.setdefault("region", DEFAULT_REGION)
    return list(
        sync_iter(
            fetch_departures(
                settings,
                lake,
                "run1",
                stop_areas=stop_areas or [DEFAULT_STOP_AREA],
                transport=transport,
                backoff_initial_s=0.001,
                now=utc(2026, 3, 29, 0, 46),
                **kwargs,
            )
        )
    )


def _rows(batches: list[StagedBatch]) -> list[dict[str, Any]]:
    return pa.concat_tables([b.records for b in batches]).to_pylist()


def _stage(document: Any, endpoint: str = "departures") -> list[dict[str, Any]]:
    payload = json.dumps(document).encode()
    meta = {"region": DEFAULT_REGION, "endpoint": endpoint}
    batch = stage_bronze_payload("navitia", endpoint, payload, meta, run_id="r", input_key="k")
    return batch.records.to_pylist()


# --- the recorded DST-day poll ------------------------------------------------------------


def test_dst_day_poll_is_converted_and_classified() -> None:
    rows = _stage(load_navitia_fixture("departures_dst.json"))
    assert len(rows) == 11
    as_of = utc(2026, 3, 29, 0, 45)  # 01:45 CET
    assert all(r["as_of"] == as_of for r in rows)
    assert all(r["network"] == DEFAULT_REGION and r["source"] == "navitia" for r in rows)

    a1 = rows[0]
    assert a1["trip_id"] == "vehicle_journey:TEST:VJ:A1"
    assert a1["stop_id"] == "stop_point:TEST:SP:central-1"
    assert a1["line_id"] == "line:TEST:A"
    assert (a1["line_name"], a1["mode"]) == ("A", "bus")
    assert (a1["stop_lat"], a1["stop_lon"]) == (48.8443, 2.3744)
    # 01:55 CET → 03:05 CEST crosses the DST change: 10 minutes late, not 70.
    assert a1["scheduled_at"] == utc(2026, 3, 29, 0, 55)
    assert a1["observed_at"] == utc(2026, 3, 29, 1, 5)
    assert a1["delay_s"] == 600
    assert a1["cancelled"] is False

    base_only = rows[1]
    assert base_only["scheduled_at"] == utc(2026, 3, 29, 0, 30)
    assert base_only["observed_at"] is None, "base_schedule carries no real-time value"
    assert base_only["delay_s"] is None
    assert base_only["cancelled"] is False

    assert rows[2]["delay_s"] == -60
    assert rows[2]["scheduled_at"] == utc(2026, 3, 29, 1, 10)

    no_service, deleted, line_disrupted = rows[3], rows[4], rows[5]
    assert no_service["cancelled"] is True
    assert no_service["observed_at"] is None
    assert no_service["delay_s"] is None
    assert no_service["mode"] == "tram"
    assert deleted["cancelled"] is True
    assert line_disrupted["cancelled"] is False, "a line disruption cancels no single trip"
    assert line_disrupted["delay_s"] == 120

    assert rows[6]["_reason"] == "stop_point is missing"
    assert "does not exist in Europe/Paris" in rows[7]["_reason"]
    duplicate = rows[8]
    assert (duplicate["trip_id"], duplicate["scheduled_at"]) == (a1["trip_id"], a1["scheduled_at"])
    assert duplicate["delay_s"] == 720
    assert duplicate["_seq"] > a1["_seq"], "the later record of the page wins"
    assert "not a Navitia date-time string" in rows[9]["_reason"]
    assert rows[9]["mode"] == "metro"
    assert rows[10]["stop_lat"] is None
    assert rows[10]["delay_s"] == 0

    assert [r["_reason"] is None for r in rows].count(True) == 8
    assert json.loads(rows[6]["_raw"])["route"]["line"]["id"] == "line:TEST:A"


def test_stop_schedules_on_the_fall_back_day() -> None:
    rows = _stage(load_navitia_fixture("stop_schedules_fallback.json"), "stop_schedules")
    assert len(rows) == 2
    first, second = rows
    assert first["trip_id"] == "vehicle_journey:TEST:VJ:C1"
    assert first["line_id"] == "line:TEST:C"
    assert first["mode"] == "rail"
    assert first["scheduled_at"] == utc(2026, 10, 24, 23, 55)  # 01:55 CEST
    assert first["delay_s"] == 600
    assert second["scheduled_at"] == utc(2026, 10, 25, 2, 10)  # 03:10 CET, after the change
    assert second["observed_at"] is None
    assert all(r["as_of"] == utc(2026, 10, 24, 23, 40) for r in rows)


# --- the recorded SNCF responses (real field shapes; tests/fixtures/navitia/sncf) ----------

#: Europe/Paris is UTC+2 all through May: a local wall time minus 2 h is its UTC time.
CEST = timedelta(hours=2)


def _local(text: str) -> datetime:
    """A Navitia `YYYYMMDDTHHMMSS` Paris time in May, in UTC, by hand."""
    return datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=UTC) - CEST


def test_a_real_sncf_departures_response() -> None:
    """The 10 departures of RER B at Saint-Rémy-lès-Chevreuse as SNCF's Navitia sent them:
    string coordinates, nested `links`, `context`, `pagination`, every time base_schedule.

    Mutations: reading local times as UTC in `_navitia_parse` (every time 2 h late);
    reading `coord` only when it holds numbers (the coordinates become null)."""
    document = load_navitia_fixture("sncf/sncf-departures-2024-05-19.json")
    rows = _stage(document)
    assert len(rows) == 10
    assert [r["_reason"] for r in rows] == [None] * 10
    departures = document["departures"]
    assert [r["scheduled_at"] for r in rows] == [
        _local(d["stop_date_time"]["base_departure_date_time"]) for d in departures
    ]
    assert [r["trip_id"] for r in rows] == [
        next(link["id"] for link in d["links"] if link["type"] == "vehicle_journey")
        for d in departures
    ]
    first = rows[0]
    assert first["scheduled_at"] == utc(2024, 5, 19, 12, 8)  # 14:08 in Paris
    assert first["trip_id"] == "vehicle_journey:SNCF:2024-05-19:EPAU69:1187:RapidTransit"
    assert first["stop_id"] == "stop_point:SNCF:87758896:RapidTransit"
    assert first["stop_name"] == "Saint-Rémy-lès-Chevreuse"
    assert (first["line_id"], first["line_name"]) == ("line:SNCF:B", "B")
    assert (first["stop_lat"], first["stop_lon"]) == (48.702722, 2.070924)
    assert all(r["as_of"] == utc(2024, 5, 19, 12, 5, 49) for r in rows)  # 14:05:49 in Paris
    assert all(r["network"] == DEFAULT_REGION for r in rows)
    # base_schedule only: no real-time value, and nothing cancelled.
    assert {(r["observed_at"], r["delay_s"], r["cancelled"]) for r in rows} == {(None, None, False)}


def test_a_real_sncf_stop_schedules_response() -> None:
    """The 72 date times of one SNCF stop schedule, running past midnight into the next
    service day, one of them on a whole second (12:08:15).

    Mutations: as above, local times read as UTC; the trip read from the first link
    whatever its type (the 42nd date time's first link is a `destination`)."""
    document = load_navitia_fixture("sncf/sncf-stop-schedules-2024-05-19.json")
    rows = _stage(document, "stop_schedules")
    assert len(rows) == 72
    assert [r["_reason"] for r in rows] == [None] * 72
    (schedule,) = document["stop_schedules"]
    times = schedule["date_times"]
    assert [r["scheduled_at"] for r in rows] == [_local(t["base_date_time"]) for t in times]
    assert [r["trip_id"] for r in rows] == [
        next(link["id"] for link in t["links"] if link["type"] == "vehicle_journey") for t in times
    ]
    assert rows[0]["scheduled_at"] == utc(2024, 5, 19, 10, 23)
    assert rows[-1]["scheduled_at"] == utc(2024, 5, 20, 10, 8, 15)
    assert rows[-1]["trip_id"] == "vehicle_journey:SNCF:2024-05-20:EPAU21:1187:RapidTransit"
    assert all(r["as_of"] == utc(2024, 5, 19, 10, 15, 5) for r in rows)
    assert {(r["line_id"], r["stop_lat"], r["stop_lon"]) for r in rows} == {
        ("line:SNCF:B", 48.702722, 2.070924)
    }
    assert {(r["observed_at"], r["delay_s"], r["cancelled"]) for r in rows} == {(None, None, False)}


def test_missing_and_null_fields() -> None:
    document = load_navitia_fixture("departures_dst.json")
    base = document["departures"][0]
    no_vj = copy.deepcopy(base)
    no_vj["links"] = [link for link in no_vj["links"] if link["type"] != "vehicle_journey"]
    no_base = copy.deepcopy(base)
    del no_base["stop_date_time"]["base_departure_date_time"]
    null_route = copy.deepcopy(base)
    null_route["route"] = None
    null_route["links"] = [link for link in null_route["links"] if link["type"] != "line"]
    odd_freshness = copy.deepcopy(base)
    odd_freshness["stop_date_time"]["data_freshness"] = "adapted_schedule"
    bad_coord = copy.deepcopy(base)
    bad_coord["stop_point"]["coord"] = {"lat": "north", "lon": "2.3"}
    terminus = copy.deepcopy(base)
    sdt = terminus["stop_date_time"]
    del sdt["departure_date_time"], sdt["base_departure_date_time"]
    not_object = "just a string"
    document["departures"] = [
        no_vj,
        no_base,
        null_route,
        odd_freshness,
        bad_coord,
        terminus,
        not_object,
    ]
    rows = _stage(document)
    reasons = [r["_reason"] for r in rows]
    assert "no trip_id" in reasons[0]
    assert reasons[1] == "realtime departure without base_departure_date_time"
    assert "no line_id" in reasons[2]
    assert "neither realtime nor base_schedule" in reasons[3]
    assert "coord.lat is 'north'" in reasons[4]
    assert reasons[5] is None, "a terminus uses its arrival"
    assert rows[5]["delay_s"] == 600
    assert reasons[6] == "record is not a JSON object"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html>", "is not valid JSON"),
        ([1, 2], "is not a JSON object"),
        ({"departures": []}, "has no context"),
        ({"departures": [], "context": {"timezone": "Mars/Olympus"}}, "not a known time zone"),
        (
            {"departures": [], "context": {"timezone": "Europe/Paris", "current_datetime": "x"}},
            "context.current_datetime 'x' is not YYYYMMDDTHHMMSS",
        ),
        ({"departures": {"a": 1}}, "departures is not a list"),
        ({"error": {"id": "bad_filter"}}, "is an error"),
    ],
)
def test_malformed_pages_are_refused(document: Any, message: str) -> None:
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()
    meta = {"region": DEFAULT_REGION, "endpoint": "departures"}
    with pytest.raises(SourceError, match=message):
        stage_bronze_payload("navitia", "departures", payload, meta, run_id="r", input_key="k")


def test_replay_needs_the_request_metadata() -> None:
    with pytest.raises(SourceError, match="lacks the region or endpoint"):
        stage_bronze_payload("navitia", "departures", b"{}", {}, run_id="r", input_key="k")


def test_empty_and_huge_pages() -> None:
    document = load_navitia_fixture("departures_dst.json")
    empty = {**document, "departures": []}
    assert _stage(empty) == []
    template = document["departures"][0]
    many = []
    for i in range(5_000):
        item = copy.deepcopy(template)
        item["links"][1]["id"] = f"vehicle_journey:TEST:VJ:{i}"
        many.append(item)
    rows = _stage({**document, "departures": many})
    assert len(rows) == 5_000
    assert {r["delay_s"] for r in rows} == {600}
    assert len({r["trip_id"] for r in rows}) == 5_000


def test_repeated_polls_keep_the_key_and_advance_as_of() -> None:
    first = load_navitia_fixture("departures_dst.json")
    later = copy.deepcopy(first)
    later["context"]["current_datetime"] = "20260329T030000"  # 03:00 CEST = 01:00Z
    later["departures"][0]["stop_date_time"]["departure_date_time"] = "20260329T030800"
    a, b = _stage(first)[0], _stage(later)[0]
    key = ("network", "trip_id", "stop_id", "scheduled_at")
    assert [a[k] for k in key] == [b[k] for k in key]
    assert b["as_of"] - a["as_of"] == timedelta(minutes=15)
    assert (a["delay_s"], b["delay_s"]) == (600, 780)


# --- fetching -----------------------------------------------------------------------------


def test_fetch_pages_lands_each_page_and_sends_the_token(server: FakeApiServer, lake: Lake) -> None:
    limiter = FastLimiter()
    batches = _fetch(_settings(server), lake, server.mock_transport(), count=4, limiter=limiter)
    assert len(batches) == 3
    assert [b.records.num_rows for b in batches] == [4, 4, 3]
    assert limiter.calls == 3
    pages = [r.query["start_page"] for r in server.requests]
    assert pages == [["0"], ["1"], ["2"]]
    assert all(r.headers["authorization"] == TOKEN for r in server.requests)
    query = server.requests[0].query
    assert query["data_freshness"] == ["realtime"]
    assert query["count"] == ["4"]
    rows = _rows(batches)
    whole = _stage(load_navitia_fixture("departures_dst.json"))
    for column in ("trip_id", "scheduled_at", "delay_s", "cancelled", "_reason"):
        assert [r[column] for r in rows] == [r[column] for r in whole], column
    assert [r["trip_id"] for r in rows][:3] == [
        "vehicle_journey:TEST:VJ:A1",
        "vehicle_journey:TEST:VJ:A2",
        "vehicle_journey:TEST:VJ:A3",
    ]
    keys = [b.inputs[0] for b in batches]
    assert keys[0] == ("bronze/navitia/departures/date=2026-03-29/run1/s0000-p0000.json")
    for key in keys:
        meta = read_meta(lake, key)
        assert meta["stop_area"] == DEFAULT_STOP_AREA
        assert TOKEN not in json.dumps(meta)
        assert TOKEN.encode() not in lake.read_bytes(key)
    replayed = stage_bronze_payload(
        "navitia",
        "departures",
        lake.read_bytes(keys[1]),
        read_meta(lake, keys[1]),
        run_id="run1",
        input_key=keys[1],
    )
    drop = ["ingested_at"]
    assert replayed.records.drop(drop).equals(batches[1].records.drop(drop))


def test_several_stop_areas_and_the_from_datetime(server: FakeApiServer, lake: Lake) -> None:
    server.add_navitia(
        DEFAULT_REGION,
        "stop_area:TEST:SA:gare",
        load_navitia_fixture("stop_schedules_fallback.json"),
    )
    batches = _fetch(
        _settings(server),
        lake,
        server.mock_transport(),
        [DEFAULT_STOP_AREA, "stop_area:TEST:SA:gare"],
        endpoint="stop_schedules",
        from_datetime=datetime(2026, 10, 25, 1, 30),
    )
    assert [b.records.num_rows for b in batches] == [0, 2]
    assert all(r.query["from_datetime"] == ["20261025T013000"] for r in server.requests)
    assert all(r.path.endswith("/stop_schedules") for r in server.requests)


@pytest.mark.parametrize(
    ("fixture", "status", "message"),
    [
        ("error_bad_filter.json", 400, "HTTP 400: bad_filter: ptref"),
        ("error_unknown_object.json", 404, "HTTP 404: unknown_object: Invalid id"),
        ("error_date_out_of_bounds.json", 404, "HTTP 404: date_out_of_bounds: date is not"),
        ("error_no_token.json", 401, r"HTTP 401: no token \(check UMWI_NAVITIA_TOKEN\)"),
        ("error_forbidden.json", 403, r"HTTP 403: You don't have .* \(check UMWI_NAVITIA_TOKEN\)"),
    ],
)
def test_error_bodies_become_clear_messages(
    server: FakeApiServer, lake: Lake, fixture: str, status: int, message: str
) -> None:
    server.inject("/navitia", FakeResponse(status, load_navitia_fixture(fixture)))
    with pytest.raises(SourceError, match=message):
        _fetch(_settings(server), lake, server.mock_transport())
    assert len(server.requests) == 1
    assert list(lake.list("bronze")) == []


def test_unknown_stop_area_and_wrong_token_against_the_server_logic(
    server: FakeApiServer, lake: Lake
) -> None:
    with pytest.raises(SourceError, match="unknown_object: Invalid id : stop_area:NOPE"):
        _fetch(_settings(server), lake, server.mock_transport(), ["stop_area:NOPE"])
    settings = load_settings(**{**server.settings_overrides(), "navitia_token": "wrong-token-77"})
    with pytest.raises(SourceError, match="401") as caught:
        _fetch(settings, lake, server.mock_transport())
    assert "wrong-token-77" not in str(caught.value)


def test_token_echoed_in_an_error_is_redacted(server: FakeApiServer, lake: Lake) -> None:
    server.inject("/navitia", FakeResponse(400, {"message": f"bad token {TOKEN} given"}))
    with pytest.raises(SourceError) as caught:
        _fetch(_settings(server), lake, server.mock_transport())
    assert TOKEN not in str(caught.value)
    assert "bad token *** given" in str(caught.value)


def test_204_is_a_clear_error(server: FakeApiServer, lake: Lake) -> None:
    server.inject("/navitia", FakeResponse(204))
    with pytest.raises(SourceError, match="HTTP 204 with no content for departures"):
        _fetch(_settings(server), lake, server.mock_transport())
    assert list(lake.list("bronze")) == []


def test_429_500_503_and_timeouts_are_retried(server: FakeApiServer, lake: Lake) -> None:
    server.inject(
        "/navitia",
        FakeResponse(429, {"message": "quota"}, {"Retry-After": "0"}),
        FakeResponse(500, b"oops"),
        FakeResponse(503, b"busy"),
        FakeResponse(200, b"{}", delay_s=1),
    )
    batches = _fetch(_settings(server, http_max_retries=4), lake, server.mock_transport())
    assert len(batches) == 1
    assert read_meta(lake, batches[0].inputs[0])["attempts"] == 5


@pytest.mark.parametrize("status", [429, 500, 503])
def test_persistent_failures_give_up(server: FakeApiServer, lake: Lake, status: int) -> None:
    server.inject("/navitia", *[FakeResponse(status, {"message": "down"})] * 3)
    with pytest.raises(SourceError, match=rf"HTTP {status}: down .*gave up after 3 attempts"):
        _fetch(_settings(server), lake, server.mock_transport())
    assert list(lake.list("bronze")) == []


def test_a_failing_later_page_keeps_earlier_pages_whole(server: FakeApiServer, lake: Lake) -> None:
    settings = _settings(server, http_max_retries=0)
    # Page 0 passes; every later page fails.
    answered = {"n": 0}
    inner = server.mock_transport()

    def handler(request: httpx.Request) -> httpx.Response:
        answered["n"] += 1
        if request.url.params["start_page"] != "0":
            return httpx.Response(503, text="busy")
        return inner.handle_request(request)

    with pytest.raises(SourceError, match="HTTP 503"):
        _fetch(settings, lake, httpx.MockTransport(handler), count=4)
    keys = list(lake.list("bronze"))
    assert len(keys) == 2, "page 0 and its metadata, nothing partial"
    assert json.loads(lake.read_bytes(sorted(keys, key=len)[0]))["pagination"]["start_page"] == 0


def test_absurd_pagination_is_refused(server: FakeApiServer, lake: Lake) -> None:
    page = load_navitia_fixture("departures_dst.json")
    page["pagination"] = {
        "start_page": 0,
        "items_on_page": 1,
        "items_per_page": 1,
        "total_result": 10**6,
    }
    server.inject("/navitia", FakeResponse(200, page))
    with pytest.raises(SourceError, match="ask for a shorter duration"):
        _fetch(_settings(server), lake, server.mock_transport())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"from_datetime": datetime(2026, 3, 29, tzinfo=UTC)}, "without an offset"),
        ({"region": "fr/../x"}, "not a plain id"),
        ({"count": 0}, "count must be"),
        ({"endpoint": "arrivals"}, "not departures or stop_schedules"),
    ],
)
def test_bad_arguments_are_refused(
    server: FakeApiServer, lake: Lake, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _fetch(_settings(server), lake, server.mock_transport(), **kwargs)


def test_the_quota_of_five_requests_per_second_is_kept(server: FakeApiServer, lake: Lake) -> None:
    clock = {"now": 0.0}
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock["now"] += seconds

    limiter = RateLimiter(NAVITIA_QUOTA, clock=lambda: clock["now"], sleep=sleep)
    batches = _fetch(
        _settings(server, http_concurrency=4),
        lake,
        server.mock_transport(),
        count=1,
        limiter=limiter,
    )
    assert len(batches) == 11
    # 11 requests at 5 per second: two full seconds of waiting, never more than 5 in one.
    assert sum(waits) == pytest.approx(2.0)


def test_end_to_end_against_the_fake_server(fake_api: FakeApiServer, lake: Lake) -> None:
    fake_api.inject("/navitia", FakeResponse(503, b"busy", {"Retry-After": "0"}))
    settings = _settings(fake_api, http_timeout_s=5)

    async def run() -> list[StagedBatch]:
        return [
            b
            async for b in fetch_departures(
                settings,
                lake,
                "e2e",
                region=DEFAULT_REGION,
                stop_areas=[DEFAULT_STOP_AREA],
                count=5,
                backoff_initial_s=0.001,
            )
        ]

    batches = asyncio.run(run())
    assert [b.records.num_rows for b in batches] == [5, 5, 1]
    assert len(fake_api.requests) == 4
    assert {r.headers["authorization"] for r in fake_api.requests} == {TOKEN}
