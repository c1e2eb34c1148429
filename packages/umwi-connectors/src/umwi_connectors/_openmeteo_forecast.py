"""Open-Meteo's forecast of the hours ahead, for the outlook (DESIGN.md §8).

Never into `weather_hourly` (observed hours only): the rows come back in
`weather_forecast`'s columns, issued at the fetch time, for `umwi_transform.land_forecast`.
The response is landed in bronze (`open_meteo/outlook`) for audit; `umwi build
--from-bronze` does not replay it (a forecast is superseded by the next within the hour).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pyarrow as pa
import pyarrow.compute as pc
from umwi_core import Lake, Settings, SourceError
from umwi_core.contracts import WEATHER_MEASURES

from umwi_connectors._bronze import land
from umwi_connectors._http import RateLimiter
from umwi_connectors._openmeteo import OpenMeteoClient, WeatherRequest
from umwi_connectors._openmeteo_parse import SOURCE, WeatherLocation, parse_openmeteo

__all__ = ["FORECAST_DATASET", "FORECAST_HOURS", "fetch_forecast"]

#: The bronze dataset of forecast payloads.
FORECAST_DATASET = "outlook"
FORECAST_HOURS = 48
_COLUMNS = ("location_id", "latitude", "longitude", "hour", *WEATHER_MEASURES)


async def _fetch(
    settings: Settings,
    lake: Lake,
    run_id: str,
    locations: Sequence[WeatherLocation],
    moment: datetime,
    transport: httpx.AsyncBaseTransport | None,
    limiter: RateLimiter | None,
) -> pa.Table:
    first = moment.replace(minute=0, second=0, microsecond=0)
    end = first + timedelta(hours=FORECAST_HOURS)
    parts = []
    async with OpenMeteoClient(settings, transport=transport, limiter=limiter) as client:
        for number, start in enumerate(range(0, len(locations), 10)):
            group = tuple(locations[start : start + 10])
            request = WeatherRequest("forecast", group, first, end, moment.date())
            response = await client.get(request)
            key = land(
                lake,
                source=SOURCE,
                dataset=FORECAST_DATASET,
                run_id=run_id,
                part=f"f{number:05d}",
                ext="json",
                payload=response.content,
                meta=response.meta(**request.meta(), as_of=moment.isoformat()),
                day=moment.date(),
                secrets=client.secrets,
            )
            staged = parse_openmeteo(
                response.content,
                locations=group,
                start=first,
                end=end,
                as_of=moment,
                ingested_at=moment,
                run_id=run_id,
                input_key=key,
            ).records
            bad = staged.filter(pc.is_valid(staged.column("_reason")))
            if bad.num_rows:
                row = bad.slice(0, 1).to_pylist()[0]
                raise SourceError(
                    f"open_meteo forecast {key}: {bad.num_rows} hour(s) unusable, first "
                    f"{row['location_id']}: {row['_reason']}"
                )
            parts.append(staged.select(list(_COLUMNS)))
    table = pa.concat_tables(parts)
    issued = pa.array([moment] * table.num_rows, pa.timestamp("us", tz="UTC"))
    return table.add_column(3, "issued_at", issued)


def fetch_forecast(
    settings: Settings,
    lake: Lake,
    run_id: str,
    locations: Sequence[WeatherLocation],
    *,
    now: datetime | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    limiter: RateLimiter | None = None,
) -> pa.Table:
    """The forecast of the `FORECAST_HOURS` hours from the current one at each location,
    issued now, in `weather_forecast`'s columns (lineage aside). Raises `SourceError` when
    a request fails or an hour is unusable: a partial forecast would read as complete."""
    if not locations:
        raise ValueError("no weather locations given")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return asyncio.run(_fetch(settings, lake, run_id, locations, moment, transport, limiter))
