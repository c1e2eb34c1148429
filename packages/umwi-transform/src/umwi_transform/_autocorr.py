"""Effective sample size of a correlation between autocorrelated cells (DESIGN.md §5).

Bartlett's large-sample variance of a correlation coefficient r between two series
(Bartlett 1935; Bayley & Hammersley 1946; the form of Pyper & Peterman 1998 with
gaps) is, for cells i, j of the row with x- and y-correlations ρx(i, j), ρy(i, j),

    var(r) ≈ (1 − ρ²)² / n_eff,   n / n_eff = 1 + (1/n) Σ_{i≠j} ρx(i, j) · ρy(i, j).

The double sum runs over pairs of cells of the row by their distance in hours k: cells of
the same place k = 1…`NEFF_MAX_LAG_H` hours apart (serial dependence: weather and delays
persist), and cells of *other* places k = 0…`NEFF_MAX_LAG_H` hours apart (shared weather:
every place's x at one hour comes from one regional weather system, so cells of the same
hour are not independent either). Within each (class, k) the correlation is estimated by
its pooled average over the row's pairs, ρ̄(k) = Σ dᵢ·dⱼ / (pairs · variance) with d the
deviation from the row's mean, and Σ_{pairs} ρx·ρy by pairs · ρ̄x(k) · ρ̄y(k). Pairs are
only ever taken within one calendar month, so a month's sums never change when another
month does, and the `all` rows are the months' sums re-centred on the overall mean:
with δ = x̄ − x̄_m, Σ (dᵢ − δ)(dⱼ − δ) = Σ dᵢdⱼ − δ Σ (dᵢ + dⱼ) + δ² · pairs.
Pairs are found through consecutive hours only: a night without service leaves no pair
across it, and the hours it removes are simply not counted.

n_eff is clipped to at most n: a negative estimate (anti-persistence, or noise) never
makes a correlation look more certain than the textbook one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Longest hour distance whose dependence enters n_eff: one day covers the persistence of
#: hourly weather and delays and their daily cycle.
NEFF_MAX_LAG_H = 24


@dataclass(frozen=True)
class Neighbours:
    """Where each cell's lag partners are: the same place k hours later, and the
    (month group, hour) slot k hours later, for k = 1…max_lag. Index k − 1 of each tuple
    holds the pairs at distance k, found once and reused by every value's sums."""

    slot: np.ndarray  # the (group, hour) slot of each cell
    slot_group: np.ndarray  # the group of each slot
    slot_cells: np.ndarray  # cells per slot
    cell_from: tuple[np.ndarray, ...]  # cells with a same-place partner k hours later
    cell_to: tuple[np.ndarray, ...]  # that partner
    cell_from_group: tuple[np.ndarray, ...]  # the group of each such pair
    slot_from: tuple[np.ndarray, ...]  # slots with a slot k hours later (same group)
    slot_to: tuple[np.ndarray, ...]
    slot_from_group: tuple[np.ndarray, ...]
    max_lag: int

    @property
    def n_slots(self) -> int:
        return len(self.slot_group)


def _next_index(keys: np.ndarray, lag: int) -> np.ndarray:
    """For sorted unique `keys`, the index of key + lag, or −1."""
    found = np.searchsorted(keys, keys + lag)
    found = np.minimum(found, len(keys) - 1)
    return np.where(keys[found] == keys + lag, found, -1).astype(np.int64)


def neighbours(
    groups: np.ndarray, places: np.ndarray, hours: np.ndarray, max_lag: int = NEFF_MAX_LAG_H
) -> Neighbours:
    """The lag partners of cells given their month group (line and month), place and
    hour (an integer count of hours). A (group, place, hour) names at most one cell."""
    if len(hours) == 0:
        empty = np.zeros(0, np.int64)
        lags = (empty,) * max_lag
        return Neighbours(empty, empty, empty, lags, lags, lags, lags, lags, lags, max_lag)
    span = int(hours.max() - hours.min()) + max_lag + 1
    offset = hours - hours.min()
    slot_keys, slot = np.unique(groups * span + offset, return_inverse=True)
    slot = slot.astype(np.int64)
    slot_group = slot_keys // span
    n_places = int(places.max()) + 1
    cell_keys = (groups * n_places + places) * span + offset
    order = np.argsort(cell_keys, kind="stable")
    sorted_keys = cell_keys[order]
    if len(sorted_keys) > 1 and bool((sorted_keys[1:] == sorted_keys[:-1]).any()):
        raise ValueError("two cells share a (group, place, hour)")
    cell_from, cell_to, cell_from_group = [], [], []
    slot_from, slot_to, slot_from_group = [], [], []
    partner = np.empty(len(hours), np.int64)
    for lag in range(1, max_lag + 1):
        found = _next_index(sorted_keys, lag)
        partner[order] = np.where(found >= 0, order[np.maximum(found, 0)], -1)
        # In cell order, which keeps the later gathers close to sequential.
        from_cells = np.flatnonzero(partner >= 0)
        # Positions as int32 (a chunk's cells are far fewer): half the memory of 24 lags.
        cell_from.append(from_cells.astype(np.int32))
        cell_to.append(partner[from_cells].astype(np.int32))
        cell_from_group.append(groups[from_cells])
        next_slot = _next_index(slot_keys, lag)
        from_slots = np.flatnonzero(next_slot >= 0)
        slot_from.append(from_slots.astype(np.int32))
        slot_to.append(next_slot[from_slots].astype(np.int32))
        slot_from_group.append(slot_group[from_slots])
    return Neighbours(
        slot,
        slot_group,
        np.bincount(slot, minlength=len(slot_keys)).astype(np.float64),
        tuple(cell_from),
        tuple(cell_to),
        tuple(cell_from_group),
        tuple(slot_from),
        tuple(slot_to),
        tuple(slot_from_group),
        max_lag,
    )


@dataclass(frozen=True)
class LagSums:
    """Per group and lag term: Σ dᵢdⱼ (`gamma`, one per value), Σ (dᵢ + dⱼ) (`first`,
    one per value) and the pair count, with each term's weight in Bartlett's sum
    (2 for unordered pairs k hours apart, 1 for the ordered pairs of one hour)."""

    gamma: list[np.ndarray]  # each (terms, groups)
    first: list[np.ndarray]
    pairs: np.ndarray  # (terms, groups)
    weights: np.ndarray  # (terms,)


@dataclass(frozen=True)
class PairCounts:
    """What the lag sums of every value over the same cells and mask share: the mask's
    weights, cells per slot and the pair counts of each term (`LagSums.pairs` order)."""

    weights: np.ndarray | None  # None: every cell
    count: np.ndarray
    count_from: tuple[np.ndarray, ...]
    count_to: tuple[np.ndarray, ...]
    pairs: np.ndarray  # (terms, groups)


def pair_counts(nb: Neighbours, n_groups: int, mask: np.ndarray | None) -> PairCounts:
    """The pairs of cells in `mask` (None: all) per term and group."""
    w = None if mask is None else mask.astype(np.float64)
    count = nb.slot_cells if w is None else np.bincount(nb.slot, weights=w, minlength=nb.n_slots)
    count_from = tuple(count[s] for s in nb.slot_from)
    count_to = tuple(count[s] for s in nb.slot_to)
    other: list[np.ndarray] = [_total(nb.slot_group, count * (count - 1.0), n_groups)]
    same: list[np.ndarray] = []
    for lag in range(nb.max_lag):
        keys = nb.cell_from_group[lag]
        if w is None:
            pairs = np.bincount(keys, minlength=n_groups).astype(np.float64)
        else:
            pairs = _total(keys, w[nb.cell_from[lag]] * w[nb.cell_to[lag]], n_groups)
        slot_pairs = count_from[lag] * count_to[lag]
        other.append(_total(nb.slot_from_group[lag], slot_pairs, n_groups) - pairs)
        same.append(pairs)
    return PairCounts(w, count, count_from, count_to, np.array(other + same))


def _total(keys: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(keys, weights=values, minlength=n_groups)


def lag_sums(
    nb: Neighbours,
    groups: np.ndarray,
    n_groups: int,
    mask: np.ndarray | None,
    deviations: Sequence[np.ndarray],
    counts: PairCounts | None = None,
) -> LagSums:
    """The lag sums of each value's `deviations` from its group mean over the cells in
    `mask` (None: all): the terms are other places at k = 0…K, then the same place at
    k = 1…K (`NEFF_MAX_LAG_H` = K). `groups` are the cells' groups `nb` was found with;
    `counts`, when given, are `pair_counts` of the same cells and mask."""
    shared = pair_counts(nb, n_groups, mask) if counts is None else counts
    w, count = shared.weights, shared.count
    d = [np.asarray(v, dtype=np.float64) if w is None else v * w for v in deviations]
    slot_sum = [np.bincount(nb.slot, weights=v, minlength=nb.n_slots) for v in d]
    gamma: list[list[np.ndarray]] = []
    first: list[list[np.ndarray]] = []
    for index, values in enumerate(d):
        # k = 0, other places: the ordered pairs of distinct cells of one slot.
        other_gamma = [
            _total(nb.slot_group, slot_sum[index] ** 2, n_groups)
            - _total(groups, values * values, n_groups)
        ]
        other_first = [_total(nb.slot_group, 2.0 * (count - 1.0) * slot_sum[index], n_groups)]
        same_gamma: list[np.ndarray] = []
        same_first: list[np.ndarray] = []
        for lag in range(nb.max_lag):
            s_from, s_to, s_keys = nb.slot_from[lag], nb.slot_to[lag], nb.slot_from_group[lag]
            c_from, c_to, c_keys = nb.cell_from[lag], nb.cell_to[lag], nb.cell_from_group[lag]
            a, b = slot_sum[index][s_from], slot_sum[index][s_to]
            v_from, v_to = values[c_from], values[c_to]
            same_product = _total(c_keys, v_from * v_to, n_groups)
            # A value outside the mask is 0, so only pairs with both cells in it count.
            paired = v_from + v_to if w is None else v_from * w[c_to] + w[c_from] * v_to
            same_sum = _total(c_keys, paired, n_groups)
            other_gamma.append(_total(s_keys, a * b, n_groups) - same_product)
            other_first.append(
                _total(s_keys, a * shared.count_to[lag] + shared.count_from[lag] * b, n_groups)
                - same_sum
            )
            same_gamma.append(same_product)
            same_first.append(same_sum)
        gamma.append(other_gamma + same_gamma)
        first.append(other_first + same_first)
    weights = np.array([1.0] + [2.0] * (2 * nb.max_lag))
    return LagSums(
        [np.array(g) for g in gamma], [np.array(f) for f in first], shared.pairs, weights
    )


def joined(parts: Sequence[LagSums]) -> LagSums:
    """The sums of several values' calls on the same cells and mask, as one."""
    return LagSums(
        [g for part in parts for g in part.gamma],
        [f for part in parts for f in part.first],
        parts[0].pairs,
        parts[0].weights,
    )


def shift_merge(
    sums: LagSums, into: np.ndarray, size: int, shifts: Sequence[np.ndarray]
) -> LagSums:
    """The sums of groups merged into `size` groups (`into[group]`), each value's
    deviations re-centred by −`shifts[value][group]` (its group mean minus the merged
    group's): Σ (dᵢ − δ)(dⱼ − δ) = Σ dᵢdⱼ − δ Σ (dᵢ + dⱼ) + δ² · pairs."""

    def merged(per_group: np.ndarray) -> np.ndarray:
        return np.stack([np.bincount(into, weights=row, minlength=size) for row in per_group])

    gamma, first = [], []
    for g, f, delta in zip(sums.gamma, sums.first, shifts, strict=True):
        gamma.append(merged(g - delta * f + delta * delta * sums.pairs))
        first.append(merged(f - 2.0 * delta * sums.pairs))
    return LagSums(gamma, first, merged(sums.pairs), sums.weights)


def bartlett_excess(
    n: np.ndarray,
    var_x: np.ndarray,
    var_y: np.ndarray,
    gamma_x: np.ndarray,
    gamma_y: np.ndarray,
    pairs: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """(1/n) Σ_{i≠j} ρx ρy ≈ (1/n) Σ_terms weight · Γx Γy / (pairs · var_x · var_y):
    n / n_eff − 1 before clipping. `var_*` are population variances; terms without
    pairs add nothing."""
    with np.errstate(invalid="ignore", divide="ignore"):
        per_term = np.where(pairs > 0, gamma_x * gamma_y / pairs, 0.0)
        total = (weights[:, None] * per_term).sum(axis=0)
        return np.asarray(total / (n * var_x * var_y), dtype=np.float64)


def effective_n(n: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """n_eff = n / (1 + excess), at most n; NaN where the excess is unknown."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(n / np.maximum(1.0, 1.0 + excess), dtype=np.float64)
