"""The Open-Meteo weather connector: plan requests, fetch, land in bronze, stage records.

Recent days come from the forecast API with `past_days` (the archive lags about five days),
older ones from the archive in chunks. Every request asks for `timezone=GMT`: one
`utc_offset_seconds` applies to a whole response, so local-time answers are wrong across a
DST change. Hours that are not over yet are never stored.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
from umwi_core import Lake, Settings, SourceError
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze import land
from umwi_connectors._http import HttpResponse, HttpSource, RateLimiter, ordered_gather
from umwi_connectors._openmeteo_parse import (
    ACCUMULATED,
    HOUR,
    SOURCE,
    WeatherLocation,
    parse_openmeteo,
)

__all__ = [
    "ARCHIVE_LAG_DAYS",
    "FREE_TIER_QUOTA",
    "OpenMeteoClient",
    "WeatherRequest",
    "fetch_weather",
    "plan_weather",
    "request_weight",
    "stage_openmeteo_payload",
]

log = logging.getLogger(__name__)

#: Days the archive lags behind today; newer days come from the forecast API.
ARCHIVE_LAG_DAYS = 7
#: The forecast API's `past_days` maximum.
MAX_PAST_DAYS = 92
#: Free tier: 600 per minute, 5 000 per hour, 10 000 per day (weighted calls).
FREE_TIER_QUOTA = ((600.0, 60.0), (5_000.0, 3_600.0), (10_000.0, 86_400.0))
FREE_HOSTS = {
    "https://api.open-meteo.com": "https://customer-api.open-meteo.com",
    "https://archive-api.open-meteo.com": "https://customer-archive-api.open-meteo.com",
}
ARCHIVE_VARIABLES = ("temperature_2m", *ACCUMULATED, "wind_speed_10m", "weather_code")
FORECAST_VARIABLES = (*ARCHIVE_VARIABLES, "visibility")

_free_tier: RateLimiter | None = None


def free_tier_limiter() -> RateLimiter:
    """One limiter per process: the free quota counts per client address."""
    global _free_tier
    if _free_tier is None:
        _free_tier = RateLimiter(FREE_TIER_QUOTA)
    return _free_tier


def request_weight(locations: int, variables: int, days: int) -> float:
    """Open-Meteo counts a call with more than 10 variables or 14 days as several."""
    return locations * max(1.0, variables / 10) * max(1.0, days / 14)


def _error_reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")[:200]
        return text or response.reason_phrase
    if isinstance(body, dict) and body.get("reason"):
        return f"Open-Meteo says: {body['reason']}"
    return json.dumps(body)[:200]


@dataclass(frozen=True)
class WeatherRequest:
    """One planned request: a group of locations over [start, end) hours (UTC)."""

    dataset: str  # "forecast" or "archive"
    locations: tuple[WeatherLocation, ...]
    start: datetime
    end: datetime
    today: date

    @property
    def variables(self) -> tuple[str, ...]:
        return FORECAST_VARIABLES if self.dataset == "forecast" else ARCHIVE_VARIABLES

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        # The accumulated values of the last hour sit at `end`, one hour beyond the range.
        return self.end.date()

    def params(self) -> dict[str, str]:
        params = {
            "latitude": ",".join(f"{loc.latitude:g}" for loc in self.locations),
            "longitude": ",".join(f"{loc.longitude:g}" for loc in self.locations),
            "hourly": ",".join(self.variables),
            "timezone": "GMT",
            "timeformat": "iso8601",
        }
        if self.dataset == "forecast":
            params["past_days"] = str((self.today - self.first_day).days)
            # Today is always included; a range ending days ago just ignores the extra hours.
            params["forecast_days"] = str(max(1, (self.last_day - self.today).days + 1))
        else:
            params["start_date"] = self.first_day.isoformat()
            params["end_date"] = self.last_day.isoformat()
        return params

    @property
    def weight(self) -> float:
        # past_days + forecast_days spans the same days as start_date..end_date would.
        days = (self.last_day - self.first_day).days + 1
        return request_weight(len(self.locations), len(self.variables), days)

    def meta(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "locations": [loc.to_json() for loc in self.locations],
            "hours": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "params": self.params(),
        }


def _as_utc_hour(value: date | datetime, name: str, *, ceil: bool) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"weather {name} {value.isoformat()} has no UTC offset")
        moment = value.astimezone(UTC)
    else:
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    floored = moment.replace(minute=0, second=0, microsecond=0)
    return floored + HOUR if ceil and floored != moment else floored


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def plan_weather(
    locations: Sequence[WeatherLocation],
    start: date | datetime,
    end: date | datetime,
    *,
    now: datetime,
    chunk_days: int = 31,
    locations_per_request: int = 10,
) -> Iterator[WeatherRequest]:
    """The requests covering hours [start, end) that are over by `now`, oldest first.

    A date means its midnight UTC, so `end` is exclusive: start=2026-03-01, end=2026-03-02
    is the 24 hours of 1 March.
    """
    if not locations:
        raise ValueError("no weather locations given")
    ids = [loc.location_id for loc in locations]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"weather location ids repeat: {', '.join(duplicates)}")
    if chunk_days < 1 or locations_per_request < 1:
        raise ValueError("chunk_days and locations_per_request must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must carry a UTC offset")
    first = _as_utc_hour(start, "start", ceil=False)
    stop = _as_utc_hour(end, "end", ceil=True)
    if first >= stop:
        raise ValueError(f"weather start {first:%Y-%m-%dT%H:%M}Z is not before end")
    # An hour is stored once it is over: its accumulated values are then final.
    stop = min(stop, now.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
    if first >= stop:
        return
    today = now.astimezone(UTC).date()
    split = _midnight(today - timedelta(days=ARCHIVE_LAG_DAYS))
    groups = [
        tuple(locations[i : i + locations_per_request])
        for i in range(0, len(locations), locations_per_request)
    ]
    cursor = first
    while cursor < min(stop, split):
        chunk_end = min(cursor + timedelta(days=chunk_days), stop, split)
        for group in groups:
            yield WeatherRequest("archive", group, cursor, chunk_end, today)
        cursor = chunk_end
    if cursor < stop:
        if (today - cursor.date()).days > MAX_PAST_DAYS:
            raise ValueError("forecast segment reaches further back than past_days allows")
        for group in groups:
            yield WeatherRequest("forecast", group, cursor, stop, today)


class OpenMeteoClient:
    """The forecast and archive endpoints behind one rate limiter and retry policy.

    With `UMWI_OPENMETEO_API_KEY` set, requests carry `apikey=` and the public hosts are
    swapped for the customer ones; without it the free tier's weighted quota is enforced.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: RateLimiter | None = None,
        backoff_initial_s: float = 0.5,
    ) -> None:
        key = settings.openmeteo_api_key.get_secret_value() if settings.openmeteo_api_key else None
        forecast_url, archive_url = settings.openmeteo_url, settings.openmeteo_archive_url
        params: dict[str, str] = {}
        if key:
            forecast_url = FREE_HOSTS.get(forecast_url, forecast_url)
            archive_url = FREE_HOSTS.get(archive_url, archive_url)
            params["apikey"] = key
        elif limiter is None:
            limiter = free_tier_limiter()
        self.secrets: tuple[str, ...] = (key,) if key else ()

        def source(name: str, url: str) -> HttpSource:
            return HttpSource(
                name=name,
                base_url=url,
                settings=settings,
                limiter=limiter,
                params=params,
                secrets=self.secrets,
                describe_error=_error_reason,
                transport=transport,
                backoff_initial_s=backoff_initial_s,
            )

        self._sources = {
            "forecast": source("open_meteo forecast", forecast_url),
            "archive": source("open_meteo archive", archive_url),
        }

    async def __aenter__(self) -> OpenMeteoClient:
        for source in self._sources.values():
            await source.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for source in self._sources.values():
            await source.__aexit__(*exc)

    async def get(self, request: WeatherRequest) -> HttpResponse:
        path = "/v1/forecast" if request.dataset == "forecast" else "/v1/archive"
        source = self._sources[request.dataset]
        return await source.get(path, request.params(), weight=request.weight)


async def fetch_weather(
    settings: Settings,
    lake: Lake,
    run_id: str,
    locations: Sequence[WeatherLocation],
    start: date | datetime,
    end: date | datetime,
    *,
    now: datetime | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    limiter: RateLimiter | None = None,
    chunk_days: int = 31,
    locations_per_request: int = 10,
    backoff_initial_s: float = 0.5,
) -> AsyncIterator[StagedBatch]:
    """Fetch hourly weather for [start, end), land each response, yield one batch each.

    At most `settings.http_concurrency` requests are in flight and at most that many
    batches are held, whatever the range. Raises `SourceError` on a failed request.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    plan = list(
        plan_weather(
            locations,
            start,
            end,
            now=moment,
            chunk_days=chunk_days,
            locations_per_request=locations_per_request,
        )
    )
    if not plan:
        log.info("open_meteo: no complete hours in the requested range yet")
        return

    async with OpenMeteoClient(
        settings, transport=transport, limiter=limiter, backoff_initial_s=backoff_initial_s
    ) as client:

        async def one(number: int, request: WeatherRequest) -> StagedBatch:
            response = await client.get(request)
            meta = response.meta(**request.meta(), as_of=moment.isoformat())
            key = await asyncio.to_thread(
                land,
                lake,
                source=SOURCE,
                dataset=request.dataset,
                run_id=run_id,
                part=f"r{number:05d}",
                ext="json",
                payload=response.content,
                meta=meta,
                day=moment.date(),
                secrets=client.secrets,
            )
            return parse_openmeteo(
                response.content,
                locations=request.locations,
                start=request.start,
                end=request.end,
                as_of=moment,
                ingested_at=datetime.now(UTC) if now is None else moment,
                run_id=run_id,
                input_key=key,
            )

        jobs = (functools.partial(one, n, r) for n, r in enumerate(plan))
        async for batch in ordered_gather(jobs, settings.http_concurrency):
            yield batch


def stage_openmeteo_payload(
    payload: bytes, meta: dict[str, object], *, run_id: str, input_key: str
) -> StagedBatch:
    """Re-parse a landed Open-Meteo response with the request recorded in its metadata."""
    try:
        locations = [WeatherLocation.from_json(item) for item in meta["locations"]]  # type: ignore[attr-defined]
        hours: dict[str, str] = meta["hours"]  # type: ignore[assignment]
        start = datetime.fromisoformat(hours["start"])
        end = datetime.fromisoformat(hours["end"])
        as_of = datetime.fromisoformat(str(meta["as_of"]))
    except (KeyError, TypeError, ValueError) as error:
        raise SourceError(
            f"{input_key}: its .meta.json lacks the request (locations, hours, as_of): {error}"
        ) from None
    return parse_openmeteo(
        payload,
        locations=locations,
        start=start,
        end=end,
        as_of=as_of,
        ingested_at=datetime.now(UTC),
        run_id=run_id,
        input_key=input_key,
    )
