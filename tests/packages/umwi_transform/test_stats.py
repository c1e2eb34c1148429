"""The closed-form statistics against scipy on random samples."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from umwi_transform import finish_correlation


def _sums(x: np.ndarray, y: np.ndarray) -> pa.Table:
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    return pa.table(
        {
            "n": [len(x)],
            "mean_x": [x.mean()],
            "mean_y": [y.mean()],
            "var_x": [x.var()],
            "var_y": [y.var()],
            "cov_xy": [np.cov(x, y, bias=True)[0, 1]],
            "var_rx": [rx.var()],
            "var_ry": [ry.var()],
            "cov_rxry": [np.cov(rx, ry, bias=True)[0, 1]],
        }
    )


@pytest.mark.parametrize("seed", range(5))
def test_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 200))
    x = np.round(rng.normal(size=n), 1)  # rounding makes ties for the ranks
    y = 0.3 * x + rng.normal(size=n)
    found = {k: float(v[0]) for k, v in finish_correlation(_sums(x, y)).items()}
    pearson = stats.pearsonr(x, y)
    low, high = pearson.confidence_interval(0.95, method=None)
    fit = stats.linregress(x, y)
    assert found["pearson_r"] == pytest.approx(pearson.statistic, rel=1e-9)
    assert found["p_value"] == pytest.approx(pearson.pvalue, rel=1e-6, abs=1e-300)
    assert found["ci_low"] == pytest.approx(low, rel=1e-9)
    assert found["ci_high"] == pytest.approx(high, rel=1e-9)
    assert found["spearman_rho"] == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-9)
    assert found["slope"] == pytest.approx(fit.slope, rel=1e-9)
    assert found["intercept"] == pytest.approx(fit.intercept, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]),  # n < 4
        ([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]),  # var x = 0
        ([1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0]),  # var y = 0
    ],
)
def test_all_null(x: list[float], y: list[float]) -> None:
    found = finish_correlation(_sums(np.array(x), np.array(y)))
    assert all(np.isnan(values[0]) for values in found.values())


def test_perfect_correlation_has_a_zero_p_value() -> None:
    x = np.arange(6.0)
    found = finish_correlation(_sums(x, 2 * x + 1))
    assert found["pearson_r"][0] == 1.0
    assert found["p_value"][0] == 0.0
    assert found["ci_low"][0] == 1.0
