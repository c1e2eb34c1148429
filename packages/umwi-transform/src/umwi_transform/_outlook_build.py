"""The outlook's DuckDB driver: the model tables inside `umwi build`, the forecast's silver
table, and `outlook_hourly` on its own (`build_outlook`), never rebuilding historical gold.

`outlook_hourly` is small (48 h × lines × locations), so it is rewritten whole whenever the
forecast or the model it was built from changes; `gold/_outlook_state.json` remembers which.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import ibis.expr.types as ir  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from ibis.backends.duckdb import Backend  # type: ignore[import-untyped]
from pydantic import BaseModel
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import OUTLOOK_HOURLY_TABLE, WEATHER_FORECAST
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.publication import read_publication
from umwi_core.settings import Settings

from umwi_transform import _outlook as ox
from umwi_transform._delta import delta_uri, log, with_commit_retry
from umwi_transform._engine import connect, to_arrow
from umwi_transform._gold import GoldCandidate, _candidate, _register_delta, _write
from umwi_transform._schemas import GOLD_SCHEMAS, conform
from umwi_transform.catalog import open_delta

OUTLOOK_STATE_KEY = "gold/_outlook_state.json"
FORECAST = WEATHER_FORECAST.name
MODEL_TABLES = ("outlook_baseline", "outlook_class_effect")


class OutlookState(BaseModel):
    """The inputs `outlook_hourly` at `version` was built from."""

    forecast_version: int
    model_versions: dict[str, int]
    version: int
    built_at: datetime


def land_forecast(lake: Lake, forecast: pa.Table, run_id: str, *, source: str = "file") -> int:
    """Write one or more forecast issues to `silver/weather_forecast`; returns its version.

    Each (location, issue) is replaced whole, so landing the same forecast again changes
    no row. An impossible value refuses the whole forecast, naming it (forecasts are not
    quarantined row by row: a half forecast would be read as a complete one).
    """
    schema = arrow_schema(WEATHER_FORECAST)
    now = datetime.now(UTC)
    filled = {
        "source": pa.array([source] * forecast.num_rows, pa.string()),
        "ingested_at": pa.array([now] * forecast.num_rows, pa.timestamp("us", tz="UTC")),
        "run_id": pa.array([run_id] * forecast.num_rows, pa.string()),
    }
    columns = []
    for field in schema:
        if field.name in forecast.column_names:
            columns.append(forecast.column(field.name).cast(field.type))
        elif field.name in filled:
            columns.append(filled[field.name])
        elif field.nullable:
            columns.append(pa.nulls(forecast.num_rows, field.type))
        else:
            raise InputError(f"forecast: required column {field.name!r} is missing")
    table = pa.Table.from_arrays(columns, schema=schema)
    _validate(table)
    if table.num_rows == 0:
        raise InputError("forecast: no hours to land")
    issues = sorted(
        set(
            zip(
                table.column("location_id").to_pylist(),
                table.column("issued_at").to_pylist(),
                strict=True,
            )
        )
    )
    predicate = " OR ".join(
        f"(location_id = '{location.replace(chr(39), chr(39) * 2)}' "
        f"AND issued_at = '{issued:%Y-%m-%dT%H:%M:%S.%fZ}')"
        for location, issued in issues
    )
    uri = delta_uri(lake, "silver", FORECAST)
    current = open_delta(lake, "silver", FORECAST)
    exists = current is not None
    if current is not None and _already_landed(current, table, issues):
        # The same forecast again: a new version would rebuild and republish the outlook.
        return current.version()

    def attempt() -> DeltaTable:
        write_deltalake(
            uri,
            table,
            mode="overwrite",
            predicate=predicate if exists else None,
            storage_options=lake.storage_options(),
        )
        return DeltaTable(uri, storage_options=lake.storage_options())

    return with_commit_retry(f"silver/{FORECAST}", attempt).version()


def _already_landed(
    current: DeltaTable, table: pa.Table, issues: list[tuple[str, datetime]]
) -> bool:
    """Whether these issues are stored with exactly these values (lineage aside)."""
    stamp = pa.timestamp("us", tz="UTC")
    condition = None
    for location, issued in issues:
        part = (pc.field("location_id") == location) & (
            pc.field("issued_at") == pa.scalar(issued, type=stamp)
        )
        condition = part if condition is None else condition | part
    stored = current.to_pyarrow_dataset().to_table(filter=condition)
    content = [c for c in table.column_names if c not in ("ingested_at", "run_id", "source")]
    order = [(c, "ascending") for c in ("location_id", "issued_at", "hour")]
    if stored.num_rows != table.num_rows:
        return False
    return bool(stored.select(content).sort_by(order).equals(table.select(content).sort_by(order)))


def _validate(table: pa.Table) -> None:
    for column in WEATHER_FORECAST.columns:
        values = table.column(column.name)
        if not column.nullable and values.null_count:
            raise InputError(f"forecast: {column.name} is empty in {values.null_count} row(s)")
        if column.range is None:
            continue
        low, high = column.range.low, column.range.high
        bad = pc.or_kleene(
            pc.less(values, low) if low is not None else pa.scalar(False),
            pc.greater(values, high) if high is not None else pa.scalar(False),
        )
        found = pc.filter(table, pc.fill_null(bad, False))
        if found.num_rows:
            row = found.slice(0, 1).to_pylist()[0]
            raise InputError(
                f"forecast: {column.name} = {row[column.name]} at {row['location_id']} "
                f"{row['hour']:%Y-%m-%dT%H:%MZ} is outside "
                f"{column.range.check_name(column.name).removeprefix(column.name + ' ')}"
            )
    hours = table.column("hour").to_pylist()
    uneven = [h for h in hours if h.minute or h.second or h.microsecond]
    if uneven:
        raise InputError(f"forecast: hour {uneven[0].isoformat()} is not the start of an hour")


def write_model(
    backend: Backend,
    lake: Lake,
    mobility: ir.Table,
    weekdays: Sequence[int] | None,
    settings: Settings,
) -> dict[str, DeltaTable]:
    """Rewrite the baselines of `weekdays` (all when None), then every class effect.

    The class effects are a few rows per line, computed from the wet hours and the
    baselines just written."""
    baseline = conform(to_arrow(ox.outlook_baseline(mobility, weekdays)), "outlook_baseline")
    predicate = (
        None
        if weekdays is None
        else "weekday IN (" + ", ".join(str(int(d)) for d in sorted(weekdays)) + ")"
    )
    written = {"outlook_baseline": _write(lake, "outlook_baseline", baseline, predicate)}
    all_baselines = _register_delta(
        backend,
        "gold_outlook_baseline",
        written["outlook_baseline"],
        GOLD_SCHEMAS["outlook_baseline"].empty_table(),
    )
    effects = conform(
        to_arrow(
            ox.outlook_class_effect(mobility, all_baselines, settings.outlook_shrinkage_hours)
        ),
        "outlook_class_effect",
    )
    written["outlook_class_effect"] = _write(lake, "outlook_class_effect", effects, None)
    return written


def refresh_outlook(
    lake: Lake, backend: Backend, model: dict[str, DeltaTable]
) -> tuple[DeltaTable, datetime, bool]:
    """`outlook_hourly` from the latest forecast and `model`; rewritten only when either
    changed since it was last built. Returns the table, when its rows last changed, and
    whether this call changed them."""
    forecast = open_delta(lake, "silver", FORECAST)
    forecast_version = -1 if forecast is None else forecast.version()
    wanted = {name: model[name].version() for name in MODEL_TABLES}
    current = open_delta(lake, "gold", OUTLOOK_HOURLY_TABLE)
    found = lake.read_versioned(OUTLOOK_STATE_KEY)
    state = None if found is None else OutlookState.model_validate_json(found[0])
    if (
        current is not None
        and state is not None
        and state.version == current.version()
        and state.forecast_version == forecast_version
        and state.model_versions == wanted
    ):
        return current, state.built_at, False
    forecast_view = _register_delta(
        backend, "silver_weather_forecast", forecast, arrow_schema(WEATHER_FORECAST).empty_table()
    )
    views = {
        name: _register_delta(
            backend, f"model_{name}", model[name], GOLD_SCHEMAS[name].empty_table()
        )
        for name in MODEL_TABLES
    }
    rows = conform(
        to_arrow(
            ox.outlook_hourly(
                forecast_view, views["outlook_baseline"], views["outlook_class_effect"]
            )
        ),
        OUTLOOK_HOURLY_TABLE,
    )
    written = _write(lake, OUTLOOK_HOURLY_TABLE, rows, None)
    built_at = datetime.now(UTC)
    lake.write_bytes(
        OUTLOOK_STATE_KEY,
        OutlookState(
            forecast_version=forecast_version,
            model_versions=wanted,
            version=written.version(),
            built_at=built_at,
        )
        .model_dump_json(indent=2)
        .encode(),
    )
    log.info("outlook: %d rows from forecast version %d", rows.num_rows, forecast_version)
    return written, built_at, True


def follow_compaction(lake: Lake, compacted: dict[str, tuple[int, int]]) -> None:
    """After `maintain` compacted tables (gold ones and `weather_forecast`, (version
    before, after) each): the outlook's state follows, so compaction (no data change) does
    not rebuild the outlook."""
    found = lake.read_versioned(OUTLOOK_STATE_KEY)
    if found is None:
        return
    state = OutlookState.model_validate_json(found[0])
    models = dict(state.model_versions)
    for name, (before, after) in compacted.items():
        if models.get(name) == before:
            models[name] = after
    version = state.version
    if OUTLOOK_HOURLY_TABLE in compacted and compacted[OUTLOOK_HOURLY_TABLE][0] == version:
        version = compacted[OUTLOOK_HOURLY_TABLE][1]
    forecast = state.forecast_version
    if FORECAST in compacted and compacted[FORECAST][0] == forecast:
        forecast = compacted[FORECAST][1]
    if (models, version, forecast) != (state.model_versions, state.version, state.forecast_version):
        updated = state.model_copy(
            update={"model_versions": models, "version": version, "forecast_version": forecast}
        )
        lake.write_bytes(OUTLOOK_STATE_KEY, updated.model_dump_json(indent=2).encode())


def build_outlook(lake: Lake, settings: Settings, run_id: str) -> dict[str, GoldCandidate]:
    """The `outlook_hourly` candidate from the latest forecast and the *published* model,
    for the hourly outlook refresh; historical gold is not touched."""
    found = read_publication(lake)
    missing = [t for t in MODEL_TABLES if found is None or t not in found[0].tables]
    if missing:
        raise InputError(f"no published {missing[0]}: run `umwi build` before the outlook")
    assert found is not None
    model = {}
    for name in MODEL_TABLES:
        delta = open_delta(lake, "gold", name, found[0].tables[name].version)
        assert delta is not None
        model[name] = delta
    backend = connect(settings.duckdb_memory_limit)
    delta, built_at, changed = refresh_outlook(lake, backend, model)
    log.info("outlook build (run %s): %s", run_id, "rewritten" if changed else "unchanged")
    return {OUTLOOK_HOURLY_TABLE: _candidate(OUTLOOK_HOURLY_TABLE, delta, changed, built_at)}
