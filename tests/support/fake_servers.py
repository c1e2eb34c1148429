"""A fake Open-Meteo + Navitia HTTP server on 127.0.0.1 for end-to-end tests.

Start it with the `fake_api` fixture (tests/conftest.py) or by hand::

    with FakeApiServer() as server:
        env = server.settings_env()  # UMWI_OPENMETEO_URL, UMWI_NAVITIA_URL, …
        settings = load_settings(**server.settings_overrides())

What it serves
- `GET /v1/forecast` and `/v1/archive`: Open-Meteo JSON computed on the fly for any
  `latitude`/`longitude` list (one object, or a list for several), `hourly` variables,
  `start_date`/`end_date` (archive) or `past_days`/`forecast_days` (forecast, relative to
  `server.today`), `timezone=GMT` only (anything else → 400 with Open-Meteo's error body).
  The weather is deterministic: `true_hour(lat, lon, hour)` gives the values of the hour
  [hour, hour+1h); accumulated ones are reported at hour+1h as the real API does, so a test
  can check that the connector recovers `true_hour`. `visibility` is refused by the archive.
  With `server.openmeteo_api_key` set, requests must carry `apikey=` (else 400).
- `GET /navitia/v1/coverage/<region>/stop_areas/<id>/departures|stop_schedules`: the
  document registered with `server.add_navitia(region, stop_area, document)` (default: the
  `tests/fixtures/navitia/departures_dst.json` poll for `fr-test` /
  `stop_area:TEST:SA:central`), paginated by `count` and `start_page` with a correct
  `pagination` block. The token in `Authorization` must equal `server.navitia_token`
  (default `navitia-test-token`), else 401; an unknown stop area gives 404 `unknown_object`.

Failure injection
- `server.inject(path_prefix, FakeResponse(...), ...)` queues responses that the next
  requests whose path starts with `path_prefix` get instead, in order: any status, body,
  headers (`Retry-After`), or `delay_s` to make the client time out.
- `server.requests` records every request (path, query, headers) for assertions.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NAVITIA_PREFIX = "/navitia/v1"
DEFAULT_REGION = "fr-test"
DEFAULT_STOP_AREA = "stop_area:TEST:SA:central"
DEFAULT_TOKEN = "navitia-test-token"

ACCUMULATED = ("precipitation", "rain", "snowfall")
UNITS = {
    "temperature_2m": "°C",
    "precipitation": "mm",
    "rain": "mm",
    "snowfall": "cm",
    "wind_speed_10m": "km/h",
    "weather_code": "wmo code",
    "visibility": "m",
}


@dataclass(frozen=True)
class FakeResponse:
    """An injected answer: status, JSON-able or raw body, headers, and a delay before it."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


def true_hour(latitude: float, longitude: float, hour: datetime) -> dict[str, float | int]:
    """The fake weather of [hour, hour+1h) at a place: instant values at `hour`, totals."""
    index = int(hour.timestamp() // 3600)
    local = (index + round(longitude / 15)) % 24
    temperature = round(2 + 8 * math.sin(2 * math.pi * (local - 9) / 24) - abs(latitude) / 20, 1)
    wet = index % 7 == 0 or index % 11 == 0
    precipitation = 0.0
    if wet:
        precipitation = 3.4 if index % 11 == 0 else 1.2
    snow = wet and temperature < 0
    return {
        "temperature_2m": temperature,
        "precipitation": precipitation,
        "rain": 0.0 if snow else precipitation,
        "snowfall": round(precipitation * 0.7, 2) if snow else 0.0,
        "wind_speed_10m": round(12 + 6 * math.cos(index / 5), 1),
        "weather_code": (71 if snow else 61) if wet else 0,
        "visibility": 8000.0 if wet else 24140.0,
    }


def openmeteo_block(
    latitude: float, longitude: float, first: date, last: date, variables: list[str]
) -> dict[str, Any]:
    """One location's Open-Meteo answer for the days first..last (GMT, ISO times)."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    hours = ((last - first).days + 1) * 24
    times = [start + timedelta(hours=i) for i in range(hours)]
    hourly: dict[str, list[Any]] = {"time": [t.strftime("%Y-%m-%dT%H:%M") for t in times]}
    for name in variables:
        if name in ACCUMULATED:
            # The total reported at T fell in (T−1h, T].
            hourly[name] = [
                true_hour(latitude, longitude, t - timedelta(hours=1))[name] for t in times
            ]
        else:
            hourly[name] = [true_hour(latitude, longitude, t)[name] for t in times]
    return {
        "latitude": round(latitude, 2),
        "longitude": round(longitude, 2),
        "generationtime_ms": 0.5,
        "utc_offset_seconds": 0,
        "timezone": "GMT",
        "timezone_abbreviation": "GMT",
        "elevation": 35.0,
        "hourly_units": {"time": "iso8601", **{v: UNITS[v] for v in variables}},
        "hourly": hourly,
    }


def paginate_navitia(
    document: dict[str, Any], listing: str, count: int, page: int
) -> dict[str, Any]:
    items = document.get(listing, [])
    chunk = items[page * count : (page + 1) * count]
    return {
        **document,
        listing: chunk,
        "pagination": {
            "start_page": page,
            "items_on_page": len(chunk),
            "items_per_page": count,
            "total_result": len(items),
        },
    }


def load_navitia_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "navitia" / name).read_text())
    return data


class FakeApiServer:
    """See the module docstring. Thread-safe; use as a context manager."""

    def __init__(self) -> None:
        self.today: date = datetime.now(UTC).date()
        self.openmeteo_api_key: str | None = None
        self.navitia_token: str | None = DEFAULT_TOKEN
        self.requests: list[RecordedRequest] = []
        self._injected: deque[tuple[str, FakeResponse]] = deque()
        self._navitia: dict[tuple[str, str], dict[str, Any]] = {
            (DEFAULT_REGION, DEFAULT_STOP_AREA): load_navitia_fixture("departures_dst.json")
        }
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # --- control -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def navitia_url(self) -> str:
        return self.base_url + NAVITIA_PREFIX

    def settings_overrides(self) -> dict[str, Any]:
        """Keyword arguments for `load_settings` that point umwi at this server."""
        return {
            "openmeteo_url": self.base_url,
            "openmeteo_archive_url": self.base_url,
            "navitia_url": self.navitia_url,
            "navitia_token": self.navitia_token,
            "openmeteo_api_key": self.openmeteo_api_key,
        }

    def settings_env(self) -> dict[str, str]:
        """The same as `UMWI_*` environment variables (for CLI tests)."""
        return {
            f"UMWI_{name.upper()}": str(value)
            for name, value in self.settings_overrides().items()
            if value is not None
        }

    def inject(self, path_prefix: str, *responses: FakeResponse) -> None:
        with self._lock:
            self._injected.extend((path_prefix, r) for r in responses)

    def add_navitia(self, region: str, stop_area: str, document: dict[str, Any]) -> None:
        with self._lock:
            self._navitia[(region, stop_area)] = document

    def mock_transport(self) -> httpx.MockTransport:
        """The same answers in-process (no socket): an `httpx.MockTransport`.

        An injected `delay_s` becomes an `httpx.ReadTimeout`, as a client would see it.
        """

        def handle(request: httpx.Request) -> httpx.Response:
            query = parse_qs(request.url.query.decode())
            headers = {k.lower(): v for k, v in request.headers.items()}
            answer = self.answer(request.url.path, query, headers)
            if answer.delay_s:
                raise httpx.ReadTimeout("fake delay", request=request)
            return httpx.Response(answer.status, content=answer.encoded(), headers=answer.headers)

        return httpx.MockTransport(handle)

    def start(self) -> FakeApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving -----------------------------------------------------------------------
    def _take_injected(self, path: str) -> FakeResponse | None:
        with self._lock:
            for item in self._injected:
                if path.startswith(item[0]):
                    self._injected.remove(item)
                    return item[1]
        return None

    def answer(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> FakeResponse:
        with self._lock:
            self.requests.append(RecordedRequest(path, query, headers))
        injected = self._take_injected(path)
        if injected is not None:
            return injected
        if path in ("/v1/forecast", "/v1/archive"):
            return self._openmeteo(path, query)
        if path.startswith(NAVITIA_PREFIX + "/coverage/"):
            return self._navitia_answer(path[len(NAVITIA_PREFIX) :], query, headers)
        return FakeResponse(404, {"error": f"no route {path}"})

    def _openmeteo(self, path: str, query: dict[str, list[str]]) -> FakeResponse:
        def one(name: str, default: str | None = None) -> str | None:
            values = query.get(name)
            return values[0] if values else default

        def fail(reason: str) -> FakeResponse:
            return FakeResponse(400, {"error": True, "reason": reason})

        if self.openmeteo_api_key is not None and one("apikey") != self.openmeteo_api_key:
            return fail("API key required or invalid")
        if one("timezone") != "GMT":
            return fail("fake server serves timezone=GMT only")
        try:
            lats = [float(v) for v in str(one("latitude", "")).split(",")]
            lons = [float(v) for v in str(one("longitude", "")).split(",")]
        except ValueError:
            return fail("Latitude and longitude must be numbers")
        if len(lats) != len(lons):
            return fail(
                "Parameter 'latitude' and 'longitude' must have the same number of elements"
            )
        variables = [v for v in str(one("hourly", "")).split(",") if v]
        unknown = [v for v in variables if v not in UNITS]
        archive = path == "/v1/archive"
        if archive and "visibility" in variables:
            unknown.append("visibility")
        if unknown:
            return fail(
                f"Cannot initialize WeatherVariable from invalid String value {unknown[0]} "
                "for key hourly"
            )
        try:
            if archive:
                first = date.fromisoformat(str(one("start_date")))
                last = date.fromisoformat(str(one("end_date")))
            else:
                past = int(str(one("past_days", "0")))
                ahead = int(str(one("forecast_days", "7")))
                first = self.today - timedelta(days=past)
                last = self.today + timedelta(days=ahead - 1)
        except ValueError as error:
            return fail(f"Invalid date range: {error}")
        if last < first:
            return fail("End-date must be larger or equals than start-date")
        blocks = [
            openmeteo_block(a, o, first, last, variables) for a, o in zip(lats, lons, strict=True)
        ]
        return FakeResponse(200, blocks[0] if len(blocks) == 1 else blocks)

    def _navitia_answer(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> FakeResponse:
        if self.navitia_token is not None and headers.get("authorization") != self.navitia_token:
            return FakeResponse(401, {"message": "no token"})
        parts = path.strip("/").split("/")
        if len(parts) != 5 or parts[0] != "coverage" or parts[2] != "stop_areas":
            return FakeResponse(
                400, {"error": {"id": "bad_filter", "message": f"cannot route {path}"}}
            )
        region, stop_area, endpoint = parts[1], parts[3], parts[4]
        with self._lock:
            document = self._navitia.get((region, stop_area))
        if document is None:
            return FakeResponse(
                404, {"error": {"id": "unknown_object", "message": f"Invalid id : {stop_area}"}}
            )
        if endpoint not in ("departures", "stop_schedules"):
            return FakeResponse(404, {"error": {"id": "bad_filter", "message": endpoint}})
        count = int(query.get("count", ["10"])[0])
        page = int(query.get("start_page", ["0"])[0])
        return FakeResponse(200, paginate_navitia(document, endpoint, count, page))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = server.answer(url.path, parse_qs(url.query), headers)
                if answer.delay_s:
                    threading.Event().wait(answer.delay_s)
                body = answer.encoded()
                try:
                    self.send_response(answer.status)
                    if answer.status != 204:
                        self.send_header("Content-Type", "application/json; charset=utf-8")
                        self.send_header("Content-Length", str(len(body)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if answer.status != 204:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output quiet

        return Handler
