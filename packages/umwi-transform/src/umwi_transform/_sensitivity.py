"""`line_sensitivity` from per-day sums (DESIGN.md §5, "Line sensitivity").

Both numbers are differences of ratios of sums over the period's days, wet cells against
dry ones: the mean-delay uplift (Σ delay / Σ kept) and the reliability drop (Σ on-time /
Σ departures). Wet spells last hours and delays persist within a day, so days, not hours,
are the independent units: the interval is the delta method's (linearisation) variance of
the difference, clustered by day,

    se² = D / (D − 1) · Σ_d z_d²,   z_d = (a_wd − R_w b_wd) / B_w − (a_dd − R_d b_dd) / B_d,

with a, b a day's numerator and denominator sums, R and B the period's ratio and
denominator total, D the days with cells (Cameron & Miller 2015, the cluster-robust
sandwich for a ratio). The period's days are all it needs, so a month's rows follow from
that month's days and `all` from every day: a linear pass, no resampling.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import special
from umwi_core.contracts import ALL_LINES, ALL_PERIODS

from umwi_transform._schemas import GOLD_SCHEMAS

Z_975 = float(special.ndtri(0.975))


def _f(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def _difference(
    groups: np.ndarray,
    size: int,
    wet: tuple[np.ndarray, np.ndarray],
    dry: tuple[np.ndarray, np.ndarray],
    days: np.ndarray,
    sign: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sign · (R_wet − R_dry) per group, with its 95 % interval (NaN where undefined)."""

    def ratio(parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        top = np.bincount(groups, weights=parts[0], minlength=size)
        bottom = np.bincount(groups, weights=parts[1], minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return top / bottom, bottom

    r_wet, b_wet = ratio(wet)
    r_dry, b_dry = ratio(dry)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (wet[0] - r_wet[groups] * wet[1]) / b_wet[groups] - (
            dry[0] - r_dry[groups] * dry[1]
        ) / b_dry[groups]
        square = np.bincount(groups, weights=z * z, minlength=size)
        se = np.sqrt(days / (days - 1.0) * square)
    estimate = sign * (r_wet - r_dry)
    defined = (b_wet > 0) & (b_dry > 0)
    estimate = np.where(defined, estimate, np.nan)
    se = np.where(defined & (days >= 2), se, np.nan)
    return estimate, estimate - Z_975 * se, estimate + Z_975 * se


def line_sensitivity(
    days: pa.Table, min_wet_hours: int, months: Sequence[str] | None = None
) -> pa.Table:
    """The `line_sensitivity` rows from `gold_expressions.sensitivity_days` (every day of
    the history): `all` and each month (only `months` when given)."""
    schema = GOLD_SCHEMAS["line_sensitivity"]
    if days.num_rows == 0:
        return schema.empty_table()
    month = pc.strftime(days.column("day"), format="%Y-%m")
    parts = []
    for period_rows in ("all", "month"):
        if period_rows == "all":
            period = pa.array([ALL_PERIODS] * days.num_rows, pa.string())
            chosen = days
        else:
            keep = (
                pc.is_in(month, value_set=pa.array(list(months), pa.string()))
                if months is not None
                else pa.array([True] * days.num_rows)
            )
            chosen = days.filter(keep)
            period = pc.filter(month, keep)
            if chosen.num_rows == 0:
                continue
        parts.append(_period_rows(chosen, period, min_wet_hours))
    return pa.concat_tables(parts).cast(schema) if parts else schema.empty_table()


def _period_rows(days: pa.Table, period: pa.Array, min_wet_hours: int) -> pa.Table:
    key = pc.binary_join_element_wise(
        days.column("network").cast(pa.string()),
        days.column("line_id").cast(pa.string()),
        period,
        "\x1f",
    )
    encoded = pc.dictionary_encode(key).combine_chunks()
    groups = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    names = [str(v).split("\x1f") for v in encoded.dictionary.to_pylist()]
    size = len(names)

    def total(name: str) -> np.ndarray:
        return np.bincount(groups, weights=_f(days, name), minlength=size)

    wet_cells = _f(days, "wet_cells")
    day_count = np.bincount(groups, minlength=size).astype(np.float64)
    uplift = _difference(
        groups,
        size,
        (_f(days, "wet_delay_sum"), _f(days, "wet_kept")),
        (_f(days, "dry_delay_sum"), _f(days, "dry_kept")),
        day_count,
        1.0,
    )
    drop = _difference(
        groups,
        size,
        (_f(days, "wet_on_time"), _f(days, "wet_departures")),
        (_f(days, "dry_on_time"), _f(days, "dry_departures")),
        day_count,
        -1.0,
    )
    network = [n[0] for n in names]
    line = [n[1] for n in names]
    wet_hours = total("wet_cells")
    rank = _ranks(network, line, [n[2] for n in names], uplift[1], wet_hours, min_wet_hours)
    return pa.table(
        {
            "network": pa.array(network, pa.string()),
            "line_id": pa.array(line, pa.string()),
            "period": pa.array([n[2] for n in names], pa.string()),
            "wet_hours": pa.array(wet_hours.astype(np.int64)),
            "dry_hours": pa.array(total("dry_cells").astype(np.int64)),
            "wet_days": pa.array(
                np.bincount(groups, weights=(wet_cells > 0), minlength=size).astype(np.int64)
            ),
            "days": pa.array(day_count.astype(np.int64)),
            "uplift_s": pa.array(uplift[0], from_pandas=True),
            "uplift_low_s": pa.array(uplift[1], from_pandas=True),
            "uplift_high_s": pa.array(uplift[2], from_pandas=True),
            "reliability_drop": pa.array(drop[0], from_pandas=True),
            # The drop is −(wet − dry): its interval's ends swap.
            "reliability_drop_low": pa.array(drop[1], from_pandas=True),
            "reliability_drop_high": pa.array(drop[2], from_pandas=True),
            "rank": pa.array(rank, pa.int64()),
        }
    )


def _ranks(
    network: list[str],
    line: list[str],
    period: list[str],
    low: np.ndarray,
    wet_hours: np.ndarray,
    min_wet_hours: int,
) -> list[int | None]:
    """1, 2, … within each (network, period) by the uplift's lower bound, highest first
    (ties by line_id); None for '*', for too few wet hours and for an undefined bound."""
    ranked: list[int | None] = [None] * len(line)
    eligible = [
        i
        for i in range(len(line))
        if line[i] != ALL_LINES and wet_hours[i] >= min_wet_hours and not np.isnan(low[i])
    ]
    eligible.sort(key=lambda i: (network[i], period[i], -low[i], line[i]))
    place, previous = 0, None
    for i in eligible:
        place = place + 1 if (network[i], period[i]) == previous else 1
        previous = (network[i], period[i])
        ranked[i] = place
    return ranked
