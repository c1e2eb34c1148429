"""GE suites and Soda contracts: all pass on data the transform built, and each one fails
on the crafted bad copy (every check has a row made to trip it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from umwi_core.resources import make_lake
from umwi_core.settings import load_settings
from umwi_quality import CheckResult
from umwi_quality._ge import run_expectations
from umwi_quality._ge_suites import SUITES, SuiteContext
from umwi_quality._soda import contract_names, verify_contracts

from tests.packages.umwi_quality.factory import NOW, fill, read_tables, spoil_all, workspace_of

pytestmark = pytest.mark.slow

WINDOW = "SELECT DISTINCT date_trunc('hour', scheduled_at) AS hour FROM silver_departures"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pa.Table]:
    settings = load_settings(state_dir=tmp_path_factory.mktemp("good"))
    lake = make_lake(settings)
    tables = read_tables(lake, fill(lake, settings))
    assert all(table.num_rows for table in tables.values()), {
        name: table.num_rows for name, table in tables.items()
    }
    return tables


def _run(tables: dict[str, pa.Table], site: Path) -> list[CheckResult]:
    settings = load_settings(state_dir=site / "state")
    workspace = workspace_of(tables)
    try:
        context = SuiteContext(now=NOW, settings=settings, totals_window=WINDOW)
        views = list(tables)
        return run_expectations(workspace, views, context, site) + verify_contracts(
            workspace, views, {"FUTURE_LIMIT": context.future_limit}
        )
    finally:
        workspace.close()


@pytest.fixture(scope="module")
def runs(good: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    good_site = tmp_path_factory.mktemp("site-good")
    bad_site = tmp_path_factory.mktemp("site-bad")
    return {
        "good": _run(good, good_site),
        "bad": _run(spoil_all(good), bad_site),
        "bad_site": bad_site,
    }


def _key(check: CheckResult) -> tuple[str, str, str]:
    return (check.engine, check.table, check.check)


def test_both_engines_check_every_table(runs: dict[str, Any]) -> None:
    checks: list[CheckResult] = runs["good"]
    for view in SUITES:
        engines = {c.engine for c in checks if c.table == view}
        assert engines == {"great_expectations", "soda"}, view
    assert set(contract_names()) == set(SUITES)


def test_every_check_passes_on_good_data(runs: dict[str, Any]) -> None:
    failing = [c for c in runs["good"] if c.status != "passed"]
    assert not failing, failing


def test_every_check_fails_on_its_bad_batch(runs: dict[str, Any]) -> None:
    bad = {_key(c): c for c in runs["bad"]}
    assert not [c for c in runs["bad"] if c.status == "error"]
    not_tripped = [key for key in map(_key, runs["good"]) if bad[key].status != "failed"]
    assert not not_tripped, not_tripped


def test_failures_report_counts_and_thresholds(runs: dict[str, Any]) -> None:
    bad = {_key(c): c for c in runs["bad"]}
    code = bad[
        ("great_expectations", "silver_weather_hourly", "weather_code is a WMO 4677 code (0-99)")
    ]
    assert code.observed == 1
    assert code.threshold is not None
    assert code.threshold.startswith("in {0, 1, 2")
    soda_code = bad[("soda", "silver_weather_hourly", "weather_code: No invalid values")]
    assert soda_code.observed == 1
    # One copied row, plus the rows that null a required non-key column of that row.
    unique = bad[("soda", "silver_departures", "key unique")]
    assert unique.observed == 1 + 6


def test_data_docs_name_the_failed_expectation(runs: dict[str, Any]) -> None:
    site: Path = runs["bad_site"]
    assert (site / "index.html").is_file()
    pages = [path.read_text() for path in (site / "validations").rglob("*.html")]
    assert any("weather_code is a WMO 4677 code (0-99)" in page for page in pages)
    assert any("gold totals equal silver totals" in page for page in pages)
