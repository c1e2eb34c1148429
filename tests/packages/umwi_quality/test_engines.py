"""GE suites and Soda contracts: all pass on data the transform built, and each rule's
own spoiler (`spoilers.py`: the good view with one row or column made to break that rule
alone) fails exactly the checks that state that rule, one per engine, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from umwi_core.resources import make_lake
from umwi_core.settings import load_settings
from umwi_quality import CheckResult, _ge
from umwi_quality._ge import run_expectations
from umwi_quality._ge_suites import _ACROSS_TABLES, SUITES, Suite, SuiteContext, contract_suite
from umwi_quality._soda import contract_names, verify_contracts
from umwi_quality._views import VIEW_CONTRACTS

from tests.packages.umwi_quality.factory import NOW, fill_with_outlook, read_tables, workspace_of
from tests.packages.umwi_quality.spoilers import Spoiler, expected_checks, spoilers

pytestmark = pytest.mark.slow

WINDOW = "SELECT DISTINCT date_trunc('hour', scheduled_at) AS hour FROM silver_departures"
BOTH = {"great_expectations", "soda"}
#: Rules only GE states: the cross-table rules, and column types to the integer width.
GE_ONLY = ("across", "schema types")


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pa.Table]:
    settings = load_settings(state_dir=tmp_path_factory.mktemp("good"))
    lake = make_lake(settings)
    tables = read_tables(lake, fill_with_outlook(lake, settings))
    assert all(table.num_rows for table in tables.values()), {
        name: table.num_rows for name, table in tables.items()
    }
    return tables


def _context(folder: Path) -> SuiteContext:
    return SuiteContext(
        now=NOW, settings=load_settings(state_dir=folder / "state"), totals_window=WINDOW
    )


def _run(tables: dict[str, pa.Table], folder: Path) -> list[CheckResult]:
    workspace = workspace_of(tables)
    try:
        context = _context(folder)
        views = list(tables)
        return run_expectations(workspace, views, context, None) + verify_contracts(
            workspace, views, {"FUTURE_LIMIT": context.future_limit}
        )
    finally:
        workspace.close()


@pytest.fixture(scope="module")
def runs(good: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {"good": _run(good, tmp_path_factory.mktemp("good-run"))}


def _aliased_suite(view: str, alias: str) -> Suite:
    """`view`'s suite on the table `alias` (the schema rule names its table)."""
    across = _ACROSS_TABLES.get(view)

    def suite(context: SuiteContext) -> list[Any]:
        return [
            *contract_suite(VIEW_CONTRACTS[view], alias, context),
            *(across(context) if across else []),
        ]

    return suite


@dataclass
class Spoiled:
    spoiler: Spoiler
    checks: list[CheckResult]


def _expectations(
    good: dict[str, pa.Table],
    chosen: list[Spoiler],
    context: SuiteContext,
    site: Path | None,
) -> list[list[CheckResult]]:
    """GE on each spoiler in one checkpoint, where each spoiler is a table of its own
    checked with its view's suite (the other views and the history are the good data);
    per spoiler, its own results, under its view's name."""
    aliases = {f"spoiled_{n:03d}": s for n, s in enumerate(chosen)}
    workspace = workspace_of(good)
    try:
        for alias, spoiler in aliases.items():
            workspace.register(alias, spoiler.table)
        with pytest.MonkeyPatch.context() as patch:
            for alias, spoiler in aliases.items():
                patch.setitem(_ge.SUITES, alias, _aliased_suite(spoiler.view, alias))
            expectations = run_expectations(workspace, list(aliases), context, site)
    finally:
        workspace.close()
    return [
        [replace(c, table=spoiler.view) for c in expectations if c.table == alias]
        for alias, spoiler in aliases.items()
    ]


def _contracts(
    good: dict[str, pa.Table], chosen: list[Spoiler], context: SuiteContext
) -> list[list[CheckResult]]:
    """Soda on each spoiler, the spoiler in place of its view for its own verification
    only (the good view is put back before the next), in one workspace."""
    workspace = workspace_of(good)
    found = []
    try:
        for spoiler in chosen:
            workspace.register(spoiler.view, spoiler.table)
            found.append(
                verify_contracts(workspace, [spoiler.view], {"FUTURE_LIMIT": context.future_limit})
            )
            workspace.register(spoiler.view, good[spoiler.view])
    finally:
        workspace.close()
    return found


@pytest.fixture(scope="module")
def spoiled(good: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every spoiler through both engines, each on its own (`_expectations`, `_contracts`);
    no Data Docs (`docs` renders a site for two of them)."""
    context = _context(tmp_path_factory.mktemp("spoiled"))
    chosen = list(spoilers(good, context))
    ge = _expectations(good, chosen, context, None)
    soda = _contracts(good, chosen, context)
    return {
        "results": [
            Spoiled(spoiler, own + theirs)
            for spoiler, own, theirs in zip(chosen, ge, soda, strict=True)
        ]
    }


#: The spoilers whose failures the Data Docs test looks for in the rendered site.
DOCS_RULES = {
    ("silver_weather_hourly", ("value", "weather_code")),
    ("gold_punctuality_hourly", ("across", "gold totals equal silver totals")),
}


@pytest.fixture(scope="module")
def docs(good: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Data Docs site of a GE run on two spoilers."""
    site = tmp_path_factory.mktemp("site-spoiled")
    context = _context(site)
    chosen = [s for s in spoilers(good, context) if (s.view, s.rule) in DOCS_RULES]
    assert len(chosen) == len(DOCS_RULES)
    _expectations(good, chosen, context, site)
    return site


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


def test_each_rule_fails_exactly_its_checks_on_its_spoiler(
    runs: dict[str, Any], spoiled: dict[str, Any]
) -> None:
    """One spoiler per rule, and on it exactly the checks stating that rule fail: one of
    each engine (GE only for `GE_ONLY`), nothing else, no error.

    Mutations: `_between(column.name, low, high, …)` → `_between(column.name, low, None,
    …)` in `_ge_suites.contract_suite` (GE's range checks miss the row past the upper end);
    `valid_max` dropped from one column of a Soda contract YAML (the same for Soda); the
    `ingested_at` rule's SQL made `scheduled_at > …` in `contracts` (it no longer fails on
    its spoiler, and fails on the scheduled_at one)."""
    good: list[CheckResult] = runs["good"]
    problems = []
    for item in spoiled["results"]:
        spoiler, checks = item.spoiler, item.checks
        errors = [(c.engine, c.check, c.message[:120]) for c in checks if c.status == "error"]
        failing = {(c.engine, c.check) for c in checks if c.status == "failed"}
        expected = expected_checks(spoiler.view, spoiler.rule, good)
        engines = {engine for engine, _ in expected}
        wanted = {"great_expectations"} if spoiler.rule[0] in GE_ONLY else BOTH
        # Each check counts every spoiled row (both ends of a range, not just one).
        miscounted = [
            (c.engine, c.check, c.observed)
            for c in checks
            if spoiler.rows and c.status == "failed" and c.observed != spoiler.rows
        ]
        if errors or failing != expected or engines != wanted or miscounted:
            problems.append(
                f"{spoiler.name}: failed {sorted(failing)}, expected {sorted(expected)}"
                + (f", errors {errors}" if errors else "")
                + (f", counted {miscounted} of {spoiler.rows} rows" if miscounted else "")
            )
    assert not problems, "\n".join(problems)


def test_every_check_has_a_spoiler(runs: dict[str, Any], spoiled: dict[str, Any]) -> None:
    """Every check of both engines states a rule some spoiler breaks (a check no spoiler
    reaches would be untested). Mutation: a new expectation in `_ge_suites` that no
    contract rule states (it is left uncovered here)."""
    covered = {
        (engine, item.spoiler.view, check)
        for item in spoiled["results"]
        for engine, check in expected_checks(item.spoiler.view, item.spoiler.rule, runs["good"])
    }
    assert {_key(c) for c in runs["good"]} - covered == set()


def _only(spoiled: dict[str, Any], view: str, *rule: str) -> list[CheckResult]:
    (item,) = [i for i in spoiled["results"] if (i.spoiler.view, i.spoiler.rule) == (view, rule)]
    return [c for c in item.checks if c.status == "failed"]


def test_failures_report_counts_and_thresholds(spoiled: dict[str, Any]) -> None:
    code = {c.engine: c for c in _only(spoiled, "silver_weather_hourly", "value", "weather_code")}
    assert code["great_expectations"].check == "weather_code is a WMO 4677 code (0-99)"
    assert code["great_expectations"].observed == 1
    threshold = code["great_expectations"].threshold
    assert threshold is not None
    assert threshold.startswith("in {0, 1, 2")
    assert code["soda"].check == "weather_code: No invalid values"
    assert code["soda"].observed == 1
    key = {c.engine: c for c in _only(spoiled, "silver_departures", "key")}
    assert key["soda"].observed == key["great_expectations"].observed == 1


def test_data_docs_name_the_failed_expectation(docs: Path) -> None:
    """Mutation: `if docs:` -> `if False:` in `_ge._validate` (no site is built): red."""
    site = docs
    assert (site / "index.html").is_file()
    pages = [path.read_text() for path in (site / "validations").rglob("*.html")]
    assert any("weather_code is a WMO 4677 code (0-99)" in page for page in pages)
    assert any("gold totals equal silver totals" in page for page in pages)
