"""The gold tables of DESIGN.md §4–5 as Ibis expressions, independent of the engine.

Every builder takes Ibis tables and returns an Ibis expression, so the same code runs on
DuckDB (the default driver, `umwi_transform._gold`) or any other Ibis backend. Only sums,
counts, variances and ranks are computed here; the closed-form statistics are finished on
the small aggregated result in `umwi_transform._stats`.

The engine's session time zone must be UTC: hours, months, weekdays and hours of day are
all UTC by contract.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis  # type: ignore[import-untyped]
import ibis.expr.datatypes as dt  # type: ignore[import-untyped]
import ibis.expr.types as ir  # type: ignore[import-untyped]
from umwi_core.contracts import (
    ALL_LINES,
    ALL_PERIODS,
    CORRELATION_LAGS_H,
    CORRELATION_VARIABLES,
    WEATHER_MEASURES,
)

EARTH_RADIUS_KM = 6371.0088
UTC_TS = dt.Timestamp(timezone="UTC")
WEATHER_COLUMNS = ("latitude", "longitude", *WEATHER_MEASURES)
HOURLY_KEY = ("network", "line_id", "location_id", "hour")


def _hour(value: ir.TimestampValue) -> ir.TimestampValue:
    return value.truncate("h").cast(UTC_TS)


def _month(value: ir.TimestampValue) -> ir.StringValue:
    return value.strftime("%Y-%m")


def haversine_m(
    lat1: ir.NumericValue, lon1: ir.NumericValue, lat2: ir.NumericValue, lon2: ir.NumericValue
) -> ir.IntegerValue:
    """Great-circle distance rounded to the metre (DESIGN.md §4)."""
    rad = ibis.pi / 180.0
    dlat = (lat2 - lat1) * rad / 2.0
    dlon = (lon2 - lon1) * rad / 2.0
    a = dlat.sin() ** 2 + (lat1 * rad).cos() * (lat2 * rad).cos() * dlon.sin() ** 2
    km = 2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
    return (km * 1000.0).round().cast("int64")


def weather_locations(weather: ir.Table) -> ir.Table:
    """One position per location: the one stated for its latest hour."""
    return weather.group_by("location_id").aggregate(
        loc_lat=weather.latitude.argmax(weather.hour),
        loc_lon=weather.longitude.argmax(weather.hour),
    )


def stop_locations(departures: ir.Table, weather: ir.Table, max_distance_km: float) -> ir.Table:
    """The nearest weather location of every stop position within the limit.

    Ties on the rounded distance go to the smallest `location_id`.
    """
    stops = (
        departures.filter(departures.stop_lat.notnull() & departures.stop_lon.notnull())
        .select("network", "stop_id", "stop_lat", "stop_lon")
        .distinct()
    )
    locations = weather_locations(weather)
    pairs = stops.cross_join(locations)
    pairs = pairs.mutate(
        distance_m=haversine_m(pairs.stop_lat, pairs.stop_lon, pairs.loc_lat, pairs.loc_lon)
    )
    pairs = pairs.filter(pairs.distance_m <= round(max_distance_km * 1000.0))
    ranked = pairs.mutate(
        choice=ibis.row_number().over(
            ibis.window(
                group_by=["network", "stop_id", "stop_lat", "stop_lon"],
                order_by=[pairs.distance_m, pairs.location_id],
            )
        )
    )
    return ranked.filter(ranked.choice == 0).select(
        "network", "stop_id", "stop_lat", "stop_lon", "location_id", "distance_m"
    )


def departures_with_weather(
    departures: ir.Table,
    weather: ir.Table,
    stops: ir.Table,
    *,
    on_time_threshold_s: int,
    early_tolerance_s: int,
) -> ir.Table:
    """Each departure with its hour, its on-time flag and its weather location.

    `location_id` is null when the weather is unknown: no coordinates, no location close
    enough, no weather row for the hour, or a null precipitation.
    """
    d = departures.select(
        "network",
        "line_id",
        "stop_id",
        "stop_lat",
        "stop_lon",
        "cancelled",
        "delay_s",
        hour=_hour(departures.scheduled_at),
    )
    with_stop = d.left_join(
        stops,
        [
            d.network == stops.network,
            d.stop_id == stops.stop_id,
            d.stop_lat == stops.stop_lat,
            d.stop_lon == stops.stop_lon,
        ],
    ).select(*[d[c] for c in d.columns], stops.location_id)
    known = weather.filter(weather.precipitation_mm.notnull()).select(
        w_location=weather.location_id, w_hour=weather.hour
    )
    joined = with_stop.left_join(
        known,
        [with_stop.location_id == known.w_location, with_stop.hour == known.w_hour],
    )
    on_time = (
        ~joined.cancelled
        & (joined.delay_s >= -early_tolerance_s)
        & (joined.delay_s <= on_time_threshold_s)
    )
    return joined.select(
        "network",
        "line_id",
        "hour",
        "cancelled",
        "delay_s",
        location_id=joined.w_location.notnull().ifelse(joined.location_id, ibis.null("string")),
        on_time=on_time.fill_null(False),
    )


def _punctuality(enriched: ir.Table, by: Sequence[str]) -> ir.Table:
    aggregated = enriched.group_by(list(by)).aggregate(
        departures=enriched.count(),
        cancelled=enriched.cancelled.cast("int64").sum(),
        on_time=enriched.on_time.cast("int64").sum(),
        # Cancelled departures carry no delay, so these run over the non-cancelled ones.
        mean_delay_s=enriched.delay_s.cast("float64").mean(),
        # One exact quantile state for both cuts, over the integer delays: a quantile
        # keeps every value of its group in memory outside the engine's limit, and two
        # float states per group raise the peak of a large build measurably.
        delay_cuts=enriched.delay_s.quantile([0.5, 0.9]),
    )
    return aggregated.mutate(
        p50_delay_s=aggregated.delay_cuts[0].cast("float64"),
        p90_delay_s=aggregated.delay_cuts[1].cast("float64"),
    ).drop("delay_cuts")


def punctuality_hourly(enriched: ir.Table) -> ir.Table:
    """`punctuality_hourly`: per line and for all lines (`line_id = '*'`)."""
    per_line = _punctuality(enriched, HOURLY_KEY)
    all_lines = _punctuality(enriched, ("network", "location_id", "hour")).mutate(
        line_id=ibis.literal(ALL_LINES)
    )
    columns = [*HOURLY_KEY, "departures", "cancelled", "on_time"]
    columns += ["mean_delay_s", "p50_delay_s", "p90_delay_s"]
    return per_line.select(*columns).union(all_lines.select(*columns))


def weather_class(weather: ir.Table) -> ir.StringValue:
    """First match wins; callers only pass hours with a known precipitation."""
    return ibis.cases(
        (weather.snowfall_cm.fill_null(0.0) > 0, "snow"),
        (weather.precipitation_mm == 0, "dry"),
        (weather.precipitation_mm <= 2.5, "light_rain"),
        (weather.precipitation_mm <= 7.6, "moderate_rain"),
        else_="heavy_rain",
    )


def mobility_weather_hourly(punctuality: ir.Table, weather: ir.Table) -> ir.Table:
    """`punctuality_hourly` rows of known weather joined to their weather row."""
    known = punctuality.filter(punctuality.location_id.notnull())
    w = weather.select("location_id", "hour", *WEATHER_COLUMNS)
    joined = known.inner_join(w, ["location_id", "hour"])
    return joined.mutate(weather_class=weather_class(joined))


def _impact_rows(punctuality: ir.Table, mobility: ir.Table) -> ir.Table:
    def shaped(table: ir.Table, klass: ir.StringValue, cells: ir.IntegerValue) -> ir.Table:
        nonc = table.departures - table.cancelled
        return table.select(
            "network",
            "line_id",
            "hour",
            weather_class=klass,
            cells=cells,
            departures=table.departures,
            cancelled=table.cancelled,
            on_time=table.on_time,
            nonc=nonc,
            delay_sum=(table.mean_delay_s * nonc).fill_null(0.0),
        )

    one = ibis.literal(1, type="int64")
    unknown = punctuality.filter(punctuality.location_id.isnull())
    wet = mobility.filter(
        (mobility.precipitation_mm > 0) | (mobility.snowfall_cm.fill_null(0.0) > 0)
    )
    return (
        shaped(mobility, mobility.weather_class, one)
        .union(shaped(wet, ibis.literal("wet"), one))
        .union(shaped(unknown, ibis.literal("unknown"), ibis.null("int64")))
    )


def _with_periods(rows: ir.Table, months: Sequence[str] | None) -> ir.Table:
    by_month = rows.mutate(period=_month(rows.hour))
    if months is not None:
        by_month = by_month.filter(by_month.period.isin(list(months)))
    return rows.mutate(period=ibis.literal(ALL_PERIODS)).union(by_month)


def weather_impact(
    punctuality: ir.Table, mobility: ir.Table, months: Sequence[str] | None = None
) -> ir.Table:
    """`weather_impact` from the two hourly tables (their sums are exact per hour).

    `months` limits the monthly rows to those periods (the `all` rows are always built).
    """
    rows = _with_periods(_impact_rows(punctuality, mobility), months)
    sums = rows.group_by(["network", "line_id", "period", "weather_class"]).aggregate(
        cells=rows.cells.sum(),
        departures=rows.departures.sum(),
        cancelled=rows.cancelled.sum(),
        on_time=rows.on_time.sum(),
        nonc=rows.nonc.sum(),
        delay_sum=rows.delay_sum.sum(),
    )
    rated = sums.mutate(
        cancellation_rate=sums.cancelled.cast("float64") / sums.departures,
        on_time_rate=(sums.nonc > 0).ifelse(
            sums.on_time.cast("float64") / sums.nonc, ibis.null("float64")
        ),
        reliability_rate=sums.on_time.cast("float64") / sums.departures,
        mean_delay_s=(sums.nonc > 0).ifelse(sums.delay_sum / sums.nonc, ibis.null("float64")),
    )
    dry = rated.filter(rated.weather_class == "dry").select(
        d_network=rated.network,
        d_line=rated.line_id,
        d_period=rated.period,
        dry_mean=rated.mean_delay_s,
    )
    joined = rated.left_join(
        dry,
        [
            rated.network == dry.d_network,
            rated.line_id == dry.d_line,
            rated.period == dry.d_period,
        ],
    )
    uplift = joined.mean_delay_s - joined.dry_mean
    return joined.select(
        "network",
        "line_id",
        "period",
        "weather_class",
        "cells",
        "departures",
        "cancellation_rate",
        "on_time_rate",
        "reliability_rate",
        "mean_delay_s",
        uplift_s=uplift,
        uplift_pct=(joined.dry_mean >= 30).ifelse(
            100.0 * uplift / joined.dry_mean, ibis.null("float64")
        ),
    )


def correlation_cells(mobility: ir.Table) -> ir.Table:
    """Cells with a defined y, the raw y and its anomaly against the weekday-hour baseline."""
    cells = mobility.filter(mobility.mean_delay_s.notnull()).select(
        "network", "line_id", "location_id", "hour", y=mobility.mean_delay_s
    )
    baseline = cells.y.mean().over(
        ibis.window(
            group_by=[
                cells.network,
                cells.line_id,
                cells.location_id,
                cells.hour.day_of_week.index(),
                cells.hour.hour(),
            ]
        )
    )
    anomaly = cells.y - baseline
    # The ranks compare the anomaly rounded to the microsecond: the baseline's floating
    # sum depends on the engine's summation order, and equal anomalies must tie in the
    # Spearman ranks on every run. The moments use it exact (DESIGN.md §5).
    return cells.mutate(y_anomaly=anomaly, y_anomaly_key=anomaly.round(6))


Y_KIND_COLUMNS = {"raw": "y", "anomaly": "y_anomaly"}
#: What the Spearman ranks of each y kind order by.
RANK_COLUMNS = {"raw": "y", "anomaly": "y_anomaly_key"}


def correlation_cell_table(mobility: ir.Table, weather: ir.Table) -> ir.Table:
    """The correlation cells (rows of `mobility_weather_hourly` with a defined y), each
    with the weather `x_<variable>_<lag>` at its location at `hour - lag` (null when that
    row or value is missing): everything the correlation needs, one row per cell.

    `umwi_transform._correlation` computes the statistics from it without the pairs."""
    cells = mobility.filter(mobility.mean_delay_s.notnull()).select(
        "network", "line_id", "location_id", "hour", y=mobility.mean_delay_s.cast("float64")
    )
    for lag in CORRELATION_LAGS_H:
        lagged = weather.select(
            w_location=weather.location_id,
            w_hour=(weather.hour + ibis.interval(hours=lag)).cast(UTC_TS),
            **{f"x_{v}_{lag}": weather[v].cast("float64") for v in CORRELATION_VARIABLES},
        )
        joined = cells.left_join(
            lagged, [cells.location_id == lagged.w_location, cells.hour == lagged.w_hour]
        )
        cells = joined.drop("w_location", "w_hour")
    return cells


PAIR_GROUP = ("network", "line_id", "period", "variable", "lag_h")


def correlation_sums(
    mobility: ir.Table, weather: ir.Table, variables: Sequence[str] = CORRELATION_VARIABLES
) -> ir.Table:
    """Per (network, line_id, period, variable, lag_h): n, the x moments and, for each
    y kind (`_raw`, `_anomaly` suffixes), the y moments, the covariance and the same for
    average ranks (Spearman). `umwi_transform.correlation_table` finishes them.

    `variables` (a subset of the correlation variables) lets a driver compute the rows of
    a few variables at a time: the pairs grow with cells × lags × variables × 2 periods.
    """
    return correlation_sums_of(correlation_pairs(mobility, weather, variables))


BASE_GROUP = ("network", "line_id", "period")


def correlation_pairs(
    mobility: ir.Table, weather: ir.Table, variables: Sequence[str] = CORRELATION_VARIABLES
) -> ir.Table:
    """One row per cell, lag, variable and period where x is known: x, y, y_anomaly, and
    the average ranks of y and y_anomaly among all cells of the (network, line_id, period)
    (`ry_base`, `ry_anomaly_base`, out of `n_base` cells).

    Those ranks are the Spearman ranks of every (variable, lag) group that has an x for
    each of the cells — usually all of them — so `correlation_sums_of` sorts only the
    groups with missing weather. Split from `correlation_sums` so an engine can
    materialise it once before ranking. Built with one join and one unpivot, so no engine
    evaluates the cells twice.
    """
    return correlation_pairs_of(correlation_base_cells(mobility), weather, variables)


def correlation_base_cells(mobility: ir.Table) -> ir.Table:
    """`correlation_cells` once per period (`all` and their month), with `n_base` and the
    average ranks of y and y_anomaly in their (network, line_id, period).

    They do not depend on the variable or the lag, so a driver that builds a few
    variables at a time materialises them once (their three windows are a third of a
    variable's query).
    """
    cells = correlation_cells(mobility)
    # Each cell counts once in `all` and once in its month, without a self-union.
    cells = cells.mutate(
        period=ibis.array([ibis.literal(ALL_PERIODS), _month(cells.hour)]).unnest()
    )
    cells = cells.mutate(n_base=cells.y.count().over(ibis.window(group_by=list(BASE_GROUP))))
    return cells.mutate(
        **{
            f"r{Y_KIND_COLUMNS[kind]}_base": _average_rank(
                cells, list(BASE_GROUP), RANK_COLUMNS[kind], "n_base"
            )
            for kind in Y_KIND_COLUMNS
        }
    )


def correlation_pairs_of(
    base_cells: ir.Table, weather: ir.Table, variables: Sequence[str] = CORRELATION_VARIABLES
) -> ir.Table:
    """`correlation_pairs` from `correlation_base_cells`."""
    unknown = sorted(set(variables) - set(CORRELATION_VARIABLES))
    if unknown or not variables:
        raise ValueError(f"not correlation variables: {unknown or 'none given'}")
    lags = ibis.memtable({"lag_h": list(CORRELATION_LAGS_H)}).mutate(
        lag_h=ibis._.lag_h.cast("int32")
    )
    shifted = base_cells.cross_join(lags)
    shifted = shifted.mutate(x_hour=shifted.hour - shifted.lag_h.as_interval("h"))
    w = weather.select(
        w_location=weather.location_id,
        w_hour=weather.hour,
        **{v: weather[v].cast("float64") for v in variables},
    )
    lagged = shifted.inner_join(
        w, [shifted.location_id == w.w_location, shifted.x_hour == w.w_hour]
    ).select(
        *BASE_GROUP,
        "location_id",
        "hour",
        "lag_h",
        "y",
        "y_anomaly",
        "y_anomaly_key",
        "n_base",
        "ry_base",
        "ry_anomaly_base",
        *variables,
    )
    long = lagged.pivot_longer(list(variables), names_to="variable", values_to="x")
    return long.filter(long.x.notnull())


def correlation_sums_of(pairs: ir.Table) -> ir.Table:
    """`correlation_sums` from `correlation_pairs`."""
    group = list(PAIR_GROUP)
    # The windows sort pairs; a single integer group id keeps those rows narrow.
    keys = pairs.group_by(group).aggregate(n_group=pairs.count(), n_base=pairs.n_base.max())
    keys = keys.mutate(
        group_id=ibis.row_number().over(ibis.window(order_by=group)),
        complete=keys.n_group == keys.n_base,
    )
    narrow = pairs.inner_join(keys, group).select(
        "group_id",
        "complete",
        "n_group",
        "location_id",
        "hour",
        "x",
        *Y_KIND_COLUMNS.values(),
        "y_anomaly_key",
        *(f"r{column}_base" for column in Y_KIND_COLUMNS.values()),
    )
    # x repeats a lot (a weather value serves every line near its location), so x is
    # ranked on its distinct values: a tie of c values ending at position p has the
    # average rank p - (c - 1) / 2.
    values = narrow.group_by(["group_id", "x"]).aggregate(ties=narrow.count())
    last = values.ties.sum().over(
        ibis.window(group_by="group_id", order_by="x", preceding=None, following=0)
    )
    values = values.mutate(rx=last.cast("float64") - (values.ties - 1).cast("float64") / 2.0)
    narrow = narrow.inner_join(values.drop("ties"), ["group_id", "x"])
    complete = narrow.filter(narrow.complete).mutate(
        **{f"r{column}": narrow[f"r{column}_base"] for column in Y_KIND_COLUMNS.values()}
    )
    partial = narrow.filter(~narrow.complete)
    partial = partial.mutate(
        **{
            f"r{Y_KIND_COLUMNS[kind]}": _average_rank(
                partial, ["group_id"], RANK_COLUMNS[kind], "n_group"
            )
            for kind in Y_KIND_COLUMNS
        }
    )
    columns = ["group_id", "x", "rx", *Y_KIND_COLUMNS.values()]
    columns += [f"r{column}" for column in Y_KIND_COLUMNS.values()]
    ranked = complete.select(*columns).union(partial.select(*columns))
    moments: dict[str, ir.Value] = {
        "n": ranked.count(),
        "mean_x": ranked.x.mean(),
        "var_x": ranked.x.var(how="pop"),
        "var_rx": ranked.rx.var(how="pop"),
    }
    for kind, column in Y_KIND_COLUMNS.items():
        y, ry = ranked[column], ranked[f"r{column}"]
        moments[f"mean_y_{kind}"] = y.mean()
        moments[f"var_y_{kind}"] = y.var(how="pop")
        moments[f"cov_xy_{kind}"] = ranked.x.cov(y, how="pop")
        moments[f"var_ry_{kind}"] = ry.var(how="pop")
        moments[f"cov_rxry_{kind}"] = ranked.rx.cov(ry, how="pop")
    sums = ranked.group_by("group_id").aggregate(**moments)
    excess = bartlett_excess(narrow)
    sums = sums.inner_join(excess, "group_id")
    columns = [*moments, *(f"bartlett_{kind}" for kind in Y_KIND_COLUMNS)]
    return sums.inner_join(keys, "group_id").select(*group, *columns)


def bartlett_excess(cells: ir.Table) -> ir.Table:
    """Per `group_id`: Bartlett's n / n_eff − 1 for each y kind (`bartlett_raw`,
    `bartlett_anomaly`; `umwi_transform._autocorr` has the method): the pooled
    correlations of x and of y over pairs of the group's cells at the same place 1–K hours
    apart and at other places 0–K hours apart, within one calendar month.

    `cells` has one row per (group_id, location_id, hour) with x, y and y_anomaly.
    """
    from umwi_transform._autocorr import NEFF_MAX_LAG_H

    values = {"x": "x", **{kind: column for kind, column in Y_KIND_COLUMNS.items()}}
    means = cells.group_by("group_id").aggregate(
        n=cells.count().cast("float64"),
        **{f"m_{name}": cells[column].mean() for name, column in values.items()},
        **{f"v_{name}": cells[column].var(how="pop") for name, column in values.items()},
    )
    joined = cells.inner_join(means, "group_id")
    d = joined.select(
        "group_id",
        "location_id",
        h=(joined.hour.epoch_seconds() // 3600).cast("int64"),
        month=_month(joined.hour),
        **{f"d_{name}": joined[column] - joined[f"m_{name}"] for name, column in values.items()},
    )
    slots = d.group_by(["group_id", "month", "h"]).aggregate(
        c=d.count().cast("float64"),
        **{f"s_{name}": d[f"d_{name}"].sum() for name in values},
        **{f"q_{name}": (d[f"d_{name}"] * d[f"d_{name}"]).sum() for name in values},
    )
    # k = 0: ordered pairs of distinct cells of one hour (other places only).
    zero = slots.group_by("group_id").aggregate(
        k=ibis.literal(0, type="int64"),
        p_all=(slots.c * (slots.c - 1.0)).sum(),
        **{f"g_{name}": (slots[f"s_{name}"] ** 2 - slots[f"q_{name}"]).sum() for name in values},
    )
    lags = ibis.memtable({"k": list(range(1, NEFF_MAX_LAG_H + 1))}).mutate(k=ibis._.k.cast("int64"))
    slot_values = ["c", *(f"s_{name}" for name in values)]
    apart = _hours_later(slots, ["group_id", "month"], slot_values, lags)
    every = apart.group_by(["group_id", "k"]).aggregate(
        p_all=(apart.c * apart.r_c).sum(),
        **{f"g_{name}": (apart[f"s_{name}"] * apart[f"r_s_{name}"]).sum() for name in values},
    )
    cell_values = [f"d_{name}" for name in values]
    place = _hours_later(d, ["group_id", "location_id", "month"], cell_values, lags)
    same = place.group_by(["group_id", "k"]).aggregate(
        p_same=place.count().cast("float64"),
        **{f"e_{name}": (place[f"d_{name}"] * place[f"r_d_{name}"]).sum() for name in values},
    )
    same = same.select(s_group=same.group_id, s_k=same.k, **{c: same[c] for c in same.columns[2:]})
    spread = every.left_join(same, [every.group_id == same.s_group, every.k == same.s_k])
    spread = spread.select(
        "group_id",
        "k",
        "p_all",
        p_same=spread.p_same.fill_null(0.0),
        **{f"g_{name}": spread[f"g_{name}"] for name in values},
        **{f"e_{name}": spread[f"e_{name}"].fill_null(0.0) for name in values},
    )

    def term(p: ir.FloatingValue, a: ir.FloatingValue, b: ir.FloatingValue) -> ir.FloatingValue:
        return (p > 0).ifelse(_ratio(a * b, p), 0.0)

    terms = spread.select(
        "group_id",
        **{
            kind: 2.0
            * (
                term(
                    spread.p_all - spread.p_same,
                    spread.g_x - spread.e_x,
                    spread[f"g_{kind}"] - spread[f"e_{kind}"],
                )
                + term(spread.p_same, spread.e_x, spread[f"e_{kind}"])
            )
            for kind in Y_KIND_COLUMNS
        },
    ).union(
        zero.select(
            "group_id",
            **{kind: term(zero.p_all, zero.g_x, zero[f"g_{kind}"]) for kind in Y_KIND_COLUMNS},
        )
    )
    total = terms.group_by("group_id").aggregate(
        **{kind: terms[kind].sum() for kind in Y_KIND_COLUMNS}
    )
    scaled = total.inner_join(means, "group_id")
    return scaled.select(
        "group_id",
        **{
            f"bartlett_{kind}": _ratio(scaled[kind], scaled.n * scaled.v_x * scaled[f"v_{kind}"])
            for kind in Y_KIND_COLUMNS
        },
    )


def _hours_later(table: ir.Table, keys: list[str], columns: list[str], lags: ir.Table) -> ir.Table:
    """Each row of `table` (hour `h`) with the row of the same `keys` `k` hours later, for
    every k of `lags`; the later row's `columns` as `r_<column>`."""
    # A projection after the cross join: the join's keys must name one relation each.
    left = table.cross_join(lags)
    left = left.mutate(h_to=left.h + left.k)
    right = table.select(
        **{f"r_{column}": table[column] for column in [*keys, "h", *columns]},
    )
    return left.inner_join(
        right,
        [*(left[key] == right[f"r_{key}"] for key in keys), left.h_to == right.r_h],
    )


def _ratio(a: ir.FloatingValue, b: ir.FloatingValue) -> ir.FloatingValue:
    """a / b, null where b is 0: ANSI engines (Spark 4) raise on a division by zero even
    in a branch that is not taken."""
    return (b != 0).ifelse(a / b.nullif(0.0), ibis.null("float64"))


def _average_rank(table: ir.Table, group: list[str], column: str, size: str) -> ir.FloatingValue:
    """1-based rank where ties share their mean rank: the mean of the first rank of the
    tie (`rank`) and its last (`cume_dist · n`, n in column `size`); both share one sort."""
    window = ibis.window(group_by=group, order_by=table[column])
    first = ibis.rank().over(window).cast("float64") + 1.0
    last = ibis.cume_dist().over(window) * table[size].cast("float64")
    return (first + last.round()) / 2.0


def sensitivity_days(mobility: ir.Table) -> ir.Table:
    """Per network, line_id and UTC day: the sums of its wet and its dry cells
    (`mobility_weather_hourly` rows) that `line_sensitivity` needs: cells, departures,
    on-time and kept departures, and the kept departures' delay sum. Hours neither wet
    nor dry do not occur (known weather only)."""
    snow = mobility.snowfall_cm.fill_null(0.0) > 0
    wet = (mobility.precipitation_mm > 0) | snow
    kept = mobility.departures - mobility.cancelled
    rows = mobility.select(
        "network",
        "line_id",
        day=mobility.hour.truncate("D").cast(UTC_TS),
        wet=wet,
        departures=mobility.departures,
        on_time=mobility.on_time,
        kept=kept,
        delay_sum=(mobility.mean_delay_s * kept).fill_null(0.0),
    )
    one = ibis.literal(1, type="int64")
    zero = ibis.literal(0, type="int64")
    sums: dict[str, ir.Value] = {}
    for prefix, chosen in (("wet", rows.wet), ("dry", ~rows.wet)):
        sums[f"{prefix}_cells"] = chosen.ifelse(one, zero).sum()
        for name in ("departures", "on_time", "kept"):
            sums[f"{prefix}_{name}"] = chosen.ifelse(rows[name].cast("int64"), zero).sum()
        sums[f"{prefix}_delay_sum"] = chosen.ifelse(rows.delay_sum, 0.0).sum()
    return rows.group_by(["network", "line_id", "day"]).aggregate(**sums)
