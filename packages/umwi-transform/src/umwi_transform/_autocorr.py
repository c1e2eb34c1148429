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
    (month group, hour) slot k hours later, for k = 1…max_lag (−1: none)."""

    cell_next: tuple[np.ndarray, ...]
    slot: np.ndarray  # the (group, hour) slot of each cell
    slot_group: np.ndarray  # the group of each slot
    slot_next: tuple[np.ndarray, ...]
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
        return Neighbours((empty,) * max_lag, empty, empty, (empty,) * max_lag, max_lag)
    span = int(hours.max() - hours.min()) + max_lag + 1
    offset = hours - hours.min()
    slot_keys, slot = np.unique(groups * span + offset, return_inverse=True)
    n_places = int(places.max()) + 1
    cell_keys = (groups * n_places + places) * span + offset
    order = np.argsort(cell_keys, kind="stable")
    sorted_keys = cell_keys[order]
    if len(sorted_keys) > 1 and bool((sorted_keys[1:] == sorted_keys[:-1]).any()):
        raise ValueError("two cells share a (group, place, hour)")
    cell_next = []
    for lag in range(1, max_lag + 1):
        found = _next_index(sorted_keys, lag)
        partner = np.full(len(hours), -1, np.int64)
        partner[order] = np.where(found >= 0, order[np.maximum(found, 0)], -1)
        cell_next.append(partner)
    slot_next = tuple(_next_index(slot_keys, lag) for lag in range(1, max_lag + 1))
    return Neighbours(
        tuple(cell_next), slot.astype(np.int64), slot_keys // span, slot_next, max_lag
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


def lag_sums(
    nb: Neighbours,
    groups: np.ndarray,
    n_groups: int,
    mask: np.ndarray | None,
    deviations: Sequence[np.ndarray],
) -> LagSums:
    """The lag sums of each value's `deviations` from its group mean over the cells in
    `mask` (None: all): the terms are other places at k = 0…K, then the same place at
    k = 1…K (`NEFF_MAX_LAG_H` = K)."""
    w = np.ones(len(groups)) if mask is None else mask.astype(np.float64)
    d = [v * w for v in deviations]
    count = np.bincount(nb.slot, weights=w, minlength=nb.n_slots)
    slot_sum = [np.bincount(nb.slot, weights=v, minlength=nb.n_slots) for v in d]

    def by_slot(values: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        keys = nb.slot_group if where is None else nb.slot_group[where]
        return np.bincount(keys, weights=values, minlength=n_groups)

    def by_cell(values: np.ndarray, where: np.ndarray) -> np.ndarray:
        return np.bincount(groups[where], weights=values, minlength=n_groups)

    gamma: list[list[np.ndarray]] = [[] for _ in d]
    first: list[list[np.ndarray]] = [[] for _ in d]
    pairs: list[np.ndarray] = []
    # k = 0, other places: the ordered pairs of distinct cells of one slot.
    pairs.append(by_slot(count * (count - 1.0)))
    for index, values in enumerate(d):
        gamma[index].append(
            by_slot(slot_sum[index] ** 2) - by_cell(values * values, np.arange(len(groups)))
        )
        first[index].append(by_slot(2.0 * (count - 1.0) * slot_sum[index]))
    same_pairs: list[np.ndarray] = []
    same_gamma: list[list[np.ndarray]] = [[] for _ in d]
    same_first: list[list[np.ndarray]] = [[] for _ in d]
    for lag in range(1, nb.max_lag + 1):
        s_from = np.flatnonzero(nb.slot_next[lag - 1] >= 0)
        s_to = nb.slot_next[lag - 1][s_from]
        c_from = np.flatnonzero(nb.cell_next[lag - 1] >= 0)
        c_to = nb.cell_next[lag - 1][c_from]
        both = w[c_from] * w[c_to]
        all_pairs = by_slot(count[s_from] * count[s_to], s_from)
        same = by_cell(both, c_from)
        pairs.append(all_pairs - same)
        same_pairs.append(same)
        for index, values in enumerate(d):
            a, b = slot_sum[index][s_from], slot_sum[index][s_to]
            same_product = by_cell(values[c_from] * values[c_to], c_from)
            same_sum = by_cell(values[c_from] * w[c_to] + w[c_from] * values[c_to], c_from)
            gamma[index].append(by_slot(a * b, s_from) - same_product)
            first[index].append(by_slot(a * count[s_to] + count[s_from] * b, s_from) - same_sum)
            same_gamma[index].append(same_product)
            same_first[index].append(same_sum)
    weights = np.array([1.0] + [2.0] * (2 * nb.max_lag))
    return LagSums(
        [np.array(g + s) for g, s in zip(gamma, same_gamma, strict=True)],
        [np.array(f + s) for f, s in zip(first, same_first, strict=True)],
        np.array(pairs + same_pairs),
        weights,
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
