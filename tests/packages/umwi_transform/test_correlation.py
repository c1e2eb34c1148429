"""The correlation pass over cells (`umwi_transform._correlation`) against scipy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from umwi_transform import correlation_table
from umwi_transform._correlation import X_COLUMNS, correlation_sums_from_cells

START = datetime(2026, 1, 20, tzinfo=UTC)  # four weeks that cross a month end


def _cells(rng: np.random.Generator, n: int) -> pa.Table:
    hours = [START + timedelta(hours=int(h)) for h in rng.choice(24 * 28, n, replace=False)]
    columns: dict[str, pa.Array] = {
        "network": pa.array(["net"] * n),
        "line_id": pa.array([f"L{i % 2}" for i in range(n)]),
        "location_id": pa.array(["W1"] * n),
        "hour": pa.array(hours, pa.timestamp("us", tz="UTC")),
        "y": pa.array(np.round(rng.normal(60, 30, n))),  # rounded: ties in y
    }
    for _, lag, column in X_COLUMNS:
        # Odd lags: many distinct values (ranked by sorting); even: few (by counting).
        values = np.round(rng.normal(0, 1, n), 3 if lag % 2 else 0)
        values[rng.random(n) < 0.2] = -0.0
        columns[column] = pa.array(values, mask=rng.random(n) < 0.1)
    return pa.table(columns)


def _expected(cells: pa.Table, column: str, line: str) -> dict[str, float]:
    frame = cells.to_pandas()
    frame = frame[(frame["line_id"] == line) & frame[column].notna()]
    return {
        "n": len(frame),
        "pearson_r": stats.pearsonr(frame[column], frame["y"]).statistic,
        "spearman_rho": stats.spearmanr(frame[column], frame["y"]).statistic,
    }


@pytest.mark.parametrize("seed", range(3))
def test_raw_statistics_match_scipy_with_ties_and_negative_zero(seed: int) -> None:
    """x holds both 0.0 and −0.0, which must tie; a dictionary that lists only 0.0 (as a
    DISTINCT does) must still rank them together. Columns with few and with many distinct
    values take both ways of ranking x.

    Mutation: drop the `pc.add(values, 0.0)` in `_dense_codes` and −0.0 gets its own
    rank (or no code): red."""
    rng = np.random.default_rng(seed)
    cells = _cells(rng, 300)
    dictionary = np.unique(np.abs(np.round(np.linspace(-4, 4, 9))))
    dictionary = np.unique(np.concatenate([-dictionary, dictionary]) + 0.0)
    found = correlation_table(
        correlation_sums_from_cells(cells, dict.fromkeys(("precipitation_mm",), dictionary))
    ).to_pandas()
    for variable, lag, column in X_COLUMNS[:8]:
        for line in ("L0", "L1"):
            row = found[
                (found["variable"] == variable)
                & (found["lag_h"] == lag)
                & (found["line_id"] == line)
                & (found["period"] == "all")
                & (found["y_kind"] == "raw")
            ].iloc[0]
            expected = _expected(cells, column, line)
            assert row["n"] == expected["n"]
            assert row["pearson_r"] == pytest.approx(expected["pearson_r"], rel=1e-9)
            assert row["spearman_rho"] == pytest.approx(expected["spearman_rho"], rel=1e-9)
    assert set(found["period"]) == {"all", "2026-01", "2026-02"}
