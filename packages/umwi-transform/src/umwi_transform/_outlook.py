"""The punctuality outlook of DESIGN.md §8 as Ibis expressions, independent of the engine.

expected = the line's dry-hour baseline of the slot (network, line, location, ISO weekday,
UTC hour of day) + the line's uplift of the forecast class against dry, shrunk towards the
all-lines uplift by the weight n / (n + k). Every number is a mean, a sample variance or a
count over hourly cells, so an operator can recompute any row from `mobility_weather_hourly`.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis  # type: ignore[import-untyped]
import ibis.expr.types as ir  # type: ignore[import-untyped]
from umwi_core.contracts import (
    ALL_LINES,
    EFFECT_CLASSES,
    OUTLOOK_BASELINE,
    OUTLOOK_CLASS_EFFECT,
    OUTLOOK_HORIZON_H,
    OUTLOOK_HOURLY,
    OUTLOOK_MEASURES,
    WEATHER_MEASURES,
)

from umwi_transform._gold_exprs import UTC_TS, weather_class

#: The two-sided 95 % normal quantile, Φ⁻¹(0.975).
Z_95 = 1.959963984540054
SLOT = ("network", "line_id", "location_id", "weekday", "hour_of_day")
FORECAST_WEATHER = WEATHER_MEASURES
#: The uplift column stem of each measure (`mean_delay_s` → `mean_delay_uplift…_s`).
_STEMS = {"mean_delay_s": ("mean_delay", "_s"), "on_time_rate": ("on_time_rate", "")}
_STEMS["reliability_rate"] = ("reliability_rate", "")


def _uplift_name(measure: str, part: str) -> str:
    stem, unit = _STEMS[measure]
    return f"{stem}_uplift{part}{unit}"


def _sd_name(measure: str) -> str:
    return "mean_delay_sd_s" if measure == "mean_delay_s" else f"{measure}_sd"


def iso_weekday(hour: ir.TimestampValue) -> ir.IntegerValue:
    """1 = Monday … 7 = Sunday, of the UTC hour."""
    return (hour.day_of_week.index() + 1).cast("int32")


def model_cells(mobility: ir.Table) -> ir.Table:
    """Rows of `mobility_weather_hourly` with a non-cancelled departure, with their slot
    and the hour's three measures."""
    kept = mobility.departures - mobility.cancelled
    rows = mobility.filter(kept > 0)
    kept = (rows.departures - rows.cancelled).cast("float64")
    return rows.select(
        "network",
        "line_id",
        "location_id",
        "hour",
        "weather_class",
        weekday=iso_weekday(rows.hour),
        hour_of_day=rows.hour.hour().cast("int32"),
        mean_delay_s=rows.mean_delay_s.cast("float64"),
        on_time_rate=rows.on_time.cast("float64") / kept,
        reliability_rate=rows.on_time.cast("float64") / rows.departures.cast("float64"),
    )


def outlook_baseline(mobility: ir.Table, weekdays: Sequence[int] | None = None) -> ir.Table:
    """`outlook_baseline`: per slot, the mean and sample sd of each measure over dry hours.

    `weekdays` limits it to those ISO weekdays (an incremental build's affected ones)."""
    cells = model_cells(mobility)
    dry = cells.filter(cells.weather_class == "dry")
    if weekdays is not None:
        dry = dry.filter(dry.weekday.isin(list(weekdays)))
    stats: dict[str, ir.Value] = {"hours": dry.count()}
    for measure in OUTLOOK_MEASURES:
        stats[measure] = dry[measure].mean()
        stats[_sd_name(measure)] = dry[measure].std(how="sample")
    return dry.group_by(list(SLOT)).aggregate(**stats).select(*OUTLOOK_BASELINE.column_names)


def outlook_class_effect(
    mobility: ir.Table, baseline: ir.Table, shrinkage_hours: float
) -> ir.Table:
    """`outlook_class_effect`: for each line (and `*`) and wet class with an all-lines
    uplift, the raw, shrunk and standard error of each measure's uplift against dry."""
    if shrinkage_hours <= 0:
        raise ValueError(f"outlook shrinkage hours must be above 0, not {shrinkage_hours}")
    cells = model_cells(mobility)
    wet = cells.filter(cells.weather_class.isin(list(EFFECT_CLASSES)))
    base = baseline.select(*SLOT, **{f"b_{m}": baseline[m] for m in OUTLOOK_MEASURES}).rename(
        {f"s_{c}": c for c in SLOT}
    )
    joined = wet.inner_join(base, [wet[c] == base[f"s_{c}"] for c in SLOT])
    anomalies = joined.select(
        "network",
        "line_id",
        "weather_class",
        **{m: joined[m] - joined[f"b_{m}"] for m in OUTLOOK_MEASURES},
    )
    aggregates: dict[str, ir.Value] = {"n": anomalies.count()}
    for m in OUTLOOK_MEASURES:
        aggregates[f"raw_{m}"] = anomalies[m].mean()
        aggregates[f"var_{m}"] = anomalies[m].var(how="sample")
    stats = anomalies.group_by(["network", "line_id", "weather_class"]).aggregate(**aggregates)
    prior = stats.filter(stats.line_id == ALL_LINES).select(
        p_network=stats.network,
        p_class=stats.weather_class,
        p_n=stats.n,
        **{f"p_raw_{m}": stats[f"raw_{m}"] for m in OUTLOOK_MEASURES},
        **{f"p_var_{m}": stats[f"var_{m}"] for m in OUTLOOK_MEASURES},
    )
    lines = baseline.select("network", "line_id").distinct()
    grid = lines.inner_join(prior, lines.network == prior.p_network)
    own = stats.rename({f"o_{c}": c for c in ("network", "line_id", "weather_class")})
    full = grid.left_join(
        own,
        [
            grid.network == own.o_network,
            grid.line_id == own.o_line_id,
            grid.p_class == own.o_weather_class,
        ],
    )
    n = full.n.fill_null(0)
    nf = n.cast("float64")
    weight = (full.line_id == ALL_LINES).ifelse(1.0, nf / (nf + float(shrinkage_hours)))
    columns: dict[str, ir.Value] = {
        "network": full.network,
        "line_id": full.line_id,
        "weather_class": full.p_class,
        "hours": n.cast("int64"),
        "weight": weight,
    }
    for m in OUTLOOK_MEASURES:
        raw, prior_raw = full[f"raw_{m}"], full[f"p_raw_{m}"]
        prior_var = full[f"p_var_{m}"]
        own_var = (n >= 2).ifelse(full[f"var_{m}"], prior_var)
        own_term = (n > 0).ifelse(weight**2 * own_var / nf, 0.0)
        prior_term = (1.0 - weight) ** 2 * prior_var / full.p_n.cast("float64")
        columns[_uplift_name(m, "_raw")] = raw
        columns[_uplift_name(m, "")] = weight * raw.fill_null(0.0) + (1.0 - weight) * prior_raw
        columns[_uplift_name(m, "_se")] = (own_term + prior_term).sqrt()
    return full.select(**columns).select(*OUTLOOK_CLASS_EFFECT.column_names)


def latest_forecast(forecast: ir.Table) -> ir.Table:
    """The latest issue of each location, cut to the outlook's hours
    `[hour of issue, + OUTLOOK_HORIZON_H)`."""
    latest = forecast.group_by("location_id").aggregate(l_issued=forecast.issued_at.max())
    latest = latest.rename(l_location="location_id")
    joined = forecast.inner_join(
        latest,
        [forecast.location_id == latest.l_location, forecast.issued_at == latest.l_issued],
    )
    anchor = joined.issued_at.truncate("h").cast(UTC_TS)
    end = (anchor + ibis.interval(hours=OUTLOOK_HORIZON_H)).cast(UTC_TS)
    return joined.filter((joined.hour >= anchor) & (joined.hour < end)).select(
        "location_id", "hour", "issued_at", *FORECAST_WEATHER
    )


def outlook_hourly(forecast: ir.Table, baseline: ir.Table, effects: ir.Table) -> ir.Table:
    """`outlook_hourly`: every (line, location) with a dry baseline for a forecast hour's
    slot, with the expectations of §8 and their 95 % intervals."""
    hours = latest_forecast(forecast)
    hours = hours.mutate(
        weekday=iso_weekday(hours.hour),
        hour_of_day=hours.hour.hour().cast("int32"),
        weather_class=hours.precipitation_mm.isnull().ifelse("unknown", weather_class(hours)),
    )
    base = baseline.rename(
        b_location="location_id", b_weekday="weekday", b_hour_of_day="hour_of_day"
    )
    slots = hours.inner_join(
        base,
        [
            hours.location_id == base.b_location,
            hours.weekday == base.b_weekday,
            hours.hour_of_day == base.b_hour_of_day,
        ],
    )
    effect = effects.rename(
        e_network="network", e_line_id="line_id", e_class="weather_class", e_hours="hours"
    )
    rows = slots.left_join(
        effect,
        [
            slots.network == effect.e_network,
            slots.line_id == effect.e_line_id,
            slots.weather_class == effect.e_class,
        ],
    )
    dry = rows.weather_class == "dry"
    columns: dict[str, ir.Value] = {
        "network": rows.network,
        "line_id": rows.line_id,
        "location_id": rows.location_id,
        "hour": rows.hour,
        "issued_at": rows.issued_at,
        **{c: rows[c] for c in FORECAST_WEATHER},
        "weather_class": rows.weather_class,
        "baseline_hours": rows.hours,
        "class_hours": dry.ifelse(ibis.null("int64"), rows.e_hours),
        "baseline_mean_delay_s": rows.mean_delay_s,
        "uplift_s": dry.ifelse(0.0, rows[_uplift_name("mean_delay_s", "")]),
    }
    for m in OUTLOOK_MEASURES:
        stem, unit = _STEMS[m]
        uplift = dry.ifelse(0.0, rows[_uplift_name(m, "")])
        se = dry.ifelse(0.0, rows[_uplift_name(m, "_se")])
        sd = rows[_sd_name(m)]
        expected = rows[m] + uplift
        half = Z_95 * (sd**2 / rows.hours.cast("float64") + se**2).sqrt()
        low, high = expected - half, expected + half
        if m != "mean_delay_s":
            expected, low, high = (v.clip(lower=0.0, upper=1.0) for v in (expected, low, high))
        columns[f"expected_{stem}{unit}"] = expected
        columns[f"{stem}_low{unit}"] = low
        columns[f"{stem}_high{unit}"] = high
    return rows.select(**columns).select(*OUTLOOK_HOURLY.column_names)


__all__ = [
    "Z_95",
    "latest_forecast",
    "model_cells",
    "outlook_baseline",
    "outlook_class_effect",
    "outlook_hourly",
]
