"""The `correlation` sums from the correlation cells, in one numpy pass (DESIGN.md §5).

The input is `gold_expressions.correlation_cell_table`: one row per cell with its y and
the 24 lagged x (`x_<variable>_<lag>`, null where that weather is unknown). Nothing here
materialises the (cell, variable, lag) pairs, which are 24 times as many:

* moments: per (weekday-hour group g, month) centred moments, combined into each
  (line, period) with Chan et al.'s multi-way update; the anomaly kind is the same per-g
  moments with the mean shifted by −ȳ_g (DESIGN.md, "The anomaly baseline");
* x ranks: counts per distinct weather value (a dictionary of the variable's values),
  accumulated per (line, period), so x is never sorted;
* y ranks: the cells arrive sorted by (line, y) when the table was stored so (the build
  keeps it so), and a stable sort merges the stored runs with the new day's cells; the
  anomaly, whose baseline moves every build, is sorted again (cells, not pairs).

The output has the columns of `gold_expressions.correlation_sums`, so
`correlation_table` finishes it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from umwi_core.contracts import ALL_PERIODS, CORRELATION_LAGS_H, CORRELATION_VARIABLES

from umwi_transform._autocorr import (
    LagSums,
    Neighbours,
    PairCounts,
    bartlett_excess,
    joined,
    lag_sums,
    neighbours,
    pair_counts,
    shift_merge,
)

#: (variable, lag, column) of every x the cells carry.
X_COLUMNS: tuple[tuple[str, int, str], ...] = tuple(
    (variable, lag, f"x_{variable}_{lag}")
    for variable in CORRELATION_VARIABLES
    for lag in CORRELATION_LAGS_H
)
KINDS = ("raw", "anomaly")
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    encoded = pc.dictionary_encode(column).combine_chunks()
    return (
        np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64),
        [str(v) for v in encoded.dictionary.to_pylist()],
    )


def _hash_ids(key: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ids for an integer key, by hashing (no sort)."""
    encoded = pc.dictionary_encode(pa.array(key))
    ids = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return ids, len(encoded.dictionary)


@dataclass
class _Order:
    """Cells of a chunk in (period group, value) order, with their runs of ties."""

    order: np.ndarray  # cell index at each sorted position
    run_id: np.ndarray  # run of ties at each sorted position
    run_first: np.ndarray  # sorted position where each run starts
    run_group_first: np.ndarray  # sorted position where each run's period group starts

    @classmethod
    def of(cls, order: np.ndarray, group: np.ndarray, value: np.ndarray) -> _Order:
        g, v = group[order], value[order]
        if len(order) == 0:
            empty = np.zeros(0, np.int64)
            return cls(order, empty, empty, empty)
        new_group = np.concatenate([[True], g[1:] != g[:-1]])
        new_run = new_group | np.concatenate([[True], v[1:] != v[:-1]])
        run_id = np.cumsum(new_run) - 1
        run_first = np.flatnonzero(new_run)
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
        return cls(order, run_id, run_first, group_start[run_first])

    def ranks(self, mask: np.ndarray) -> np.ndarray:
        """Average 1-based ranks among the masked cells of each group (cell layout)."""
        m = mask[self.order].astype(np.float64)
        before = np.cumsum(m) - m
        count = np.bincount(self.run_id, weights=m, minlength=len(self.run_first))
        rank = before[self.run_first] - before[self.run_group_first] + (count + 1.0) / 2.0
        out = np.empty(len(self.order), np.float64)
        out[self.order] = rank[self.run_id]
        return out


def _dense_codes(values: pa.Array, dictionary: np.ndarray) -> tuple[np.ndarray, int]:
    """Each (non-null) value's index in the sorted `dictionary`, by hashing; the
    dictionary is extended when a value is missing from it."""
    # Hashing tells −0.0 from 0.0, which compare (and rank) equal: adding 0.0 makes both 0.0.
    values = pc.add(values, 0.0)
    dictionary = np.unique(dictionary + 0.0)
    found = pc.index_in(values, value_set=pa.array(dictionary, pa.float64()))
    if found.null_count != 0:
        dictionary = np.union1d(dictionary, np.asarray(values.to_numpy(), dtype=np.float64))
        found = pc.index_in(values, value_set=pa.array(dictionary, pa.float64()))
    return np.asarray(found.to_numpy(), dtype=np.int64), len(dictionary)


def _merge(
    keys: np.ndarray, size: int, n: np.ndarray, means: list[np.ndarray], m2: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Chan et al.'s multi-way merge of centred moments into `size` groups:
    M2 = Σ M2_i + Σ n_i (mean_i − mean)(mean'_i − mean').

    `means` are the parts' means of x, y and the anomaly; `m2` their centred sums in
    `_M2_PAIRS` order, or only x·x, y·y, x·y for parts of one weekday-hour group (whose
    anomaly sums are y's).
    """
    total = np.bincount(keys, weights=n, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        merged_means = [np.bincount(keys, weights=n * m, minlength=size) / total for m in means]
    deviations = [
        m - np.nan_to_num(merged)[keys] for m, merged in zip(means, merged_means, strict=True)
    ]
    # The anomaly's M2 and co-product within a part are y's (a shift changes neither).
    within = [*m2, m2[1], m2[2]] if len(m2) == 3 else m2
    summed = {id(part): np.bincount(keys, weights=part, minlength=size) for part in within}
    merged_m2 = []
    for index, part in enumerate(within):
        left, right = _M2_PAIRS[index]
        extra = n * deviations[left] * deviations[right]
        merged_m2.append(summed[id(part)] + np.bincount(keys, weights=extra, minlength=size))
    return total, merged_means, merged_m2


# Means: 0 = x, 1 = y, 2 = anomaly; M2 parts: x·x, y·y, x·y, anomaly·anomaly, x·anomaly.
_M2_PAIRS = ((0, 0), (1, 1), (0, 1), (2, 2), (0, 2))


@dataclass
class _Chunk:
    """The cells of consecutive lines, sorted by (line, y), and what every column shares."""

    lines: np.ndarray  # 0-based line within the chunk
    n_lines: int
    y: np.ndarray
    anomaly: np.ndarray
    gm: np.ndarray  # (g, month) part of each cell
    n_gm: int
    gm_baseline: np.ndarray  # ȳ_g of each part
    gm_line: np.ndarray
    gm_period: np.ndarray  # the part's (line, month) group
    months: np.ndarray  # month index of each cell
    n_months: int
    orders: dict[tuple[str, str], _Order]
    full_ranks: dict[tuple[str, str], np.ndarray]
    full_squares: dict[tuple[str, str], np.ndarray]  # Σ (rank − centre)² per group
    part_y: tuple[np.ndarray, np.ndarray, np.ndarray]  # per part, every cell: n, mean, M2 of y
    month_group: np.ndarray  # (line, month) group of each cell
    lag_partners: Neighbours  # for n_eff (`_autocorr`)
    # y's and the anomaly's lag sums depend on the column only through its mask of known
    # x, which most columns share: computed once per mask (the key: its packed bits).
    y_lag_sums: dict[bytes, tuple[PairCounts, LagSums]] = field(default_factory=dict)

    def group(self, system: str) -> tuple[np.ndarray, int, np.ndarray]:
        """The period groups of `system` (`all` or `month`): per cell, count, per part."""
        if system == "all":
            return self.lines, self.n_lines, self.gm_line
        return (
            self.lines * self.n_months + self.months,
            self.n_lines * self.n_months,
            self.gm_period,
        )


def _chunk(
    lines: np.ndarray,
    n_lines: int,
    locations: np.ndarray,
    hours_us: np.ndarray,
    months: np.ndarray,
    n_months: int,
    y: np.ndarray,
) -> _Chunk:
    days = np.floor_divide(hours_us, _DAY_US)
    weekday_hour = ((days + 3) % 7) * 24 + np.floor_divide(hours_us, _HOUR_US) % 24
    n_locations = int(locations.max()) + 1 if len(locations) else 1
    g, n_g = _hash_ids((lines * n_locations + locations) * 168 + weekday_hour)
    gm, n_gm = _hash_ids(g * n_months + months)
    with np.errstate(invalid="ignore", divide="ignore"):
        baseline = np.bincount(g, weights=y, minlength=n_g) / np.bincount(g, minlength=n_g)
    anomaly = y - baseline[g]
    gm_g = np.zeros(n_gm, np.int64)
    gm_g[gm] = g
    gm_line = np.zeros(n_gm, np.int64)
    gm_line[gm] = lines
    gm_month = np.zeros(n_gm, np.int64)
    gm_month[gm] = months
    month_group = lines * n_months + months
    small = np.int16 if n_lines * n_months < np.iinfo(np.int16).max else np.int64
    # Stable sorts throughout: equal keys keep their order, so sorting by the period group
    # after the value orders by (group, value), and a sorted input costs a merge of runs.
    by_y = np.arange(len(y))  # the caller sorted the cells by (line, y)
    by_month_y = by_y[np.argsort(month_group.astype(small), kind="stable")]
    # Ranks compare the anomaly to the microsecond (DESIGN.md §5).
    key = np.round(anomaly, 6)
    by_key = np.argsort(key, kind="stable")
    by_key = by_key[np.argsort(lines[by_key].astype(small), kind="stable")]
    by_month_key = by_key[np.argsort(month_group[by_key].astype(small), kind="stable")]
    orders = {
        ("all", "raw"): _Order.of(by_y, lines, y),
        ("month", "raw"): _Order.of(by_month_y, month_group, y),
        ("all", "anomaly"): _Order.of(by_key, lines, key),
        ("month", "anomaly"): _Order.of(by_month_key, month_group, key),
    }
    everything = np.ones(len(y), bool)
    full_ranks = {name: order.ranks(everything) for name, order in orders.items()}
    full_squares = {}
    for (system, kind), ranks in full_ranks.items():
        groups = lines if system == "all" else month_group
        size = n_lines if system == "all" else n_lines * n_months
        centre = (np.bincount(groups, minlength=size) + 1.0) / 2.0
        deviation = ranks - centre[groups]
        full_squares[(system, kind)] = np.bincount(
            groups, weights=deviation * deviation, minlength=size
        )
    part_n = np.bincount(gm, minlength=n_gm).astype(np.float64)
    part_mean = np.bincount(gm, weights=y, minlength=n_gm) / part_n
    part_dev = y - part_mean[gm]
    part_m2 = np.bincount(gm, weights=part_dev * part_dev, minlength=n_gm)
    return _Chunk(
        lines=lines,
        n_lines=n_lines,
        y=y,
        anomaly=anomaly,
        gm=gm,
        n_gm=n_gm,
        gm_baseline=baseline[gm_g],
        gm_line=gm_line,
        gm_period=gm_line * n_months + gm_month,
        months=months,
        n_months=n_months,
        orders=orders,
        full_ranks=full_ranks,
        full_squares=full_squares,
        part_y=(part_n, part_mean, part_m2),
        month_group=month_group,
        lag_partners=neighbours(month_group, locations, np.floor_divide(hours_us, _HOUR_US)),
    )


def _column_sums(
    chunk: _Chunk, x: np.ndarray, mask: np.ndarray, codes: np.ndarray, n_values: int
) -> dict[str, dict[str, np.ndarray]]:
    """Per system: the group ids with pairs and their sums (one column, both kinds)."""
    everything = bool(mask.all())
    xs = np.where(mask, x, 0.0) if not everything else x
    if everything:
        n_part, mean_y, m2_y = chunk.part_y
    else:
        w = mask.astype(np.float64)
        n_part = np.bincount(chunk.gm, weights=w, minlength=chunk.n_gm)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_y = np.nan_to_num(
                np.bincount(chunk.gm, weights=chunk.y * w, minlength=chunk.n_gm) / n_part
            )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = np.nan_to_num(np.bincount(chunk.gm, weights=xs, minlength=chunk.n_gm) / n_part)
    dx = xs - mean_x[chunk.gm]
    dy = chunk.y - mean_y[chunk.gm]
    if not everything:
        dx *= w
        dy *= w
        m2_y = np.bincount(chunk.gm, weights=dy * dy, minlength=chunk.n_gm)
    m2_x = np.bincount(chunk.gm, weights=dx * dx, minlength=chunk.n_gm)
    c_xy = np.bincount(chunk.gm, weights=dx * dy, minlength=chunk.n_gm)
    # The anomaly of a part is y shifted by −ȳ_g: same M2 and co-product, shifted mean.
    mean_a = mean_y - chunk.gm_baseline
    _, n_month_groups, part_month = chunk.group("month")
    n_month, means, m2s = _merge(
        part_month, n_month_groups, n_part, [mean_x, mean_y, mean_a], [m2_x, m2_y, c_xy]
    )
    # `all` merges the months: their moments are exact for any values, the anomaly too.
    month_line = np.arange(n_month_groups) // chunk.n_months
    month_means = [np.nan_to_num(m) for m in means]
    n_all, all_means, all_m2s = _merge(
        month_line, chunk.n_lines, n_month, month_means, [m2s[0], m2s[1], m2s[2], m2s[3], m2s[4]]
    )
    moments = {"month": (n_month, means, m2s), "all": (n_all, all_means, all_m2s)}
    excess = _bartlett(chunk, x, mask, everything, moments, month_line)

    out: dict[str, dict[str, np.ndarray]] = {}
    for system in ("all", "month"):
        total, (mx, my, ma), (sxx, syy, sxy, saa, sxa) = moments[system]
        present = np.flatnonzero(total > 0)
        if len(present) == 0:
            continue
        n = total[present]
        groups, size, _ = chunk.group(system)
        kept = groups if everything else groups[mask]
        centre = (np.bincount(kept, minlength=size) + 1.0) / 2.0
        rank_x = _x_ranks(kept, size, codes if everything else codes[mask], n_values)
        dx_rank = rank_x - centre[kept]
        sums = {
            "group": present,
            "n": n,
            "mean_x": mx[present],
            "var_x": sxx[present] / n,
            "var_rx": np.bincount(kept, weights=dx_rank * dx_rank, minlength=size)[present] / n,
        }
        for kind, mean, m2, co in (("raw", my, syy, sxy), ("anomaly", ma, saa, sxa)):
            if everything:
                dy_rank = chunk.full_ranks[(system, kind)] - centre[groups]
                square = chunk.full_squares[(system, kind)]
            else:
                dy_rank = chunk.orders[(system, kind)].ranks(mask)[mask] - centre[kept]
                square = np.bincount(kept, weights=dy_rank * dy_rank, minlength=size)
            co_ranks = np.bincount(kept, weights=dx_rank * dy_rank, minlength=size)
            sums[f"mean_y_{kind}"] = mean[present]
            sums[f"var_y_{kind}"] = m2[present] / n
            sums[f"cov_xy_{kind}"] = co[present] / n
            sums[f"var_ry_{kind}"] = square[present] / n
            sums[f"cov_rxry_{kind}"] = co_ranks[present] / n
            sums[f"bartlett_{kind}"] = excess[system][kind][present]
        out[system] = sums
    return out


def _bartlett(
    chunk: _Chunk,
    x: np.ndarray,
    mask: np.ndarray,
    everything: bool,
    moments: dict[str, tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]],
    month_line: np.ndarray,
) -> dict[str, dict[str, np.ndarray]]:
    """Bartlett's excess n / n_eff − 1 per system and y kind (`_autocorr`): lag sums per
    (line, month) about the month's means, re-centred on the line's for `all`."""
    _, month_means, _ = moments["month"]
    mx, my, ma = (np.nan_to_num(m) for m in month_means)
    groups = chunk.month_group
    n_groups = chunk.n_lines * chunk.n_months
    within = None if everything else mask
    key = b"" if everything else np.packbits(mask).tobytes()
    if key not in chunk.y_lag_sums:
        counts = pair_counts(chunk.lag_partners, n_groups, within)
        # my and ma are the means over the masked cells: the same for the same mask.
        y_sums = lag_sums(
            chunk.lag_partners,
            groups,
            n_groups,
            within,
            [chunk.y - my[groups], chunk.anomaly - ma[groups]],
            counts,
        )
        chunk.y_lag_sums[key] = (counts, y_sums)
    counts, y_sums = chunk.y_lag_sums[key]
    x_sums = lag_sums(chunk.lag_partners, groups, n_groups, within, [x - mx[groups]], counts)
    month = joined([x_sums, y_sums])
    _, all_means, _ = moments["all"]
    shifts = [
        np.nan_to_num(total[month_line]) - part
        for total, part in zip(all_means, (mx, my, ma), strict=True)
    ]
    whole = shift_merge(month, month_line, chunk.n_lines, shifts)
    out: dict[str, dict[str, np.ndarray]] = {}
    for system, sums in (("month", month), ("all", whole)):
        # Groups without cells divide 0 by 0; they are dropped by the caller.
        n, _, (sxx, syy, _, saa, _) = moments[system]
        with np.errstate(invalid="ignore", divide="ignore"):
            variances = (sxx / n, syy / n, saa / n)
        out[system] = {
            kind: bartlett_excess(
                n,
                variances[0],
                variances[index],
                sums.gamma[0],
                sums.gamma[index],
                sums.pairs,
                sums.weights,
            )
            for kind, index in (("raw", 1), ("anomaly", 2))
        }
    return out


def _x_ranks(groups: np.ndarray, size: int, codes: np.ndarray, n_values: int) -> np.ndarray:
    """Average ranks of x within each group, from its codes (ranks of the sorted values).

    Few distinct values: counts per (group, value) in a table, no sort at all. Many (a
    table bigger than the cells): the cells sorted by (group, code) instead.
    """
    slot = groups * n_values + codes
    if size * n_values <= 2 * len(codes):
        counts = np.bincount(slot, minlength=size * n_values).reshape(size, n_values)
        ranks = np.cumsum(counts, axis=1) - (counts - 1.0) / 2.0
        return np.asarray(ranks.ravel()[slot], dtype=np.float64)
    order = np.argsort(slot, kind="stable")
    ranked = _Order.of(order, groups, codes)
    return ranked.ranks(np.ones(len(codes), bool))


def _month_names(first: int, count: int) -> list[str]:
    return [str(np.datetime64(first + index, "M")) for index in range(count)]


def correlation_sums_from_cells(
    cells: pa.Table,
    dictionaries: Mapping[str, np.ndarray],
) -> pa.Table:
    """`correlation_sums` (one row per network, line, period, variable, lag with pairs)
    from the correlation cells. `dictionaries` holds the sorted distinct values of each
    variable (a value missing from it is added, at a cost)."""
    if cells.num_rows == 0:
        return _empty_sums()
    network_line = pc.binary_join_element_wise(
        cells.column("network"), cells.column("line_id"), "\x1f"
    )
    line_codes, line_names = _codes(network_line)
    y_all = np.asarray(cells.column("y").to_numpy(), dtype=np.float64)
    # Cells by (line, y): stable, so the runs the table was stored in are merged, not sorted.
    order = np.argsort(y_all, kind="stable")
    # Line codes as int16 where they fit: numpy sorts those stably by radix, in one pass.
    narrow = np.int16 if len(line_names) < np.iinfo(np.int16).max else np.int64
    order = order[np.argsort(line_codes[order].astype(narrow), kind="stable")]
    line_codes = line_codes[order]
    y_all = y_all[order]
    locations, _ = _codes(cells.column("location_id"))
    locations = locations[order]
    hours = np.asarray(pc.cast(cells.column("hour"), pa.int64()).to_numpy(), dtype=np.int64)[order]
    months_since_1970 = hours.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    first_month = int(months_since_1970.min())
    months = months_since_1970 - first_month
    n_months = int(months.max()) + 1
    month_names = _month_names(first_month, n_months)
    starts = np.searchsorted(line_codes, np.arange(0, len(line_names) + 1))
    # The caller hands over a few lines at a time (`_gold._line_chunks`); one chunk here.
    lines_per_chunk = max(1, len(line_names))

    parts: list[pa.Table] = []
    for first in range(0, len(line_names), lines_per_chunk):
        last = min(first + lines_per_chunk, len(line_names))
        lo, hi = int(starts[first]), int(starts[last])
        if lo == hi:
            continue
        chunk = _chunk(
            line_codes[lo:hi] - first,
            last - first,
            locations[lo:hi],
            hours[lo:hi],
            months[lo:hi],
            n_months,
            y_all[lo:hi],
        )
        for variable, lag, column in X_COLUMNS:
            values = cells.column(column).take(pa.array(order[lo:hi])).combine_chunks()
            mask = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            if not mask.any():
                continue
            x = np.asarray(values.fill_null(0.0).to_numpy(), dtype=np.float64)
            codes = np.zeros(len(x), np.int64)
            dictionary = np.asarray(dictionaries.get(variable, np.zeros(0)), dtype=np.float64)
            codes[mask], n_values = _dense_codes(values.drop_null(), dictionary)
            for system, sums in _column_sums(chunk, x, mask, codes, n_values).items():
                group = sums.pop("group")
                if system == "all":
                    names = [line_names[first + int(g)] for g in group]
                    periods = [ALL_PERIODS] * len(group)
                else:
                    names = [line_names[first + int(g) // n_months] for g in group]
                    periods = [month_names[int(g) % n_months] for g in group]
                network, line_id = zip(*(name.split("\x1f", 1) for name in names), strict=True)
                parts.append(
                    pa.table(
                        {
                            "network": pa.array(network, pa.string()),
                            "line_id": pa.array(line_id, pa.string()),
                            "period": pa.array(periods, pa.string()),
                            "variable": pa.array([variable] * len(group), pa.string()),
                            "lag_h": pa.array(np.full(len(group), lag, np.int32)),
                            "n": pa.array(sums.pop("n").astype(np.int64)),
                            **{name: pa.array(v, pa.float64()) for name, v in sums.items()},
                        }
                    )
                )
    return pa.concat_tables(parts) if parts else _empty_sums()


SUMS_SCHEMA = pa.schema(
    [
        ("network", pa.string()),
        ("line_id", pa.string()),
        ("period", pa.string()),
        ("variable", pa.string()),
        ("lag_h", pa.int32()),
        ("n", pa.int64()),
        ("mean_x", pa.float64()),
        ("var_x", pa.float64()),
        ("var_rx", pa.float64()),
        *(
            (f"{name}_{kind}", pa.float64())
            for kind in KINDS
            for name in ("mean_y", "var_y", "cov_xy", "var_ry", "cov_rxry", "bartlett")
        ),
    ]
)


def _empty_sums() -> pa.Table:
    return SUMS_SCHEMA.empty_table()
