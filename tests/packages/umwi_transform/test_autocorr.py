"""n_eff (`umwi_transform._autocorr`): coverage by simulation, and its sums against
independent computations over explicit pairs of cells."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from scipy import special
from umwi_core.lake import Lake
from umwi_core.settings import Settings
from umwi_transform import correlation_table, read_silver
from umwi_transform._autocorr import (
    NEFF_MAX_LAG_H,
    bartlett_excess,
    effective_n,
    lag_sums,
    neighbours,
)
from umwi_transform._correlation import X_COLUMNS, correlation_sums_from_cells

Z = float(special.ndtri(0.975))


def _ar1_pairs(
    rng: np.random.Generator, replicates: int, hours: int, phi: float, rho: float
) -> tuple[np.ndarray, np.ndarray]:
    """`replicates` pairs of AR(1) series with coefficient `phi` whose innovations
    correlate `rho`: corr(x_t, y_t) = rho exactly, and x and y persist alike."""
    e = rng.standard_normal((replicates, hours))
    u = rho * e + np.sqrt(1 - rho * rho) * rng.standard_normal((replicates, hours))
    x, y = np.empty_like(e), np.empty_like(u)
    scale = 1 / np.sqrt(1 - phi * phi)  # start in the stationary distribution
    x[:, 0], y[:, 0] = e[:, 0] * scale, u[:, 0] * scale
    for t in range(1, hours):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
        y[:, t] = phi * y[:, t - 1] + u[:, t]
    return x, y


def _coverage(r: np.ndarray, n: np.ndarray, truth: float) -> float:
    z, half = np.arctanh(r), Z / np.sqrt(n - 3)
    return float(np.mean((np.tanh(z - half) <= truth) & (truth <= np.tanh(z + half))))


def test_adjusted_interval_covers_the_true_correlation_of_autocorrelated_series() -> None:
    """1,200 replicates of 30 days of AR(1) x and y (φ = 0.7, true ρ = 0.4) observed
    from 05:00 to 24:00 only (night gaps): the Fisher interval with n_eff covers ρ in
    92–98 % of them; the textbook one, with n, covers clearly less.

    Mutation: `weights = np.array([1.0] + [2.0] * …)` in `lag_sums` as all 1.0 (each
    k-hour pair counted once, not for both orders): the adjusted coverage drops to
    about 89 %."""
    rng = np.random.default_rng(19)
    replicates, hours, truth = 1200, 30 * 24, 0.4
    x, y = _ar1_pairs(rng, replicates, hours, phi=0.7, rho=truth)
    clock = np.arange(hours)
    service = clock % 24 >= 5
    x, y = x[:, service].ravel(), y[:, service].ravel()
    group = np.repeat(np.arange(replicates), int(service.sum()))
    hour = np.tile(clock[service], replicates).astype(np.int64)

    n = np.bincount(group).astype(np.float64)
    dx = x - (np.bincount(group, x) / n)[group]
    dy = y - (np.bincount(group, y) / n)[group]
    var_x, var_y = np.bincount(group, dx * dx) / n, np.bincount(group, dy * dy) / n
    r = np.bincount(group, dx * dy) / n / np.sqrt(var_x * var_y)
    sums = lag_sums(
        neighbours(group, np.zeros_like(group), hour), group, replicates, None, [dx, dy]
    )
    n_eff = effective_n(
        n, bartlett_excess(n, var_x, var_y, sums.gamma[0], sums.gamma[1], sums.pairs, sums.weights)
    )

    adjusted, naive = _coverage(r, n_eff, truth), _coverage(r, n, truth)
    assert 0.92 <= adjusted <= 0.98, adjusted
    assert naive < 0.85, naive
    assert float(np.median(n_eff)) < 0.5 * n[0]  # the dependence is strong enough to matter


def test_one_gapless_series_matches_the_textbook_bartlett_sum() -> None:
    """One place, no gaps: n/n_eff − 1 = (2/n) Σ_k (n − k) ρ̂x(k) ρ̂y(k) with ρ̂ the
    autocorrelations over the n − k pairs, computed here by `np.correlate`.

    Mutation: `weights = np.array([1.0] + [2.0] * …)` in `lag_sums` as all 1.0 (each
    k-hour pair counted once, not for both orders): red."""
    rng = np.random.default_rng(3)
    x, y = _ar1_pairs(rng, 1, 300, phi=0.6, rho=0.2)
    x, y = x[0], y[0]
    n = len(x)
    dx, dy = x - x.mean(), y - y.mean()
    full_x = np.correlate(dx, dx, mode="full")[n - 1 :]
    full_y = np.correlate(dy, dy, mode="full")[n - 1 :]
    lags = np.arange(1, NEFF_MAX_LAG_H + 1)
    acf_x = full_x[lags] / (n - lags) / dx.var()
    acf_y = full_y[lags] / (n - lags) / dy.var()
    expected = 2.0 / n * np.sum((n - lags) * acf_x * acf_y)

    group = np.zeros(n, np.int64)
    sums = lag_sums(neighbours(group, group, np.arange(n)), group, 1, None, [dx, dy])
    found = bartlett_excess(
        np.array([float(n)]),
        np.array([dx.var()]),
        np.array([dy.var()]),
        sums.gamma[0],
        sums.gamma[1],
        sums.pairs,
        sums.weights,
    )
    assert found[0] == pytest.approx(expected, rel=1e-10)


DAYS = 16
START = datetime(2026, 1, 22, tzinfo=UTC)  # crosses a month end


def _cells(rng: np.random.Generator) -> pa.Table:
    """Two lines, three places, sixteen days of service hours (06:00–22:00) with holes,
    x persistent in time and shared across places at one hour, some x unknown."""
    rows: list[dict[str, object]] = []
    regional = np.cumsum(rng.normal(size=DAYS * 24))
    for line in ("L0", "L1"):
        for place_index, place in enumerate(("W1", "W2", "W3")):
            level = np.cumsum(rng.normal(size=DAYS * 24)) * 0.5
            for h in range(DAYS * 24):
                if not 6 <= h % 24 < 22 or rng.random() < 0.15:
                    continue
                row: dict[str, object] = {
                    "network": "net",
                    "line_id": line,
                    "location_id": place,
                    "hour": START + timedelta(hours=h),
                    "y": float(np.round(60 + 10 * level[h] + rng.normal(0, 20))),
                }
                for _, lag, column in X_COLUMNS:
                    value = regional[h] + 0.3 * place_index + rng.normal(0, 0.5) + lag
                    row[column] = None if rng.random() < 0.1 else float(np.round(value, 2))
                rows.append(row)
    return pa.Table.from_pylist(rows)


def _brute_excess(frame: object, column: str, y_column: str) -> float:
    """(1/n) Σ over (class, k) of pairs · ρ̄x · ρ̄y, with every pair of cells listed:
    classes are the same place at k = 1…K and other places at k = 0…K, pairs only
    within a calendar month, ρ̄ the mean product of deviations over the class's
    pairs divided by the variance."""
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    cells = frame[frame[column].notna()]
    n = len(cells)
    dx = (cells[column] - cells[column].mean()).to_numpy()
    dy = (cells[y_column] - cells[y_column].mean()).to_numpy()
    epoch = pd.Timestamp(0, tz="UTC")
    hours = ((cells["hour"] - epoch) // pd.Timedelta(hours=1)).to_numpy()
    months = cells["hour"].dt.strftime("%Y-%m").to_numpy()
    places = cells["location_id"].to_numpy()
    distance = np.abs(hours[:, None] - hours[None, :])
    same_month = months[:, None] == months[None, :]
    same_place = places[:, None] == places[None, :]
    distinct = ~np.eye(n, dtype=bool)
    total = 0.0
    for k in range(NEFF_MAX_LAG_H + 1):
        for place_class in (same_place, ~same_place):
            chosen = (distance == k) & same_month & place_class & distinct
            pairs = chosen.sum()  # ordered pairs
            if pairs == 0:
                continue
            rho_x = (dx[:, None] * dx[None, :])[chosen].sum() / pairs / dx.var()
            rho_y = (dy[:, None] * dy[None, :])[chosen].sum() / pairs / dy.var()
            total += pairs * rho_x * rho_y
    return total / n


def test_bartlett_excess_of_the_cells_pass_matches_explicit_pairs() -> None:
    """Per line and for every period (`all` re-centres the months' sums) and both y
    kinds, n_eff from the cells pass equals the explicit-pairs computation.

    Mutation: `- delta * f` dropped from `shift_merge` (the months' sums not re-centred
    for `all`): red."""
    import pandas as pd

    cells = _cells(np.random.default_rng(5))
    found = correlation_table(correlation_sums_from_cells(cells, {})).to_pandas()
    frame = cells.to_pandas()
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    key = ["network", "line_id", "location_id", "weekday", "hour_of_day"]
    frame["weekday"] = frame["hour"].dt.weekday
    frame["hour_of_day"] = frame["hour"].dt.hour
    frame["anomaly"] = frame["y"] - frame.groupby(key)["y"].transform("mean")
    frame["period"] = frame["hour"].dt.strftime("%Y-%m")
    checked = 0
    for variable, lag, column in X_COLUMNS[:4]:
        for line in ("L0", "L1"):
            for period in ("all", "2026-01", "2026-02"):
                part = frame[frame["line_id"] == line]
                if period != "all":
                    part = part[part["period"] == period]
                for kind, y_column in (("raw", "y"), ("anomaly", "anomaly")):
                    row = found[
                        (found["variable"] == variable)
                        & (found["lag_h"] == lag)
                        & (found["line_id"] == line)
                        & (found["period"] == period)
                        & (found["y_kind"] == kind)
                    ].iloc[0]
                    excess = _brute_excess(part, column, y_column)
                    n = row["n"]
                    assert row["n_eff"] == pytest.approx(n / max(1.0, 1.0 + excess), rel=1e-9)
                    checked += 1
    assert checked == 4 * 2 * 3 * 2
    # Shared weather and persistence make real dependence here: n_eff well under n.
    assert (found["n_eff"] < 0.8 * found["n"]).mean() > 0.5


@pytest.mark.slow
def test_the_ibis_pair_builders_give_the_cells_pass_n_eff(lake: Lake, settings: Settings) -> None:
    """The engine-independent builders (`gold_expressions.correlation_sums`, which Spark
    runs) run here on DuckDB over the gold build's own inputs and give its correlation
    table, n_eff and the adjusted interval included.

    Mutation: `h_to=left.h + left.k` as `h_to=left.h` in
    `gold_expressions._hours_later` (every hour paired with itself): red."""
    from datetime import date

    from umwi_connectors import generate_sample
    from umwi_transform import build_gold, gold_expressions, ingest_batches, read_gold
    from umwi_transform._engine import connect, register, to_arrow

    batches = generate_sample(lake=lake, run_id="r-sample", start=date(2026, 2, 24), days=9)
    ingest_batches(batches, lake, settings, "r-sample", source="sample", parameters={})
    build_gold(lake, settings, "b1")
    gold = {t: read_gold(lake, t) for t in ("mobility_weather_hourly", "correlation")}
    silver_weather = read_silver(lake, "weather_hourly")
    backend = connect(settings.duckdb_memory_limit)
    mobility = register(backend, "mobility", gold["mobility_weather_hourly"])
    weather = register(backend, "weather", silver_weather)
    expected = gold["correlation"].to_pandas()
    found = correlation_table(to_arrow(gold_expressions.correlation_sums(mobility, weather)))
    found = found.to_pandas()
    key = ["network", "line_id", "period", "variable", "lag_h", "y_kind"]
    found = found.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    assert len(found) == len(expected) > 0
    for column in ("n", "pearson_r", "n_eff", "ci_low_adj", "ci_high_adj", "p_value_adj"):
        np.testing.assert_allclose(
            found[column].astype(float),
            expected[column].astype(float),
            rtol=1e-9,
            atol=1e-12,
            err_msg=column,
        )
    assert (expected["n_eff"] < expected["n"]).any()
