"""The query layer over published gold, shared by the HTTP API and `umwi kpi`.

Both call `GoldReader.page(...)`, so an API body and `umwi kpi --format json` are the same
list of objects with the gold column names (DESIGN.md §7). Only DuckDB and the JSON pointer
are touched here: no deltalake, no pyarrow.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from umwi_core.cache import MemoryCache, ResultCache
from umwi_core.contracts import (
    CORRELATION_LAGS_H,
    CORRELATION_VARIABLES,
    GOLD_COLUMNS,
    GOLD_CONTRACTS,
    Y_KINDS,
    TableContract,
)
from umwi_core.errors import UmwiError
from umwi_core.publication import PUBLISHED_KEY, Publication, read_publication
from umwi_core.resources import Resources

from umwi_api._daily import HOURLY_TABLE, MOBILITY_WEATHER_DAILY, daily_sql
from umwi_api._store import ServingStore

#: `umwi kpi <name>` and `/kpi/<name>` → gold table.
KPI_TABLES: dict[str, str] = {
    "weather-impact": "weather_impact",
    "punctuality": "punctuality_hourly",
    "hourly": "mobility_weather_hourly",
    "correlation": "correlation",
    "outlook": "outlook_hourly",
    "sensitivity": "line_sensitivity",
}

#: The filters that mean something for each table; others are refused, not ignored.
TABLE_FILTERS: dict[str, tuple[str, ...]] = {
    name: contract.api_filters for name, contract in GOLD_CONTRACTS.items()
}

#: A stable row order, so pages do not overlap or skip rows.
TABLE_ORDER: dict[str, tuple[str, ...]] = {
    name: contract.order for name, contract in GOLD_CONTRACTS.items()
}

#: The column `start`/`end` bound, for the tables that take them.
TIME_FILTER_COLUMNS: dict[str, str] = {
    name: contract.time_column
    for name, contract in GOLD_CONTRACTS.items()
    if contract.time_column is not None
}

#: Columns answered as ISO text rather than DuckDB's timestamp rendering.
TIME_COLUMNS = frozenset(
    column.name
    for contract in GOLD_CONTRACTS.values()
    for column in contract.columns
    if column.type == "timestamp_us_utc"
)
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
PERIOD_PATTERN = r"^(all|[0-9]{4}-(0[1-9]|1[0-2]))$"
_PERIOD = re.compile(PERIOD_PATTERN)
MAX_TEXT = 200
MAX_OFFSET = 10_000_000

Grain = Literal["hour", "day"]
#: Row grains of a KPI answer: `hour` (the gold rows as published) or `day` (aggregated).
GRAINS: tuple[Grain, ...] = ("hour", "day")
#: The tables that also answer daily rows, and those rows' contract.
DAILY_TABLES: dict[str, TableContract] = {HOURLY_TABLE: MOBILITY_WEATHER_DAILY}


class QueryError(UmwiError):
    """A filter value that cannot be used; `parameter` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class NotPublishedError(UmwiError):
    """No gold has been published yet."""


def parse_time(value: str, parameter: str) -> datetime:
    """A date (`2024-03-01`, midnight UTC) or an ISO time with an offset, as UTC."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise QueryError(
            parameter, f"{value!r} is not a date (YYYY-MM-DD) or an ISO time with offset"
        ) from None
    if parsed.tzinfo is None:
        raise QueryError(parameter, f"{value!r} has no UTC offset; add Z or +HH:MM")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class KpiFilters:
    network: str | None = None
    line_id: str | None = None
    period: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    variable: str | None = None
    lag_h: int | None = None
    y_kind: str | None = None

    def given(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}

    def check(self, table: str) -> None:
        """Raise `QueryError` naming the first filter that is invalid for `table`."""
        allowed = TABLE_FILTERS[table]
        for name, value in self.given().items():
            if name not in allowed:
                raise QueryError(name, f"does not apply to {table} (use {', '.join(allowed)})")
            if isinstance(value, str) and not 0 < len(value) <= MAX_TEXT:
                raise QueryError(name, f"must be 1 to {MAX_TEXT} characters")
        if self.period is not None and not _PERIOD.match(self.period):
            raise QueryError("period", f"{self.period!r} is not 'all' or a month YYYY-MM")
        if self.variable is not None and self.variable not in CORRELATION_VARIABLES:
            raise QueryError("variable", f"must be one of {', '.join(CORRELATION_VARIABLES)}")
        if self.lag_h is not None and self.lag_h not in CORRELATION_LAGS_H:
            raise QueryError("lag_h", "must be 0, 1, 2 or 3")
        if self.y_kind is not None and self.y_kind not in Y_KINDS:
            raise QueryError("y_kind", f"must be one of {', '.join(Y_KINDS)}")
        for name in ("start", "end"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise QueryError(name, "has no UTC offset")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise QueryError("end", "must be after start (start inclusive, end exclusive)")


@dataclass(frozen=True)
class Page:
    """One page of a KPI table: `body` is the JSON list, `total` the matching row count."""

    body: bytes
    total: int
    publication_id: str

    @property
    def rows(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads(self.body)
        return loaded


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def encode_rows(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()


def _hourly_sql(table: str, relation: str, where: str) -> tuple[str, str, tuple[str, ...]]:
    """The count and page queries of `table`'s published rows, and the page's columns (times
    as ISO text, in the table's order)."""
    columns = GOLD_COLUMNS[table]
    order = ", ".join(TABLE_ORDER[table])
    selected = ", ".join(
        f"strftime({name} AT TIME ZONE 'UTC', '{ISO_FORMAT}') AS {name}"
        if name in TIME_COLUMNS
        else name
        for name in columns
    )
    count_sql = f"SELECT count(*) FROM {relation}{where}"
    page_sql = (
        f"SELECT {selected} FROM {relation}{where} ORDER BY {order} NULLS FIRST LIMIT ? OFFSET ?"
    )
    return count_sql, page_sql, columns


class GoldReader:
    """Reads the published gold: the pointer, the serving copies, the result cache."""

    def __init__(
        self,
        resources: Resources,
        *,
        cache: ResultCache | None = None,
        pointer_ttl_s: float | None = None,
    ) -> None:
        self.settings = resources.settings
        self.lake = resources.lake
        self.cache = cache if cache is not None else resources.api_cache
        self.store = ServingStore(resources)
        self._local_io = resources.local_io
        self._pointer_ttl_s = resources.pointer_ttl_s if pointer_ttl_s is None else pointer_ttl_s
        self._pointer: tuple[float, Publication, tuple[int, int, int] | None] | None = None
        self._lock = threading.Lock()
        self._coverage: tuple[str, list[dict[str, Any]]] | None = None
        self._pointer_path = self.lake.local_path(PUBLISHED_KEY)

    def _pointer_signature(self) -> tuple[int, int, int] | None:
        """For a folder lake, the pointer file's (inode, size, mtime): the publisher replaces
        it by rename, so any republish changes the signature and a stat replaces a read."""
        if self._pointer_path is None:
            return None
        try:
            info = os.stat(self._pointer_path)
        except FileNotFoundError:
            return None
        return info.st_ino, info.st_size, info.st_mtime_ns

    def publication(self) -> Publication:
        now = time.monotonic()
        signature = self._pointer_signature()
        cached = self._pointer
        if cached is not None:
            fresh = now - cached[0] < self._pointer_ttl_s
            if fresh or (signature is not None and signature == cached[2]):
                return cached[1]
        found = read_publication(self.lake)
        if found is None:
            raise NotPublishedError(
                "no gold has been published yet: run `umwi build` (or `umwi demo`) first"
            )
        publication = found[0]
        with self._lock:
            self._pointer = (now, publication, signature)
        return publication

    @property
    def nonblocking(self) -> bool:
        """Whether the pointer and cache lookups are local (cheap enough for an event loop)."""
        return self._local_io and isinstance(self.cache, MemoryCache)

    def _prepare(
        self, kpi: str, filters: KpiFilters, grain: str, limit: int | None, offset: int
    ) -> tuple[str, int, Publication, str]:
        table = KPI_TABLES.get(kpi, kpi)
        if table not in GOLD_COLUMNS:
            raise QueryError("kpi", f"unknown table {kpi!r} (use {', '.join(KPI_TABLES)})")
        if grain not in GRAINS:
            raise QueryError("grain", f"{grain!r} is not one of {', '.join(GRAINS)}")
        if grain == "day" and table not in DAILY_TABLES:
            daily = ", ".join(name for name, table in KPI_TABLES.items() if table in DAILY_TABLES)
            raise QueryError("grain", f"day applies to {daily} only, not {table}")
        limit = self.settings.api_max_limit if limit is None else limit
        if not 1 <= limit <= self.settings.api_max_limit:
            raise QueryError("limit", f"must be between 1 and {self.settings.api_max_limit}")
        if not 0 <= offset <= MAX_OFFSET:
            raise QueryError("offset", f"must be between 0 and {MAX_OFFSET}")
        filters.check(table)
        publication = self.publication()
        key = self._cache_key(publication.publication_id, table, filters, grain, limit, offset)
        return table, limit, publication, key

    def cached(
        self,
        kpi: str,
        filters: KpiFilters,
        *,
        grain: str = "hour",
        limit: int | None = None,
        offset: int = 0,
    ) -> Page | None:
        """The page if the cache holds it (validating the filters either way), else None."""
        _, _, publication, key = self._prepare(kpi, filters, grain, limit, offset)
        hit = self.cache.get(key)
        return None if hit is None else Page(hit[0], hit[1], publication.publication_id)

    def page(
        self,
        kpi: str,
        filters: KpiFilters,
        *,
        grain: str = "hour",
        limit: int | None = None,
        offset: int = 0,
    ) -> Page:
        """Rows of the KPI table `kpi` (a `KPI_TABLES` key or a gold table name): its gold
        rows, or with `grain="day"` its daily rows (`DAILY_TABLES`)."""
        table, limit, publication, key = self._prepare(kpi, filters, grain, limit, offset)
        hit = self.cache.get(key)
        if hit is not None:
            return Page(hit[0], hit[1], publication.publication_id)
        rows, total = self._query(publication, table, filters, grain, limit, offset)
        body = encode_rows(rows)
        self.cache.put(key, body, total)
        return Page(body, total, publication.publication_id)

    @staticmethod
    def _cache_key(
        publication_id: str,
        table: str,
        filters: KpiFilters,
        grain: str,
        limit: int,
        offset: int,
    ) -> str:
        given = {name: _jsonable(value) for name, value in sorted(filters.given().items())}
        # Hourly keys stay as they were before daily rows existed.
        shape = [table] if grain == "hour" else [table, grain]
        text = json.dumps([publication_id, *shape, given, limit, offset], sort_keys=True)
        # The publication id leads the key, so a republish can never serve an old result.
        return f"{publication_id}#{hashlib.sha256(text.encode()).hexdigest()}"

    @staticmethod
    def _where(table: str, filters: KpiFilters) -> tuple[str, list[Any]]:
        """The ` WHERE …` clause of `filters` on `table` (empty when none) and its values."""
        conditions: list[str] = []
        values: list[Any] = []
        for name, value in filters.given().items():
            if name in ("start", "end"):
                # Times travel as ISO text: binding a datetime would make DuckDB import pytz,
                # which the Lambda bundle does not carry.
                operator = ">=" if name == "start" else "<"
                time_column = TIME_FILTER_COLUMNS[table]
                conditions.append(f"{time_column} {operator} CAST(? AS TIMESTAMPTZ)")
                values.append(value.isoformat())
            else:
                conditions.append(f"{name} = ?")
                values.append(value)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return where, values

    def _query(
        self,
        publication: Publication,
        table: str,
        filters: KpiFilters,
        grain: str,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """The matching row count and one page of rows (daily ones for `grain="day"`) as
        JSON-ready dicts."""
        relation = self.store.relation(publication, table)
        where, values = self._where(table, filters)
        if grain == "day":
            count_sql, page_sql = daily_sql(relation, where, ISO_FORMAT)
            columns = DAILY_TABLES[table].column_names
        else:
            count_sql, page_sql, columns = _hourly_sql(table, relation, where)
        with self.store.cursor() as cursor:
            count_row = cursor.execute(count_sql, values).fetchone()
            total = int(count_row[0]) if count_row else 0
            fetched = cursor.execute(page_sql, [*values, limit, offset]).fetchall()
        rows = [
            {name: _jsonable(value) for name, value in zip(columns, record, strict=True)}
            for record in fetched
        ]
        return rows, total

    def lines(self) -> list[dict[str, Any]]:
        """Every (network, line_id) in published gold, with `line_name` where gold has one."""
        publication = self.publication()
        relation = self.store.relation(publication, "weather_impact")
        name_column = self.store.optional_column(publication, "weather_impact", "line_name")
        named = name_column or "CAST(NULL AS VARCHAR)"
        with self.store.cursor() as cursor:
            fetched = cursor.execute(
                f"SELECT network, line_id, max({named}) FROM {relation} "
                "GROUP BY network, line_id ORDER BY network, line_id"
            ).fetchall()
        return [
            {"network": network, "line_id": line_id, "line_name": line_name}
            for network, line_id, line_name in fetched
        ]

    def coverage(self) -> list[dict[str, Any]]:
        """Per network, the first and last hour with data and how many hours have any:
        departures (`punctuality_hourly`) and departures with known weather
        (`mobility_weather_hourly`, what `/kpi/hourly` answers). Computed once per
        publication, which never changes."""
        publication = self.publication()
        found = self._coverage
        if found is not None and found[0] == publication.publication_id:
            return found[1]
        rows = self._coverage_query(publication)
        self._coverage = (publication.publication_id, rows)
        return rows

    def _coverage_query(self, publication: Publication) -> list[dict[str, Any]]:
        departures = self.store.relation(publication, "punctuality_hourly")
        weather = self.store.relation(publication, "mobility_weather_hourly")

        def iso(column: str) -> str:
            return f"strftime({column} AT TIME ZONE 'UTC', '{ISO_FORMAT}')"

        with self.store.cursor() as cursor:
            fetched = cursor.execute(
                "WITH d AS (SELECT network, min(hour) AS first_hour, max(hour) AS last_hour, "
                f"count(DISTINCT hour) AS hours FROM {departures} GROUP BY network), "
                "w AS (SELECT network, min(hour) AS first_hour, max(hour) AS last_hour "
                f"FROM {weather} GROUP BY network) "
                f"SELECT d.network, {iso('d.first_hour')}, {iso('d.last_hour')}, d.hours, "
                f"{iso('w.first_hour')}, {iso('w.last_hour')} "
                "FROM d LEFT JOIN w ON w.network = d.network ORDER BY d.network"
            ).fetchall()
        names = (
            "network",
            "first_hour",
            "last_hour",
            "hours",
            "weather_first_hour",
            "weather_last_hour",
        )
        return [dict(zip(names, record, strict=True)) for record in fetched]

    def freshness(self, now: datetime | None = None) -> dict[str, Any]:
        """Age of each published gold table, the publishing run and the gate's status."""
        publication = self.publication()
        moment = now or datetime.now(UTC)
        tables = {
            name: {
                "version": table.version,
                "rows": table.rows,
                "updated_at": _jsonable(table.updated_at),
                "age_s": round((moment - table.updated_at).total_seconds(), 3),
            }
            for name, table in sorted(publication.tables.items())
        }
        gate = publication.gate
        status = gate.get("status")
        if status is None and "passed" in gate:
            status = "passed" if gate["passed"] else "failed"
        return {
            "publication_id": publication.publication_id,
            "published_at": _jsonable(publication.published_at),
            "last_run_id": publication.run_id,
            "gate_status": status,
            "gate": gate,
            "quality_report": publication.quality_report,
            "tables": tables,
        }


__all__ = [
    "DAILY_TABLES",
    "GRAINS",
    "KPI_TABLES",
    "MAX_OFFSET",
    "MAX_TEXT",
    "PERIOD_PATTERN",
    "TABLE_FILTERS",
    "TABLE_ORDER",
    "GoldReader",
    "Grain",
    "KpiFilters",
    "NotPublishedError",
    "Page",
    "QueryError",
    "encode_rows",
    "parse_time",
]
