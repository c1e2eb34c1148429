"""Closed-form correlation statistics on the small aggregated result (DESIGN.md §5)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy import special, stats

from umwi_transform._autocorr import effective_n

#: Two-sided 95 % normal quantile for the Fisher-z interval.
Z_975 = float(special.ndtri(0.975))
MIN_N = 4


def _col(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(
        table.column(name).cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )


def _pearson(cov: np.ndarray, var_a: np.ndarray, var_b: np.ndarray, ok: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(var_a * var_b)
    # Rounding can push |r| a hair past 1; the statistic is bounded by definition.
    return np.where(ok, np.clip(r, -1.0, 1.0), np.nan)


def _interval(r: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fisher-z 95 % interval (n − 3) and the two-sided Student-t p-value (n − 2 df)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.arctanh(r)
        half = Z_975 / np.sqrt(n - 3)
        df = n - 2
        t = r * np.sqrt(df / (1.0 - r * r))
        p = np.where(np.abs(r) >= 1.0, 0.0, 2.0 * stats.t.sf(np.abs(t), df))
        return np.tanh(z - half), np.tanh(z + half), p


def finish_correlation(sums: pa.Table) -> dict[str, np.ndarray]:
    """Pearson, Fisher-z CI, Student-t p-value, Spearman, slope and intercept, and the
    same interval and p-value with n_eff in place of n (`bartlett`, when given, holds
    n / n_eff − 1, `umwi_transform._autocorr`; null where n_eff ≤ 3).

    All null when n < 4 or either variance is 0 (NaN here; null in the gold table). A
    variance is 0 when every value ties in the ranks: exact for x and raw y whatever the
    summation order, and for the anomaly "all equal to the microsecond" (DESIGN.md §5).
    """
    n = _col(sums, "n")
    var_x, var_y = _col(sums, "var_x"), _col(sums, "var_y")
    var_rx, var_ry = _col(sums, "var_rx"), _col(sums, "var_ry")
    ok = (n >= MIN_N) & (var_x > 0) & (var_y > 0) & (var_rx > 0) & (var_ry > 0)
    r = _pearson(_col(sums, "cov_xy"), var_x, var_y, ok)
    rho = _pearson(_col(sums, "cov_rxry"), var_rx, var_ry, ok)
    ci_low, ci_high, p = _interval(r, n)
    # Without lag sums (a plain sample, as in the tests against scipy) the cells are
    # independent by assumption: n_eff = n.
    excess = _col(sums, "bartlett") if "bartlett" in sums.column_names else np.zeros(n.shape)
    n_eff = np.where(ok, effective_n(n, excess), np.nan)
    adjusted = ok & (n_eff > 3)
    ci_low_adj, ci_high_adj, p_adj = _interval(r, n_eff)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = _col(sums, "cov_xy") / var_x
        intercept = _col(sums, "mean_y") - slope * _col(sums, "mean_x")
    nan = np.full(n.shape, np.nan)
    return {
        "pearson_r": r,
        "ci_low": np.where(ok, ci_low, nan),
        "ci_high": np.where(ok, ci_high, nan),
        "p_value": np.where(ok, p, nan),
        "spearman_rho": rho,
        "slope": np.where(ok, slope, nan),
        "intercept": np.where(ok, intercept, nan),
        "n_eff": n_eff,
        "ci_low_adj": np.where(adjusted, ci_low_adj, nan),
        "ci_high_adj": np.where(adjusted, ci_high_adj, nan),
        "p_value_adj": np.where(adjusted, p_adj, nan),
    }


KEY_COLUMNS = ("network", "line_id", "period", "variable", "lag_h")
_PER_KIND = ("mean_y", "var_y", "cov_xy", "var_ry", "cov_rxry", "bartlett")


def correlation_table(sums: pa.Table) -> pa.Table:
    """The `correlation` gold rows from `correlation_sums` (NaN becomes null).

    The sums carry both y kinds side by side; each becomes its own row set here.
    """
    halves = []
    for kind in ("raw", "anomaly"):
        columns: dict[str, pa.Array | pa.ChunkedArray] = {
            name: sums.column(name) for name in (*KEY_COLUMNS, "n", "mean_x", "var_x", "var_rx")
        }
        columns["y_kind"] = pa.array([kind] * sums.num_rows, pa.string())
        for name in _PER_KIND:
            columns[name] = sums.column(f"{name}_{kind}")
        half = pa.table(columns)
        finished = finish_correlation(half)
        out: dict[str, pa.Array | pa.ChunkedArray] = {
            name: half.column(name) for name in (*KEY_COLUMNS, "y_kind", "n")
        }
        for name, values in finished.items():
            out[name] = pa.array(values, type=pa.float64(), from_pandas=True)
        halves.append(pa.table(out))
    return pa.concat_tables(halves)
