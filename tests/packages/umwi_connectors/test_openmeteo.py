from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from umwi_connectors import (
    WeatherLocation,
    fetch_weather,
    read_meta,
    stage_bronze_payload,
    sync_iter,
)
from umwi_connectors._bronze import meta_key
from umwi_connectors._http import RateLimiter
from umwi_connectors._openmeteo import (
    ARCHIVE_LAG_DAYS,
    FREE_TIER_QUOTA,
    plan_weather,
    request_weight,
)
from umwi_core import Lake, Settings, SourceError, load_settings
from umwi_core.arrow import StagedBatch

from tests.support.fake_servers import FakeApiServer, FakeResponse, true_hour

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "openmeteo"
NOW = datetime(2026, 3, 30, 5, 30, tzinfo=UTC)
BERLIN = WeatherLocation("berlin", 52.52, 13.41)
MUNICH = WeatherLocation("munich", 48.14, 11.58)


class FastLimiter(RateLimiter):
    """Records weights; never waits (the quota itself is tested in test_http)."""

    def __init__(self) -> None:
        super().__init__(FREE_TIER_QUOTA)
        self.weights: list[float] = []

    async def acquire(self, weight: float = 1.0) -> None:
        self.weights.append(weight)


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    fake = FakeApiServer()
    fake.today = NOW.date()
    yield fake
    fake.stop()


def _settings(server: FakeApiServer, **extra: Any) -> Settings:
    return load_settings(**{**server.settings_overrides(), "http_max_retries": 2, **extra})


def _fetch(
    settings: Settings,
    lake: Lake,
    transport: httpx.AsyncBaseTransport,
    locations: list[WeatherLocation],
    start: date | datetime,
    end: date | datetime,
    **kwargs: Any,
) -> list[StagedBatch]:
    kwargs.setdefault("limiter", FastLimiter())
    return list(
        sync_iter(
            fetch_weather(
                settings,
                lake,
                "run1",
                locations,
                start,
                end,
                now=kwargs.pop("now", NOW),
                transport=transport,
                backoff_initial_s=0.001,
                **kwargs,
            )
        )
    )


def _rows(batches: list[StagedBatch]) -> list[dict[str, Any]]:
    return pa.concat_tables([b.records for b in batches]).to_pylist()


# --- planning -----------------------------------------------------------------------------


def test_plan_splits_archive_and_forecast_and_chunks() -> None:
    plan = list(
        plan_weather(
            [BERLIN, MUNICH],
            date(2026, 1, 1),
            date(2026, 4, 1),
            now=NOW,
            chunk_days=31,
            locations_per_request=1,
        )
    )
    split = datetime(2026, 3, 30, tzinfo=UTC) - timedelta(days=ARCHIVE_LAG_DAYS)
    archive = [r for r in plan if r.dataset == "archive"]
    forecast = [r for r in plan if r.dataset == "forecast"]
    assert archive[0].start == datetime(2026, 1, 1, tzinfo=UTC)
    assert archive[-1].end == split
    assert all(r.end - r.start <= timedelta(days=31) for r in archive)
    assert len(forecast) == 2
    assert forecast[0].start == split
    # Never the future: the last stored hour is 04:00–05:00 on 30 March (now is 05:30).
    assert forecast[0].end == datetime(2026, 3, 30, 5, tzinfo=UTC)
    params = forecast[0].params()
    assert params["past_days"] == str(ARCHIVE_LAG_DAYS)
    assert params["forecast_days"] == "1"
    assert params["timezone"] == "GMT"
    assert "visibility" in params["hourly"]
    assert "visibility" not in archive[0].params()["hourly"]
    # One extra hour: the archive chunk ending at midnight asks for the next day too.
    assert archive[0].params()["end_date"] == archive[0].end.date().isoformat()


def test_plan_groups_locations_into_one_request() -> None:
    (request,) = plan_weather(
        [BERLIN, MUNICH], date(2026, 3, 1), date(2026, 3, 2), now=NOW, locations_per_request=10
    )
    assert request.params()["latitude"] == "52.52,48.14"
    assert request.params()["longitude"] == "13.41,11.58"
    assert request.params()["start_date"] == "2026-03-01"
    assert request.params()["end_date"] == "2026-03-02"


def test_plan_of_a_few_days_ago_uses_the_forecast_api() -> None:
    (request,) = plan_weather([BERLIN], date(2026, 3, 25), date(2026, 3, 26), now=NOW)
    assert request.dataset == "forecast"
    assert request.params()["past_days"] == "5"
    assert request.params()["forecast_days"] == "1"
    assert request.end == datetime(2026, 3, 26, tzinfo=UTC)


def test_plan_of_the_future_is_empty() -> None:
    assert list(plan_weather([BERLIN], date(2026, 4, 1), date(2026, 4, 2), now=NOW)) == []


@pytest.mark.parametrize(
    ("locations", "start", "end", "message"),
    [
        ([], date(2026, 1, 1), date(2026, 1, 2), "no weather locations"),
        ([BERLIN, BERLIN], date(2026, 1, 1), date(2026, 1, 2), "repeat: berlin"),
        ([BERLIN], date(2026, 1, 2), date(2026, 1, 1), "not before end"),
        ([BERLIN], datetime(2026, 1, 1), date(2026, 1, 2), "no UTC offset"),
    ],
)
def test_plan_refuses_bad_requests(
    locations: list[WeatherLocation], start: Any, end: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        list(plan_weather(locations, start, end, now=NOW))


@pytest.mark.parametrize(
    ("lat", "lon", "message"), [(91.0, 0.0, "latitude"), (0.0, 181.0, "longitude")]
)
def test_location_refuses_impossible_coordinates(lat: float, lon: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WeatherLocation("x", lat, lon)
    with pytest.raises(ValueError, match="empty"):
        WeatherLocation(" ", 0, 0)


def test_request_weight_follows_the_free_tier_rule() -> None:
    assert request_weight(1, 7, 1) == 1
    assert request_weight(2, 7, 14) == 2
    assert request_weight(1, 20, 28) == pytest.approx(4)


# --- fetching -----------------------------------------------------------------------------


def test_forecast_fetch_shifts_accumulated_values_and_stops_at_now(
    server: FakeApiServer, lake: Lake
) -> None:
    settings = _settings(server)
    limiter = FastLimiter()
    start = datetime(2026, 3, 29, 20, tzinfo=UTC)
    batches = _fetch(
        settings,
        lake,
        server.mock_transport(),
        [BERLIN, MUNICH],
        start,
        date(2026, 3, 31),
        limiter=limiter,
    )
    assert len(batches) == 1, "both locations in one forecast request"
    rows = _rows(batches)
    hours = [start + timedelta(hours=i) for i in range(9)]  # 20:00 … 04:00, 04:00–05:00 is over
    assert [r["hour"] for r in rows] == hours + hours
    for row in rows:
        loc = BERLIN if row["location_id"] == "berlin" else MUNICH
        truth = true_hour(loc.latitude, loc.longitude, row["hour"])
        assert row["temperature_c"] == truth["temperature_2m"]
        assert row["precipitation_mm"] == truth["precipitation"]
        assert row["rain_mm"] == truth["rain"]
        assert row["snowfall_cm"] == truth["snowfall"]
        assert row["wind_speed_kmh"] == truth["wind_speed_10m"]
        assert row["weather_code"] == truth["weather_code"]
        assert row["visibility_m"] == truth["visibility"]
        assert (row["latitude"], row["longitude"]) == (loc.latitude, loc.longitude)
        assert row["as_of"] == NOW
        assert row["_reason"] is None
        assert row["source"] == "open_meteo"
    assert any(r["precipitation_mm"] for r in rows), "the fixture weather has rain"
    (query,) = [r.query for r in server.requests]
    assert query["timezone"] == ["GMT"]
    assert query["latitude"] == ["52.52,48.14"]
    assert "apikey" not in query
    assert limiter.weights == [2.0]
    key = batches[0].inputs[0]
    assert key.startswith("bronze/open_meteo/forecast/date=2026-03-30/run1/")
    meta = read_meta(lake, key)
    assert meta["status"] == 200
    assert meta["as_of"] == NOW.isoformat()


def test_archive_fetch_of_a_dst_change_day_has_24_utc_hours(
    server: FakeApiServer, lake: Lake
) -> None:
    rows = _rows(
        _fetch(
            _settings(server),
            lake,
            server.mock_transport(),
            [BERLIN],
            date(2025, 10, 26),
            date(2025, 10, 27),
        )
    )
    assert len(rows) == 24
    assert [r["hour"] for r in rows] == [
        datetime(2025, 10, 26, tzinfo=UTC) + timedelta(hours=i) for i in range(24)
    ]
    assert all(r["visibility_m"] is None for r in rows), "the archive has no visibility"
    (query,) = [r.query for r in server.requests if r.path == "/v1/archive"][-1:]
    assert query["end_date"] == ["2025-10-27"], "one hour beyond the range"


def test_long_ranges_stream_in_chunks_with_bounded_flight(
    server: FakeApiServer, lake: Lake
) -> None:
    inner = server.mock_transport()
    flight = {"now": 0, "peak": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        flight["now"] += 1
        flight["peak"] = max(flight["peak"], flight["now"])
        await asyncio.sleep(0.005)
        flight["now"] -= 1
        return inner.handle_request(request)

    settings = _settings(server, http_concurrency=2)
    batches = _fetch(
        settings,
        lake,
        httpx.MockTransport(handler),
        [BERLIN, MUNICH],
        date(2025, 1, 1),
        date(2026, 1, 1),
        chunk_days=31,
    )
    assert len(batches) == 12
    assert flight["peak"] == 2
    keys = [
        (h, loc)
        for b in batches
        for h, loc in zip(
            b.records.column("hour").to_pylist(),
            b.records.column("location_id").to_pylist(),
            strict=True,
        )
    ]
    assert len(keys) == len(set(keys)) == 2 * 365 * 24
    assert len(list(lake.list("bronze/open_meteo/archive"))) == 24  # payload + meta each


def test_api_key_uses_customer_hosts_and_is_never_stored(lake: Lake) -> None:
    seen: list[httpx.Request] = []
    body = json.dumps(json.loads((FIXTURES / "forecast_two_locations.json").read_text())[0])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body.encode())

    settings = load_settings(openmeteo_api_key="key-SECRET-42")
    batches = _fetch(
        settings,
        lake,
        httpx.MockTransport(handler),
        [BERLIN],
        datetime(2026, 3, 29, tzinfo=UTC),
        datetime(2026, 3, 29, 3, tzinfo=UTC),
        limiter=None,
    )
    assert seen[0].url.host == "customer-api.open-meteo.com"
    assert seen[0].url.params["apikey"] == "key-SECRET-42"
    assert batches[0].records.num_rows == 3
    for key in lake.list("bronze"):
        assert b"key-SECRET-42" not in lake.read_bytes(key)


def test_recorded_two_location_response_parses(lake: Lake) -> None:
    payload = (FIXTURES / "forecast_two_locations.json").read_bytes()
    meta = {
        "locations": [BERLIN.to_json(), MUNICH.to_json()],
        "hours": {"start": "2026-03-28T00:00:00+00:00", "end": "2026-03-29T23:00:00+00:00"},
        "as_of": NOW.isoformat(),
    }
    batch = stage_bronze_payload(
        "open_meteo", "forecast", payload, meta, run_id="r2", input_key="bronze/x.json"
    )
    assert batch.records.num_rows == 2 * 47
    assert batch.records.column("_reason").null_count == 2 * 47
    assert batch.inputs == ("bronze/x.json",)


def test_replay_of_landed_payload_reproduces_the_records(server: FakeApiServer, lake: Lake) -> None:
    (batch,) = _fetch(
        _settings(server),
        lake,
        server.mock_transport(),
        [BERLIN],
        date(2026, 3, 1),
        date(2026, 3, 2),
    )
    key = batch.inputs[0]
    replayed = stage_bronze_payload(
        "open_meteo",
        "archive",
        lake.read_bytes(key),
        read_meta(lake, key),
        run_id="run1",
        input_key=key,
    )
    drop = ["ingested_at"]
    assert replayed.records.drop(drop).equals(batch.records.drop(drop))


def test_replay_without_request_metadata_is_refused() -> None:
    with pytest.raises(SourceError, match="lacks the request"):
        stage_bronze_payload("open_meteo", "archive", b"{}", {}, run_id="r", input_key="k")
    with pytest.raises(SourceError, match="no parser for bronze open_meteo/hourly"):
        stage_bronze_payload("open_meteo", "hourly", b"{}", {}, run_id="r", input_key="k")


# --- failures -----------------------------------------------------------------------------


def test_400_quotes_the_reason(server: FakeApiServer, lake: Lake) -> None:
    server.inject(
        "/v1/archive", FakeResponse(400, json.loads((FIXTURES / "error_400.json").read_text()))
    )
    with pytest.raises(
        SourceError, match=r"HTTP 400: Open-Meteo says: Cannot initialize .*tempeture_2m"
    ):
        _fetch(
            _settings(server),
            lake,
            server.mock_transport(),
            [BERLIN],
            date(2026, 3, 1),
            date(2026, 3, 2),
        )
    assert list(lake.list("bronze")) == []


@pytest.mark.parametrize("status", [401, 403, 404])
def test_other_client_errors_fail_without_retry(
    server: FakeApiServer, lake: Lake, status: int
) -> None:
    server.inject("/v1/archive", FakeResponse(status, b"nope"))
    with pytest.raises(SourceError, match=rf"HTTP {status}: nope"):
        _fetch(
            _settings(server),
            lake,
            server.mock_transport(),
            [BERLIN],
            date(2026, 3, 1),
            date(2026, 3, 2),
        )
    assert len(server.requests) == 1
    assert list(lake.list("bronze")) == []


def test_429_and_5xx_are_retried_then_succeed(server: FakeApiServer, lake: Lake) -> None:
    limit = json.loads((FIXTURES / "error_429.json").read_text())
    server.inject(
        "/v1/archive",
        FakeResponse(429, limit, {"Retry-After": "0"}),
        FakeResponse(500, b"oops"),
        FakeResponse(503, b"busy"),
    )
    settings = _settings(server, http_max_retries=3)
    (batch,) = _fetch(
        settings, lake, server.mock_transport(), [BERLIN], date(2026, 3, 1), date(2026, 3, 2)
    )
    assert batch.records.num_rows == 24
    assert len(server.requests) == 4
    assert read_meta(lake, batch.inputs[0])["attempts"] == 4


@pytest.mark.parametrize("status", [429, 500, 503])
def test_persistent_failure_gives_up_and_lands_nothing(
    server: FakeApiServer, lake: Lake, status: int
) -> None:
    server.inject("/v1/archive", *[FakeResponse(status, {"error": True, "reason": "down"})] * 3)
    with pytest.raises(
        SourceError, match=rf"HTTP {status}: Open-Meteo says: down .*gave up after 3"
    ):
        _fetch(
            _settings(server),
            lake,
            server.mock_transport(),
            [BERLIN],
            date(2026, 3, 1),
            date(2026, 3, 2),
        )
    assert list(lake.list("bronze")) == []


def test_timeouts_are_retried_then_reported(server: FakeApiServer, lake: Lake) -> None:
    server.inject("/v1/archive", *[FakeResponse(200, b"{}", delay_s=1)] * 3)
    with pytest.raises(SourceError, match="timed out"):
        _fetch(
            _settings(server),
            lake,
            server.mock_transport(),
            [BERLIN],
            date(2026, 3, 1),
            date(2026, 3, 2),
        )
    assert list(lake.list("bronze")) == []


def test_malformed_json_is_landed_whole_and_reported(server: FakeApiServer, lake: Lake) -> None:
    server.inject("/v1/archive", FakeResponse(200, b'{"hourly": {"time": [1,'))
    with pytest.raises(
        SourceError, match=r"bronze/open_meteo/archive/.*r00000\.json is not valid JSON"
    ):
        _fetch(
            _settings(server),
            lake,
            server.mock_transport(),
            [BERLIN],
            date(2026, 3, 1),
            date(2026, 3, 2),
        )
    (payload, meta) = sorted(lake.list("bronze"), key=len)
    assert lake.read_bytes(payload) == b'{"hourly": {"time": [1,'
    assert meta == meta_key(payload)


# --- record-level parsing -----------------------------------------------------------------


def _block(times: list[Any], **series: list[Any]) -> dict[str, Any]:
    hourly: dict[str, Any] = {"time": times}
    for name in (
        "temperature_2m",
        "precipitation",
        "rain",
        "snowfall",
        "wind_speed_10m",
        "weather_code",
    ):
        hourly[name] = series.get(name, [0] * len(times))
    return {
        "latitude": 52.5,
        "longitude": 13.4,
        "utc_offset_seconds": series.get("offset", [0])[0],
        "hourly": hourly,
    }


def _stage(
    document: Any, start: str = "2026-03-01T00:00:00+00:00", end: str = "2026-03-01T04:00:00+00:00"
) -> list[dict[str, Any]]:
    meta = {
        "locations": [BERLIN.to_json()],
        "hours": {"start": start, "end": end},
        "as_of": NOW.isoformat(),
    }
    batch = stage_bronze_payload(
        "open_meteo", "archive", json.dumps(document).encode(), meta, run_id="r", input_key="k"
    )
    return batch.records.to_pylist()


TIMES = [f"2026-03-01T{h:02d}:00" for h in range(5)]


def test_nulls_stay_null() -> None:
    rows = _stage(
        _block(TIMES, temperature_2m=[None, 1.0, 2, 3, 4], precipitation=[0, None, 0.2, 0, 0])
    )
    assert rows[0]["temperature_c"] is None
    assert rows[0]["precipitation_mm"] is None, "the hour 00–01 total is reported at 01:00"
    assert rows[1]["precipitation_mm"] == 0.2
    assert rows[2]["temperature_c"] == 2.0
    assert all(r["_reason"] is None for r in rows)


def test_wrong_types_quarantine_only_their_record() -> None:
    rows = _stage(
        _block(
            TIMES,
            temperature_2m=[1, "warm", 3, 4, 5],
            weather_code=[0, 0, 61.5, 0, 0],
            rain=[0, 0, 0, 0, True],
        )
    )
    reasons = [r["_reason"] for r in rows]
    assert reasons[0] is None
    assert "temperature_2m is 'warm', not a number" in reasons[1]
    assert "weather_code is 61.5" in reasons[2]
    assert "rain is True" in reasons[3], "rain at 04:00 belongs to the hour 03:00"
    assert rows[1]["temperature_c"] is None
    assert json.loads(rows[1]["_raw"])["temperature_2m"] == "warm"


def test_bad_and_duplicate_times() -> None:
    rows = _stage(
        _block(
            [
                "2026-03-01T00:00",
                "yesterday",
                "2026-03-01T01:00",
                "2026-03-01T01:00",
                "2026-03-01T02:00",
            ]
        )
    )
    assert "'yesterday' is not ISO 8601" in rows[1]["_reason"]
    assert [r["hour"] for r in rows if r["_reason"] is None] == [
        datetime(2026, 3, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 1, tzinfo=UTC),
    ]
    seqs = [r["_seq"] for r in rows]
    assert seqs == list(range(len(rows))), "the later duplicate has the higher _seq and wins"


def test_missing_next_hour_is_a_reason() -> None:
    rows = _stage(_block(TIMES[:3]))
    assert rows[-1]["hour"] == datetime(2026, 3, 1, 2, tzinfo=UTC)
    assert "next hour, which the response lacks" in rows[-1]["_reason"]


def test_local_offset_is_removed() -> None:
    block = _block(TIMES, offset=[3600])
    rows = _stage(block, start="2026-02-28T23:00:00+00:00")
    assert rows[0]["hour"] == datetime(2026, 2, 28, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"hourly": {"time": TIMES, "rain": [0]}}, "hourly.rain has 1 values for 5 times"),
        ({"latitude": 1}, "no 'hourly' object"),
        ({"hourly": {}}, "no hourly.time list"),
        ([_block(TIMES), _block(TIMES)], "has 2 locations, the request named 1"),
        (
            {"hourly": {"time": TIMES}, "hourly_units": {"wind_speed_10m": "mp/h"}},
            "umwi expects 'km/h'",
        ),
        ({"hourly": {"time": TIMES}, "utc_offset_seconds": "1h"}, "not an integer"),
        ({"error": True, "reason": "bad"}, "is an error: bad"),
    ],
)
def test_malformed_responses_are_refused_clearly(document: Any, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        _stage(document)


# --- end to end over HTTP -----------------------------------------------------------------


def test_end_to_end_against_the_fake_server(fake_api: FakeApiServer, lake: Lake) -> None:
    fake_api.today = NOW.date()
    fake_api.openmeteo_api_key = "fake-key-123"
    fake_api.inject("/v1/forecast", FakeResponse(503, b"busy", {"Retry-After": "0"}))
    settings = _settings(fake_api, http_timeout_s=5)

    async def run() -> list[StagedBatch]:
        return [
            b
            async for b in fetch_weather(
                settings,
                lake,
                "e2e",
                [BERLIN, MUNICH],
                date(2026, 3, 20),
                date(2026, 3, 30),
                now=NOW,
                backoff_initial_s=0.001,
            )
        ]

    batches = asyncio.run(run())
    rows = _rows(batches)
    assert len(rows) == 2 * 10 * 24
    assert {r.path for r in fake_api.requests} == {"/v1/archive", "/v1/forecast"}
    assert all(r.query["apikey"] == ["fake-key-123"] for r in fake_api.requests)
    for key in lake.list("bronze"):
        assert b"fake-key-123" not in lake.read_bytes(key)


def test_empty_response_and_missing_variables() -> None:
    assert _stage({"hourly": {"time": []}}) == []
    block = _block(TIMES, precipitation=[0, 0.4, 0, 0, 0])
    del block["hourly"]["snowfall"]
    rows = _stage(block)
    assert [r["snowfall_cm"] for r in rows] == [None] * 4
    assert rows[0]["precipitation_mm"] == 0.4
    assert all(r["_reason"] is None for r in rows)
