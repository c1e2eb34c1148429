"""`umwi build`'s gold step: the DuckDB driver of the Ibis builders, incremental.

The build remembers (in `gold/_build_state.json`) the silver versions it last read. The
silver tables keep a change feed, so the next build reads what changed since and rebuilds
only the hours of the affected UTC days in the hourly tables, the affected months (and
`all`) of `weather_impact`, and the correlation cells (`gold/_correlation_cells`, one row
per cell with its lagged weather) of the affected days and the day after each (lags reach
3 h back). `correlation` is then computed from the cells in one pass that never builds the
(cell, variable, lag) pairs (`umwi_transform._correlation`; DESIGN.md §5 says why the
ranks need a pass). A settings change, a moved or new weather location, or a gold table
changed behind the build's back makes a full rebuild.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter

import ibis.expr.types as ir  # type: ignore[import-untyped]
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError
from ibis.backends.duckdb import Backend  # type: ignore[import-untyped]
from pydantic import BaseModel
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import (
    CORRELATION_VARIABLES,
    DEPARTURES,
    HISTORY_TABLES,
    OUTLOOK_HOURLY_TABLE,
    WEATHER_HOURLY,
)
from umwi_core.days import day_spans
from umwi_core.failpoints import failpoint
from umwi_core.lake import Lake
from umwi_core.settings import Settings

from umwi_transform import _gold_exprs as gx
from umwi_transform._correlation import X_COLUMNS, correlation_sums_from_cells
from umwi_transform._delta import delta_uri, log, with_commit_retry
from umwi_transform._engine import (
    connect,
    register,
    register_scan,
    release_arrow_memory,
    to_arrow,
)
from umwi_transform._schemas import GOLD_SCHEMAS, conform
from umwi_transform._sensitivity import line_sensitivity
from umwi_transform._stats import correlation_table
from umwi_transform.catalog import open_delta, scan_source

STATE_KEY = "gold/_build_state.json"
#: The correlation cells: a gold-side table of the build, never published.
CELLS = "_correlation_cells"
CELLS_SCHEMA = pa.schema(
    [
        ("network", pa.string()),
        ("line_id", pa.string()),
        ("location_id", pa.string()),
        ("hour", pa.timestamp("us", tz="UTC")),
        ("y", pa.float64()),
        *((column, pa.float64()) for _, _, column in X_COLUMNS),
    ]
)
_SILVER = {"departures": ("scheduled_at", DEPARTURES), "weather_hourly": ("hour", WEATHER_HOURLY)}


@dataclass(frozen=True)
class GoldCandidate:
    """The Delta version of `gold/<table>` a build produced (or found, when unchanged).

    `scope`, when set, is a DuckDB SQL predicate on the table's columns covering every row
    the build rewrote on top of version `scope_base`; the rest is `scope_base`'s, row for
    row. A full build, or an unchanged candidate, has no scope (judge the whole table).
    """

    table: str
    version: int
    rows: int
    changed: bool
    updated_at: datetime
    scope: str | None = None
    scope_base: int | None = None


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
        "sensitivity_min_wet_hours": float(settings.sensitivity_min_wet_hours),
        "outlook_shrinkage_hours": float(settings.outlook_shrinkage_hours),
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


def _write(
    lake: Lake,
    table: str,
    data: pa.Table | Callable[[], pa.RecordBatchReader],
    predicate: str | None,
) -> DeltaTable:
    """Overwrite `gold/<table>` (where `predicate` holds); `data` is a table or makes a
    fresh stream of batches for each attempt."""
    uri = delta_uri(lake, "gold", table)

    def attempt() -> DeltaTable:
        write_deltalake(
            uri,
            data if isinstance(data, pa.Table) else data(),
            mode="overwrite",
            predicate=predicate,
            # A whole-table rewrite may bring a contract's new columns (a lake built
            # before them); a partial one must match the table's schema.
            schema_mode="overwrite" if predicate is None else None,
            storage_options=lake.storage_options(),
        )
        failpoint("gold.table.written")
        return DeltaTable(uri, storage_options=lake.storage_options())

    return with_commit_retry(f"gold/{table}", attempt)


def _candidate(
    table: str,
    delta: DeltaTable,
    changed: bool,
    at: datetime,
    scope: tuple[str, int] | None = None,
) -> GoldCandidate:
    rows = delta.to_pyarrow_dataset().count_rows()
    where, base = scope if scope is not None else (None, None)
    return GoldCandidate(table, delta.version(), rows, changed, at, where, base)


def build_gold(lake: Lake, settings: Settings, run_id: str) -> dict[str, GoldCandidate]:
    """Write new gold candidates from silver; a build with no new input commits nothing
    (but `outlook_hourly`, when a forecast landed since it was built)."""
    # Imported here: the outlook's driver reuses this module's writers.
    from umwi_transform._outlook_build import refresh_outlook, write_model

    versions: dict[str, int] = {}
    for table in _SILVER:
        delta = open_delta(lake, "silver", table)
        versions[table] = -1 if delta is None else delta.version()
    state = read_state(lake)
    backend = connect(settings.duckdb_memory_limit)
    departures, weather = _silver_inputs(lake, backend, versions)
    fingerprint = _settings_fingerprint(settings)
    locations = _locations_fingerprint(weather)
    gold = {table: open_delta(lake, "gold", table) for table in HISTORY_TABLES}
    cells_table = open_delta(lake, "gold", CELLS)
    full = (
        state is None
        or state.settings != fingerprint
        or state.locations != locations
        or any(
            gold[t] is None or gold[t].version() != state.gold_versions.get(t)  # type: ignore[union-attr]
            for t in HISTORY_TABLES
        )
        or cells_table is None
        or cells_table.version() != state.gold_versions.get(CELLS)
    )
    days: set[date] | None = None
    if not full:
        assert state is not None
        if state.silver_versions == versions:
            log.info("gold: no new silver input; nothing to build")
            return _unchanged(lake, backend, gold, state)
        days = _affected_days(lake, state.silver_versions, versions)
        full = days is None
    now = datetime.now(UTC)
    if not full and not days:
        assert state is not None
        write_state(lake, state.model_copy(update={"silver_versions": versions}))
        return _unchanged(lake, backend, gold, state)
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
    clock = _Clock()
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
    clock.lap("hourly")
    impact = conform(
        to_arrow(gx.weather_impact(all_punctuality, all_mobility, months)), "weather_impact"
    )
    period_predicate = (
        None
        if months is None
        else "period IN (" + ", ".join(f"'{p}'" for p in ["all", *months]) + ")"
    )
    written["weather_impact"] = _write(lake, "weather_impact", impact, period_predicate)
    del impact
    clock.lap("weather_impact")
    sensitivity = line_sensitivity(
        to_arrow(gx.sensitivity_days(all_mobility)), settings.sensitivity_min_wet_hours, months
    )
    written["line_sensitivity"] = _write(lake, "line_sensitivity", sensitivity, period_predicate)
    del sensitivity

    cell_ranges = None if days is None or ranges is None else _day_ranges(_with_next_days(days))
    clock.lap("line_sensitivity")
    cells = _write_cells(backend, lake, all_mobility, weather, cell_ranges)
    clock.lap("correlation cells")
    sums = _correlation_sums(backend, cells, weather)
    correlation = conform(correlation_table(sums), "correlation")
    written["correlation"] = _write(lake, "correlation", correlation, None)

    clock.lap("correlation")
    # The outlook's model (DESIGN.md §8): a day moves the baselines of its weekday only.
    weekdays = None if days is None or ranges is None else sorted({d.isoweekday() for d in days})
    written |= write_model(backend, lake, all_mobility, weekdays, settings)
    outlook = refresh_outlook(lake, backend, written)
    clock.lap("outlook")
    log.info("gold steps: %s", clock)
    # The quality gate usually runs next in this process.
    release_arrow_memory()
    scopes: dict[str, str | None] = {
        "punctuality_hourly": hour_predicate,
        "mobility_weather_hourly": hour_predicate,
        "weather_impact": period_predicate,
        "line_sensitivity": period_predicate,
        "correlation": None,
        "outlook_baseline": None
        if weekdays is None
        else "weekday IN (" + ", ".join(str(d) for d in weekdays) + ")",
        "outlook_class_effect": None,
    }
    candidates = {
        t: _candidate(
            t,
            written[t],
            True,
            now,
            None
            if scopes[t] is None or state is None
            else (str(scopes[t]), state.gold_versions[t]),
        )
        for t in HISTORY_TABLES
    }
    candidates[OUTLOOK_HOURLY_TABLE] = _candidate(
        OUTLOOK_HOURLY_TABLE, outlook[0], outlook[2], outlook[1]
    )
    write_state(
        lake,
        BuildState(
            silver_versions=versions,
            settings=fingerprint,
            locations=locations,
            gold_versions={
                **{t: candidates[t].version for t in HISTORY_TABLES},
                CELLS: cells.version(),
            },
            updated_at={t: now for t in HISTORY_TABLES},
        ),
    )
    return candidates


class _Clock:
    """Seconds per build step, for the log."""

    def __init__(self) -> None:
        self.started = perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = perf_counter()
        self.laps[name] = now - self.started
        self.started = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.laps.items())


def _with_next_days(days: Iterable[date]) -> set[date]:
    """The days and the day after each: a cell's x reaches up to 3 h back."""
    found = set(days)
    return found | {day + timedelta(days=1) for day in found}


def _write_cells(
    backend: Backend,
    lake: Lake,
    mobility: ir.Table,
    weather: ir.Table,
    ranges: list[tuple[datetime, datetime]] | None,
) -> DeltaTable:
    """Rewrite the correlation cells of `ranges` (all of them when None).

    Written sorted by (network, line_id, y): the statistics pass then merges these runs
    instead of sorting the history (`_correlation`).
    """
    scoped = mobility if ranges is None else mobility.filter(_in_ranges(mobility.hour, ranges))
    expression = gx.correlation_cell_table(scoped, weather).order_by(["network", "line_id", "y"])
    predicate = None if ranges is None else _range_predicate("hour", ranges)
    # Through a Parquet file DuckDB writes within its memory limit, then streamed into
    # Delta: the whole history's cells never sit in memory at once.
    with tempfile.TemporaryDirectory(prefix="umwi-cells-") as folder:
        path = Path(folder) / "cells.parquet"
        backend.to_parquet(expression, path)

        def batches() -> pa.RecordBatchReader:
            found = pq.ParquetFile(path)
            return pa.RecordBatchReader.from_batches(
                CELLS_SCHEMA,
                (
                    pa.RecordBatch.from_arrays(
                        [batch.column(f.name).cast(f.type) for f in CELLS_SCHEMA],
                        schema=CELLS_SCHEMA,
                    )
                    for batch in found.iter_batches(batch_size=65_536)
                ),
            )

        return _write(lake, CELLS, batches, predicate)


def _correlation_sums(backend: Backend, cells: DeltaTable, weather: ir.Table) -> pa.Table:
    """`correlation_sums` from the cells, a few lines at a time (`_line_chunks`)."""
    dictionaries = {
        variable: np.sort(
            np.asarray(
                to_arrow(
                    weather.filter(weather[variable].notnull())
                    .select(value=weather[variable].cast("float64"))
                    .distinct()
                )
                .column("value")
                .to_numpy(),
                dtype=np.float64,
            )
        )
        for variable in CORRELATION_VARIABLES
    }
    view = _register_delta(backend, "gold_correlation_cells", cells, CELLS_SCHEMA.empty_table())
    sizes = to_arrow(view.group_by(["network", "line_id"]).aggregate(cells=view.count()))
    parts = []
    for network, lines in _line_chunks(sizes):
        chunk = view.filter((view.network == network) & view.line_id.isin(lines))
        parts.append(correlation_sums_from_cells(to_arrow(chunk), dictionaries))
    return (
        pa.concat_tables(parts)
        if parts
        else correlation_sums_from_cells(CELLS_SCHEMA.empty_table(), dictionaries)
    )


#: Cells the correlation pass holds at once: lines are independent, so the pass takes a
#: few lines at a time and its memory stays flat whatever the history.
CHUNK_CELLS = 250_000


def _line_chunks(sizes: pa.Table) -> list[tuple[str, list[str]]]:
    """Consecutive lines of each network, grouped up to `CHUNK_CELLS` cells (a bigger
    line makes a chunk of its own)."""
    chunks: list[tuple[str, list[str]]] = []
    current: tuple[str, list[str]] | None = None
    held = 0
    rows = sorted(
        zip(*(sizes.column(c).to_pylist() for c in ("network", "line_id", "cells")), strict=True)
    )
    for network, line, count in rows:
        if current is None or current[0] != network or held + count > CHUNK_CELLS:
            if current is not None:
                chunks.append(current)
            current, held = (network, []), 0
        current[1].append(line)
        held += count
    if current is not None:
        chunks.append(current)
    return chunks


def _unchanged(
    lake: Lake, backend: Backend, gold: dict[str, DeltaTable | None], state: BuildState
) -> dict[str, GoldCandidate]:
    """The history as it is; the outlook rebuilt if a new forecast landed since."""
    from umwi_transform._outlook_build import refresh_outlook

    result = {}
    model: dict[str, DeltaTable] = {}
    for table in HISTORY_TABLES:
        delta = gold[table]
        assert delta is not None
        model[table] = delta
        result[table] = _candidate(table, delta, False, state.updated_at[table])
    outlook, built_at, changed = refresh_outlook(lake, backend, model)
    result[OUTLOOK_HOURLY_TABLE] = _candidate(OUTLOOK_HOURLY_TABLE, outlook, changed, built_at)
    return result


def empty_gold(table: str) -> pa.Table:
    return GOLD_SCHEMAS[table].empty_table()
