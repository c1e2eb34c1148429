"""`umwi backtest`: the outlook judged on history with a rolling origin (DESIGN.md §8).

Each UTC day D in [start, end) is predicted by the outlook's own expressions fitted only on
the published `mobility_weather_hourly` hours before D, with the weather observed on D
(`silver/weather_hourly`) standing in for a perfect forecast issued at D's midnight. The
naive baseline is the mean delay of the same slot (network, line, location, ISO weekday,
hour) over every hour before D, whatever its weather. Both are scored on the same hours:
D's model hours for which both have a prediction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import ibis  # type: ignore[import-untyped]
import ibis.expr.types as ir  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends.duckdb import Backend  # type: ignore[import-untyped]
from umwi_core.arrow import arrow_schema
from umwi_core.contracts import WEATHER_HOURLY
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.publication import read_publication
from umwi_core.settings import Settings

from umwi_transform import _outlook as ox
from umwi_transform._engine import connect, register, to_arrow
from umwi_transform._gold import _register_delta
from umwi_transform._gold_exprs import UTC_TS
from umwi_transform._schemas import GOLD_SCHEMAS
from umwi_transform.catalog import open_delta

#: The backtest's answer, one row per network and line (and `*`).
BACKTEST_SCHEMA = pa.schema(
    [
        ("network", pa.string()),
        ("line_id", pa.string()),
        ("hours", pa.int64()),
        ("model_mae_s", pa.float64()),
        ("naive_mae_s", pa.float64()),
        ("improvement_pct", pa.float64()),
    ]
)
MAX_DAYS = 366


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def backtest(lake: Lake, settings: Settings, start: date, end: date) -> pa.Table:
    """Per network and line: scored hours, the model's and the naive baseline's mean
    absolute error of the hourly mean delay, and 100 · (1 − model / naive)."""
    if end <= start:
        raise InputError(f"--end {end} must be after --start {start}")
    if (end - start).days > MAX_DAYS:
        raise InputError(f"backtest at most {MAX_DAYS} days at a time, not {(end - start).days}")
    found = read_publication(lake)
    if found is None or "mobility_weather_hourly" not in found[0].tables:
        raise InputError("nothing published yet: run `umwi build` before a backtest")
    version = found[0].tables["mobility_weather_hourly"].version
    backend = connect(settings.duckdb_memory_limit)
    mobility = _register_delta(
        backend,
        "bt_mobility",
        open_delta(lake, "gold", "mobility_weather_hourly", version),
        GOLD_SCHEMAS["mobility_weather_hourly"].empty_table(),
    )
    weather = _register_delta(
        backend,
        "bt_weather",
        open_delta(lake, "silver", "weather_hourly"),
        arrow_schema(WEATHER_HOURLY).empty_table(),
    )
    errors = [
        _day_errors(backend, mobility, weather, settings, start + timedelta(days=k))
        for k in range((end - start).days)
    ]
    scored = pa.concat_tables(errors)
    if scored.num_rows == 0:
        raise InputError(
            f"no hour from {start} to {end} could be predicted: the days need published "
            "hours and earlier history of the same weekday and hour"
        )
    sums = scored.group_by(["network", "line_id"]).aggregate(
        [("model_error", "mean"), ("naive_error", "mean"), ("model_error", "count")]
    )
    model = sums.column("model_error_mean")
    naive = sums.column("naive_error_mean")
    improvement = pc.multiply(pc.subtract(1.0, pc.divide(model, naive)), 100.0)
    result = pa.table(
        {
            "network": sums.column("network"),
            "line_id": sums.column("line_id"),
            "hours": sums.column("model_error_count").cast(pa.int64()),
            "model_mae_s": model,
            "naive_mae_s": naive,
            "improvement_pct": pc.if_else(pc.equal(naive, 0.0), None, improvement),
        },
        schema=BACKTEST_SCHEMA,
    )
    return result.sort_by([("network", "ascending"), ("line_id", "ascending")])


def _day_errors(
    backend: Backend,
    mobility: ir.Table,
    weather: ir.Table,
    settings: Settings,
    day: date,
) -> pa.Table:
    """The absolute errors of both predictions for each scorable model hour of `day`."""
    low, high = _midnight(day), _midnight(day + timedelta(days=1))
    history = mobility.filter(mobility.hour < low)
    baseline = register(backend, "bt_baseline", to_arrow(ox.outlook_baseline(history)))
    effects = register(
        backend,
        "bt_effects",
        to_arrow(ox.outlook_class_effect(history, baseline, settings.outlook_shrinkage_hours)),
    )
    observed = weather.filter((weather.hour >= low) & (weather.hour < high))
    forecast = observed.mutate(issued_at=ibis.literal(low).cast(UTC_TS))
    expected = ox.outlook_hourly(forecast, baseline, effects).select(
        "network", "line_id", "location_id", "hour", model=ibis._.expected_mean_delay_s
    )
    past = ox.model_cells(history)
    naive = past.group_by(list(ox.SLOT)).aggregate(naive=past.mean_delay_s.mean())
    actual = ox.model_cells(mobility.filter((mobility.hour >= low) & (mobility.hour < high)))
    scored = actual.inner_join(expected, ["network", "line_id", "location_id", "hour"])
    scored = scored.inner_join(naive, list(ox.SLOT))
    scored = scored.filter(scored.model.notnull() & scored.naive.notnull())
    return to_arrow(
        scored.select(
            "network",
            "line_id",
            model_error=(scored.model - scored.mean_delay_s).abs(),
            naive_error=(scored.naive - scored.mean_delay_s).abs(),
        )
    )
