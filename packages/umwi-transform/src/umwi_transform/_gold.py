"""`umwi build`'s gold step: the DuckDB driver of the Ibis builders, incremental.

The build remembers (in `gold/_build_state.json`) the silver versions it last read. The
silver tables keep a change feed, so the next build reads what changed since and rebuilds
only the hours of the affected UTC days in the hourly tables, the affected months (and
`all`) of `weather_impact`, and `correlation` whole (its `all` rows and its anomaly
baseline span the whole history; the table is small). A settings change, a moved or new
weather location, or a gold table changed behind the build's back makes a full rebuild.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import ibis.expr.types as ir  # type: ignore[import-untyped]
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError
from ibis.backends.duckdb import Backend  # type: ignore[import-untyped]
from pydantic import BaseModel
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import CORRELATION_VARIABLES, DEPARTURES, WEATHER_HOURLY
from umwi_core.days import day_spans
from umwi_core.failpoints import failpoint
from umwi_core.lake import Lake
from umwi_core.publication import GOLD_TABLES
from umwi_core.settings import Settings

from umwi_transform import _gold_exprs as gx
from umwi_transform._delta import delta_uri, log, with_commit_retry
from umwi_transform._engine import (
    connect,
    register,
    register_scan,
    release_arrow_memory,
    sql_string,
    to_arrow,
)
from umwi_transform._schemas import GOLD_SCHEMAS, conform
from umwi_transform._stats import correlation_table
from umwi_transform.catalog import open_delta, scan_source

STATE_KEY = "gold/_build_state.json"
_SILVER = {"departures": ("scheduled_at", DEPARTURES), "weather_hourly": ("hour", WEATHER_HOURLY)}


@dataclass(frozen=True)
class GoldCandidate:
    """The Delta version of `gold/<table>` a build produced (or found, when unchanged)."""

    table: str
    version: int
    rows: int
    changed: bool
    updated_at: datetime


class BuildState(BaseModel):
    silver_versions: dict[str, int]
    settings: dict[str, float]
    locations: str
    gold_versions: dict[str, int]
    updated_at: dict[str, datetime]


def read_state(lake: Lake) -> BuildState | None:
    found = lake.read_versioned(STATE_KEY)
    return None if found is None else BuildState.model_validate_json(found[0])


def write_state(lake: Lake, state: BuildState) -> None:
    lake.write_bytes(STATE_KEY, state.model_dump_json(indent=2).encode())


def _settings_fingerprint(settings: Settings) -> dict[str, float]:
    return {
        "on_time_threshold_s": float(settings.on_time_threshold_s),
        "early_tolerance_s": float(settings.early_tolerance_s),
        "max_weather_distance_km": float(settings.max_weather_distance_km),
    }


def _day_ranges(days: Iterable[date]) -> list[tuple[datetime, datetime]]:
    """Consecutive days merged into half-open UTC ranges."""
    return [(_midnight(first), _midnight(end)) for first, end in day_spans(days)]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _range_predicate(column: str, ranges: list[tuple[datetime, datetime]]) -> str:
    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    return " OR ".join(
        f"({column} >= '{stamp(low)}' AND {column} < '{stamp(high)}')" for low, high in ranges
    )


def _in_ranges(
    value: ir.TimestampValue, ranges: list[tuple[datetime, datetime]]
) -> ir.BooleanValue:
    condition: ir.BooleanValue | None = None
    for low, high in ranges:
        part = (value >= low) & (value < high)
        condition = part if condition is None else condition | part
    assert condition is not None
    return condition


def _affected_days(lake: Lake, since: dict[str, int], now: dict[str, int]) -> set[date] | None:
    """UTC days whose silver rows changed between the two version sets; None: unknown."""
    days: set[date] = set()
    for table, (column, _) in _SILVER.items():
        start, end = since.get(table, -1), now[table]
        if end <= start:
            continue
        delta = open_delta(lake, "silver", table)
        if delta is None:
            return None
        try:
            changes = pa.table(
                delta.load_cdf(
                    starting_version=start + 1, ending_version=end, columns=[column]
                ).read_all()
            )
        except (DeltaError, OSError, ValueError) as error:
            log.info("silver/%s change feed unavailable (%s): full rebuild", table, error)
            return None
        for moment in changes.column(column).to_pylist():
            if moment is not None:
                days.add(moment.astimezone(UTC).date())
    return days


def _silver_inputs(
    lake: Lake, backend: Backend, versions: dict[str, int]
) -> tuple[ir.Table, ir.Table]:
    tables = []
    for table, (_, contract) in _SILVER.items():
        delta = open_delta(lake, "silver", table, versions[table] if versions[table] >= 0 else None)
        empty = arrow_schema(contract).empty_table()
        tables.append(_register_delta(backend, f"silver_{table}", delta, empty))
    return tables[0], tables[1]


def _register_delta(
    backend: Backend, name: str, delta: DeltaTable | None, empty: pa.Table
) -> ir.Table:
    """A Delta table as a view: DuckDB's Parquet reader when local, else an Arrow dataset."""
    source = scan_source(delta, empty)
    if isinstance(source, str):
        return register_scan(backend, name, source)
    return register(backend, name, source)


def _locations_fingerprint(weather: ir.Table) -> str:
    found = to_arrow(gx.weather_locations(weather).order_by("location_id"))
    return hashlib.sha256(json.dumps(found.to_pylist(), default=str).encode()).hexdigest()


def _write(lake: Lake, table: str, data: pa.Table, predicate: str | None) -> DeltaTable:
    uri = delta_uri(lake, "gold", table)

    def attempt() -> DeltaTable:
        write_deltalake(
            uri,
            data,
            mode="overwrite",
            predicate=predicate,
            storage_options=lake.storage_options(),
        )
        failpoint("gold.table.written")
        return DeltaTable(uri, storage_options=lake.storage_options())

    return with_commit_retry(f"gold/{table}", attempt)


def _candidate(table: str, delta: DeltaTable, changed: bool, at: datetime) -> GoldCandidate:
    rows = delta.to_pyarrow_dataset().count_rows()
    return GoldCandidate(table, delta.version(), rows, changed, at)


def build_gold(lake: Lake, settings: Settings, run_id: str) -> dict[str, GoldCandidate]:
    """Write new gold candidates from silver; a build with no new input commits nothing."""
    versions: dict[str, int] = {}
    for table in _SILVER:
        delta = open_delta(lake, "silver", table)
        versions[table] = -1 if delta is None else delta.version()
    state = read_state(lake)
    backend = connect(settings.duckdb_memory_limit)
    departures, weather = _silver_inputs(lake, backend, versions)
    fingerprint = _settings_fingerprint(settings)
    locations = _locations_fingerprint(weather)
    gold = {table: open_delta(lake, "gold", table) for table in GOLD_TABLES}
    full = (
        state is None
        or state.settings != fingerprint
        or state.locations != locations
        or any(
            gold[t] is None or gold[t].version() != state.gold_versions.get(t)  # type: ignore[union-attr]
            for t in GOLD_TABLES
        )
    )
    days: set[date] | None = None
    if not full:
        assert state is not None
        if state.silver_versions == versions:
            log.info("gold: no new silver input; nothing to build")
            return _unchanged(gold, state)
        days = _affected_days(lake, state.silver_versions, versions)
        full = days is None
    now = datetime.now(UTC)
    if not full and not days:
        assert state is not None
        write_state(lake, state.model_copy(update={"silver_versions": versions}))
        return _unchanged(gold, state)
    ranges = None if full else _day_ranges(days or ())
    log.info(
        "gold: %s build (run %s)", "full" if ranges is None else f"{len(ranges)} ranges", run_id
    )

    written: dict[str, DeltaTable] = {}
    scoped_departures = (
        departures
        if ranges is None
        else departures.filter(_in_ranges(departures.scheduled_at, ranges))
    )
    scoped_weather = weather if ranges is None else weather.filter(_in_ranges(weather.hour, ranges))
    stops = gx.stop_locations(scoped_departures, weather, settings.max_weather_distance_km)
    enriched = gx.departures_with_weather(
        scoped_departures,
        scoped_weather,
        stops,
        on_time_threshold_s=settings.on_time_threshold_s,
        early_tolerance_s=settings.early_tolerance_s,
    )
    punctuality = conform(to_arrow(gx.punctuality_hourly(enriched)), "punctuality_hourly")
    hour_predicate = None if ranges is None else _range_predicate("hour", ranges)
    written["punctuality_hourly"] = _write(lake, "punctuality_hourly", punctuality, hour_predicate)
    new_punctuality = register(backend, "new_punctuality", punctuality)
    mobility = conform(
        to_arrow(gx.mobility_weather_hourly(new_punctuality, scoped_weather)),
        "mobility_weather_hourly",
    )
    written["mobility_weather_hourly"] = _write(
        lake, "mobility_weather_hourly", mobility, hour_predicate
    )
    # Both are in gold now; the rest reads them from there, so their memory goes back.
    backend.con.unregister("new_punctuality")
    del punctuality, new_punctuality, mobility

    all_punctuality = _register_delta(
        backend, "gold_punctuality", written["punctuality_hourly"], empty_gold("punctuality_hourly")
    )
    all_mobility = _register_delta(
        backend,
        "gold_mobility",
        written["mobility_weather_hourly"],
        empty_gold("mobility_weather_hourly"),
    )
    months = None if ranges is None else sorted({d.strftime("%Y-%m") for d in days or ()})
    impact = conform(
        to_arrow(gx.weather_impact(all_punctuality, all_mobility, months)), "weather_impact"
    )
    period_predicate = (
        None
        if months is None
        else "period IN (" + ", ".join(f"'{p}'" for p in ["all", *months]) + ")"
    )
    written["weather_impact"] = _write(lake, "weather_impact", impact, period_predicate)
    sums = _correlation_sums(backend, all_mobility, weather)
    correlation = conform(correlation_table(sums), "correlation")
    written["correlation"] = _write(lake, "correlation", correlation, None)

    # The quality gate usually runs next in this process.
    release_arrow_memory()
    candidates = {t: _candidate(t, written[t], True, now) for t in GOLD_TABLES}
    write_state(
        lake,
        BuildState(
            silver_versions=versions,
            settings=fingerprint,
            locations=locations,
            gold_versions={t: c.version for t, c in candidates.items()},
            updated_at={t: now for t in GOLD_TABLES},
        ),
    )
    return candidates


def _correlation_sums(backend: Backend, mobility: ir.Table, weather: ir.Table) -> pa.Table:
    """`correlation_sums` a variable at a time: each query's pairs are a sixth of the
    whole, which keeps the build's memory flat (10 M departures make ~74 M pairs)."""
    with tempfile.TemporaryDirectory(prefix="umwi-build-") as folder:
        # The ranked cells serve every variable, so they are computed once. A Parquet
        # file rather than a DuckDB table: a table would sit in the memory limit the
        # ranking of the partial groups needs, and make it spill (about 2.7× slower for
        # the widest variable; packages/umwi-transform/README.md).
        path = Path(folder) / "base_cells.parquet"
        backend.to_parquet(gx.correlation_base_cells(mobility), path)
        base_cells = register_scan(
            backend, "corr_base_cells", f"read_parquet({sql_string(str(path))})"
        )
        # A native copy: the correlation joins push filters into their scans, which
        # pyarrow datasets reject for string columns.
        native_weather = backend.create_table("corr_weather", weather, temp=True, overwrite=True)
        sums = pa.concat_tables(
            to_arrow(
                gx.correlation_sums_of(gx.correlation_pairs_of(base_cells, native_weather, [v]))
            )
            for v in CORRELATION_VARIABLES
        )
        backend.drop_view("corr_base_cells")
    return sums


def _unchanged(gold: dict[str, DeltaTable | None], state: BuildState) -> dict[str, GoldCandidate]:
    result = {}
    for table in GOLD_TABLES:
        delta = gold[table]
        assert delta is not None
        result[table] = _candidate(table, delta, False, state.updated_at[table])
    return result


def empty_gold(table: str) -> pa.Table:
    return GOLD_SCHEMAS[table].empty_table()
