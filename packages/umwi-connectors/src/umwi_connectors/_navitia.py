"""The Navitia punctuality connector: page through departures, land each page, stage it.

Navitia has no history API, so umwi polls: each poll lands its pages and stages every
departure with `as_of` = the response's `context.current_datetime`; repeated polls of the
same departure converge to one silver row by the key rule (latest `as_of` wins).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Literal

import httpx
from umwi_core import Lake, Settings, SourceError
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze import land
from umwi_connectors._http import HttpResponse, HttpSource, RateLimiter, ordered_gather
from umwi_connectors._navitia_parse import SOURCE, NavitiaPage, parse_navitia

__all__ = [
    "NAVITIA_QUOTA",
    "NavitiaClient",
    "fetch_departures",
    "stage_navitia_payload",
]

log = logging.getLogger(__name__)

Endpoint = Literal["departures", "stop_schedules"]
#: Navitia's public quota: 5 requests per second.
NAVITIA_QUOTA = ((5.0, 1.0),)
#: Refuse to page further: a stop area with more departures needs a shorter `duration`.
MAX_PAGES = 1_000
_ID = re.compile(r"^[^/?#\s]+$")

_shared: RateLimiter | None = None


def navitia_limiter() -> RateLimiter:
    """One limiter per process: the quota counts per token."""
    global _shared
    if _shared is None:
        _shared = RateLimiter(NAVITIA_QUOTA)
    return _shared


def _describe(response: httpx.Response) -> str:
    hint = ""
    if response.status_code in (401, 403):
        hint = " (check UMWI_NAVITIA_TOKEN)"
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")[:200]
        return (text or response.reason_phrase) + hint
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{error.get('id', 'error')}: {error.get('message', '')}".strip() + hint
    if isinstance(body, dict) and body.get("message"):
        return f"{body['message']}{hint}"
    return json.dumps(body)[:200] + hint


class NavitiaClient:
    """Navitia's coverage API with the token in the `Authorization` header."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: RateLimiter | None = None,
        backoff_initial_s: float = 0.5,
    ) -> None:
        token = settings.navitia_token.get_secret_value() if settings.navitia_token else None
        self.secrets: tuple[str, ...] = (token,) if token else ()
        self._source = HttpSource(
            name="navitia",
            base_url=settings.navitia_url,
            settings=settings,
            limiter=limiter or navitia_limiter(),
            headers={"Authorization": token} if token else {},
            secrets=self.secrets,
            describe_error=_describe,
            transport=transport,
            backoff_initial_s=backoff_initial_s,
        )

    async def __aenter__(self) -> NavitiaClient:
        await self._source.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._source.__aexit__(*exc)

    async def page(
        self, region: str, stop_area: str, endpoint: Endpoint, params: dict[str, str]
    ) -> HttpResponse:
        for name, value in (("region", region), ("stop area", stop_area)):
            if not _ID.fullmatch(value):
                raise ValueError(f"navitia {name} {value!r} is not a plain id")
        path = f"/coverage/{region}/stop_areas/{stop_area}/{endpoint}"
        response = await self._source.get(path, params)
        if response.status == 204 or not response.content.strip():
            raise SourceError(
                f"navitia: HTTP {response.status} with no content for {endpoint} of "
                f"{stop_area} in {region} (GET {response.url}); the coverage may not "
                "serve that stop area at that time"
            )
        return response


def _pagination(payload: bytes, where: str) -> tuple[int, int, int]:
    """(items on page, items per page, total) from a page's `pagination` block."""
    try:
        block = json.loads(payload).get("pagination") or {}
        return (
            int(block.get("items_on_page", 0)),
            int(block.get("items_per_page", 0)),
            int(block.get("total_result", 0)),
        )
    except (ValueError, TypeError, AttributeError):
        raise SourceError(f"{where}: pagination is not readable") from None


def _part(index: int, page: int) -> str:
    return f"s{index:04d}-p{page:04d}"


async def fetch_departures(
    settings: Settings,
    lake: Lake,
    run_id: str,
    *,
    region: str,
    stop_areas: Sequence[str],
    endpoint: Endpoint = "departures",
    from_datetime: datetime | None = None,
    duration_s: int = 3_600,
    count: int = 100,
    data_freshness: Literal["realtime", "base_schedule"] = "realtime",
    transport: httpx.AsyncBaseTransport | None = None,
    limiter: RateLimiter | None = None,
    backoff_initial_s: float = 0.5,
    now: datetime | None = None,
) -> AsyncIterator[StagedBatch]:
    """Poll each stop area of `region` and yield one staged batch per landed page.

    `from_datetime` is naive local time of the coverage (Navitia's convention); None asks
    for "now". Pages after the first are fetched with `settings.http_concurrency` in flight.
    """
    if not stop_areas:
        raise ValueError("no Navitia stop areas given")
    if endpoint not in ("departures", "stop_schedules"):
        raise ValueError(f"navitia endpoint {endpoint!r} is not departures or stop_schedules")
    if from_datetime is not None and from_datetime.tzinfo is not None:
        raise ValueError("from_datetime is local to the coverage: pass it without an offset")
    if not 1 <= count <= 1_000 or not 60 <= duration_s <= 86_400:
        raise ValueError("count must be 1–1000 and duration_s 60–86400")
    base_params = {
        "duration": str(duration_s),
        "count": str(count),
        "data_freshness": data_freshness,
        "depth": "1",
        "disable_geojson": "true",
    }
    if from_datetime is not None:
        base_params["from_datetime"] = from_datetime.strftime("%Y%m%dT%H%M%S")
    moment = (now or datetime.now(UTC)).astimezone(UTC)

    async with NavitiaClient(
        settings, transport=transport, limiter=limiter, backoff_initial_s=backoff_initial_s
    ) as client:

        async def one(index: int, stop_area: str, page: int) -> tuple[StagedBatch, bytes]:
            params = {**base_params, "start_page": str(page)}
            response = await client.page(region, stop_area, endpoint, params)
            meta = response.meta(
                region=region, stop_area=stop_area, endpoint=endpoint, start_page=page
            )
            key = await asyncio.to_thread(
                land,
                lake,
                source=SOURCE,
                dataset=endpoint,
                run_id=run_id,
                part=_part(index, page),
                ext="json",
                payload=response.content,
                meta=meta,
                day=moment.date(),
                secrets=client.secrets,
            )
            batch = parse_navitia(
                response.content,
                NavitiaPage(
                    region, endpoint, run_id, key, datetime.now(UTC) if now is None else moment
                ),
            )
            return batch, response.content

        for index, stop_area in enumerate(stop_areas):
            first, payload = await one(index, stop_area, 0)
            yield first
            on_page, per_page, total = _pagination(payload, f"navitia {stop_area} page 0")
            if on_page == 0 or per_page <= 0 or total <= per_page:
                continue
            pages = -(-total // per_page)
            if pages > MAX_PAGES:
                raise SourceError(
                    f"navitia: {stop_area} has {total} {endpoint} ({pages} pages); "
                    "ask for a shorter duration"
                )
            jobs = (functools.partial(one, index, stop_area, page) for page in range(1, pages))
            async for batch, _ in ordered_gather(jobs, settings.http_concurrency):
                yield batch


def stage_navitia_payload(
    payload: bytes, meta: dict[str, object], *, run_id: str, input_key: str
) -> StagedBatch:
    """Re-parse a landed Navitia page with the request recorded in its metadata."""
    region, endpoint = meta.get("region"), meta.get("endpoint")
    if not isinstance(region, str) or endpoint not in ("departures", "stop_schedules"):
        raise SourceError(f"{input_key}: its .meta.json lacks the region or endpoint")
    page = NavitiaPage(str(region), str(endpoint), run_id, input_key, datetime.now(UTC))
    return parse_navitia(payload, page)
