"""The API's dependencies, as `Annotated` types the routes declare (FastAPI `Depends`).

`get_reader` hands each request the app's `GoldReader` (put on `app.state` by `create_app`),
so a test replaces it with `app.dependency_overrides[get_reader] = ...`. The query
parameters shared by several endpoints, and the filters built from them, live here too.
"""

# No `from __future__ import annotations`: FastAPI evaluates these annotations, and
# `paging`'s bound is a closure variable.

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Query, Request
from umwi_core.contracts import CORRELATION_VARIABLES, Y_KINDS

from umwi_api.queries import (
    MAX_OFFSET,
    MAX_TEXT,
    PERIOD_PATTERN,
    GoldReader,
    Grain,
    KpiFilters,
    parse_time,
)


# `async` on purpose: a sync dependency would cost every request a thread hop.
async def get_reader(request: Request) -> GoldReader:
    """The reader `create_app` put on the app."""
    reader: GoldReader = request.app.state.reader
    return reader


ReaderDep = Annotated[GoldReader, Depends(get_reader)]


def _name_query(description: str, example: str) -> Any:
    return Query(min_length=1, max_length=MAX_TEXT, description=description, examples=[example])


def _time_query(description: str, example: str) -> Any:
    return Query(max_length=40, description=description, examples=[example])


def _choice_query(description: str, choices: tuple[str, ...], example: str) -> Any:
    """A text parameter the schema lists the allowed values of (checked by `KpiFilters`)."""
    return Query(
        description=description, examples=[example], json_schema_extra={"enum": list(choices)}
    )


Network = Annotated[str | None, _name_query("Network name.", "auckland")]
LineId = Annotated[str | None, _name_query("Line id; `*` selects the all-lines rows.", "*")]
Period = Annotated[
    str | None,
    Query(
        pattern=PERIOD_PATTERN,
        description="`all` (whole history) or a UTC month `YYYY-MM`.",
        examples=["all"],
    ),
]
Start = Annotated[
    str | None,
    _time_query(
        "First hour, inclusive: a date (UTC midnight) or ISO time with offset.",
        "2024-03-01T00:00:00Z",
    ),
]
End = Annotated[
    str | None,
    _time_query("End, exclusive: a date (UTC midnight) or ISO time with offset.", "2024-03-08"),
]
Variable = Annotated[
    str | None,
    _choice_query(
        "Weather variable: " + ", ".join(CORRELATION_VARIABLES) + ".",
        CORRELATION_VARIABLES,
        "precipitation_mm",
    ),
]
LagH = Annotated[
    int | None, Query(ge=0, le=3, description="Lag of x in hours (0–3).", examples=[0])
]
YKind = Annotated[
    str | None,
    _choice_query(
        "`raw` mean delay or `anomaly` (minus the weekday×hour baseline).", Y_KINDS, "raw"
    ),
]

GrainParameter = Annotated[
    Grain,
    Query(
        description="`hour`: the hourly rows (default). `day`: one row per network, line, "
        "location and UTC day, aggregated from the hourly rows within start/end (counts and "
        "precipitation summed, rates and mean delay departure-weighted; DESIGN.md §7).",
        examples=["day"],
    ),
]


def _time(value: str | None, parameter: str) -> datetime | None:
    return None if value is None else parse_time(value, parameter)


async def impact_filters(
    network: Network = None, line_id: LineId = None, period: Period = None
) -> KpiFilters:
    return KpiFilters(network=network, line_id=line_id, period=period)


async def hourly_filters(
    network: Network = None, line_id: LineId = None, start: Start = None, end: End = None
) -> KpiFilters:
    return KpiFilters(
        network=network, line_id=line_id, start=_time(start, "start"), end=_time(end, "end")
    )


async def correlation_filters(
    network: Network = None,
    line_id: LineId = None,
    period: Period = None,
    variable: Variable = None,
    lag_h: LagH = None,
    y_kind: YKind = None,
) -> KpiFilters:
    return KpiFilters(
        network=network,
        line_id=line_id,
        period=period,
        variable=variable,
        lag_h=lag_h,
        y_kind=y_kind,
    )


FiltersDependency = Callable[..., Awaitable[KpiFilters]]
GrainDependency = Callable[..., Awaitable[Grain]]


async def hour_or_day(grain: GrainParameter = "hour") -> Grain:
    """The `grain` parameter, for the tables that answer daily rows too."""
    return grain


async def hourly_only() -> Grain:
    """No `grain` parameter: the table's rows as published."""
    return "hour"


class PageRequest(NamedTuple):
    limit: int
    offset: int


def paging(max_limit: int) -> Callable[..., Awaitable[PageRequest]]:
    """The `limit`/`offset` dependency; the bound is the deployment's (`UMWI_API_MAX_LIMIT`),
    so the OpenAPI schema states it."""

    async def page(
        limit: Annotated[
            int,
            Query(
                ge=1,
                le=max_limit,
                description=f"Page size, at most {max_limit}.",
                examples=[100],
            ),
        ] = min(1000, max_limit),
        offset: Annotated[
            int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.", examples=[0])
        ] = 0,
    ) -> PageRequest:
        return PageRequest(limit, offset)

    return page


__all__ = [
    "FiltersDependency",
    "GrainDependency",
    "PageRequest",
    "ReaderDep",
    "correlation_filters",
    "get_reader",
    "hour_or_day",
    "hourly_filters",
    "hourly_only",
    "impact_filters",
    "paging",
]
