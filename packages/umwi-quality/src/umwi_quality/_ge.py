"""Run the Great Expectations suites on the workspace and build the Data Docs site.

GE has no DuckDB dialect of its own; it runs through SQLAlchemy (duckdb-engine). Its
execution engine keeps a persisted connection only for a few named dialects, and on any
other it reads results after the pooled connection closed, so this module gives it an
engine subclass that always keeps the workspace's one connection. The context is
ephemeral: nothing is written to the repository or the lake except the Data Docs.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from umwi_quality._ge_suites import SUITES, SuiteContext
from umwi_quality._model import CheckResult
from umwi_quality._workspace import Workspace

SITE = "umwi"
#: The workspace engine of the validation in progress: GE builds and tests the datasource
#: inside `add_*`, before any object of ours could be handed to it.
_ENGINE: ContextVar[Any] = ContextVar("umwi_quality_ge_engine")
log = logging.getLogger("umwi.quality")


@cache
def _datasource_type() -> type[Any]:
    """A SQL datasource whose execution engine uses the workspace's engine and connection.

    Defined once (GE registers every datasource type globally by its `type` name).
    """
    from typing import Literal

    import sqlalchemy as sa
    from great_expectations.datasource.fluent import SQLDatasource  # type: ignore[attr-defined]
    from great_expectations.execution_engine import (  # type: ignore[attr-defined]
        SqlAlchemyExecutionEngine,
    )

    class _OneConnectionEngine(SqlAlchemyExecutionEngine):  # type: ignore[misc]
        @contextmanager  # type: ignore[arg-type]
        def get_connection(self) -> Any:
            if self._connection is None:
                self._connection = self.engine.connect()
            yield self._connection

    class UmwiDuckDBDatasource(SQLDatasource):  # type: ignore[misc]
        type: Literal["umwi_duckdb"] = "umwi_duckdb"  # type: ignore[assignment]

        def get_engine(self) -> sa.Engine:
            engine: sa.Engine = _ENGINE.get()
            return engine

        def get_execution_engine(self) -> Any:
            engine = self.get_engine()
            current = self._execution_engine
            if current is None or current.engine is not engine:
                # No temporary copy of each batch: the workspace tables are already DuckDB's
                # own, and a copy of a 10 M-row batch doubles the gate's memory.
                current = _OneConnectionEngine(engine=engine, create_temp_table=False)
                self._execution_engine = current
            return current

    return UmwiDuckDBDatasource


def _context(site_dir: Path | None) -> Any:
    """An ephemeral context whose only Data Docs site is `site_dir` (none when None)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for name, config in dict(context.list_data_docs_sites()).items():
        # The ephemeral context makes a temporary folder for its default site; ours replaces it.
        folder = (config.get("store_backend") or {}).get("base_directory")
        if folder and Path(folder).is_relative_to(tempfile.gettempdir()):
            shutil.rmtree(folder, ignore_errors=True)
        context.delete_data_docs_site(name)
    if site_dir is None:
        return context
    context.add_data_docs_site(
        site_name=SITE,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(site_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def _threshold(config: Any) -> str:
    kwargs = config.kwargs
    kind = config.type
    if kind == "expect_column_values_to_be_between":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        return f"{'-inf' if low is None else low}..{'inf' if high is None else high}"
    if kind == "expect_column_values_to_be_in_set":
        values = list(kwargs.get("value_set", []))
        shown = ", ".join(map(str, values[:6])) + (", …" if len(values) > 6 else "")
        return f"in {{{shown}}}"
    if kind == "expect_table_columns_to_match_ordered_list":
        return f"{len(kwargs.get('column_list', []))} columns in order"
    if kind == "expect_column_values_to_not_be_null":
        return "0 nulls"
    return "0 rows"


def _observed(result: Any) -> str | int | float | None:
    body = result.result or {}
    if "unexpected_count" in body:
        # GE reports None instead of 0 on an empty batch.
        return int(body["unexpected_count"] or 0)
    value = body.get("observed_value")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        return f"{len(value)} columns"
    return None if value is None else str(value)


def _to_checks(view: str, results: Iterable[Any]) -> list[CheckResult]:
    checks: list[CheckResult] = []
    for result in results:
        config = result.expectation_config
        raised = bool((result.exception_info or {}).get("raised_exception"))
        message = str((result.exception_info or {}).get("exception_message") or "")
        column = config.kwargs.get("column")
        checks.append(
            CheckResult(
                check=str(config.meta.get("check", config.type)),
                table=view,
                engine="great_expectations",
                severity="error",
                status="error" if raised else ("passed" if result.success else "failed"),
                observed=_observed(result),
                threshold=_threshold(config),
                message=message[:500],
                details={"expectation": config.type, **({"column": column} if column else {})},
            )
        )
    return checks


def run_expectations(
    workspace: Workspace, views: list[str], context: SuiteContext, site_dir: Path | None
) -> list[CheckResult]:
    """Validate each view against its suite in one checkpoint; Data Docs into `site_dir`
    (none when None: the results alone, for callers that show no site)."""
    datasource_type = _datasource_type()  # registers the type before the context exists
    gx_context = _context(site_dir)
    token = _ENGINE.set(workspace.engine)
    try:
        return _validate(gx_context, datasource_type, views, context, docs=site_dir is not None)
    finally:
        _ENGINE.reset(token)


def _validate(
    gx_context: Any,
    datasource_type: type[Any],
    views: list[str],
    context: SuiteContext,
    *,
    docs: bool,
) -> list[CheckResult]:
    import great_expectations as gx

    datasource = gx_context.data_sources.add_umwi_duckdb(
        name="umwi", connection_string="duckdb:///:memory:"
    )
    assert isinstance(datasource, datasource_type)
    definitions = []
    for view in views:
        asset = datasource.add_table_asset(name=view, table_name=view)
        batch = asset.add_batch_definition_whole_table(f"{view} (whole)")
        # Whole, then added once: `add_expectation` on a stored suite re-serialises the
        # suite each time.
        suite = gx_context.suites.add(
            gx.ExpectationSuite(name=view, expectations=list(SUITES[view](context)))
        )
        definitions.append(
            gx_context.validation_definitions.add(
                gx.ValidationDefinition(name=view, data=batch, suite=suite)
            )
        )
    checkpoint = gx_context.checkpoints.add(
        gx.Checkpoint(
            name="umwi-quality",
            validation_definitions=definitions,
            actions=[],
            result_format="SUMMARY",
        )
    )
    outcome = checkpoint.run()
    if docs:
        # One build for all suites: a per-validation docs action rebuilds the site each time.
        gx_context.build_data_docs(site_names=[SITE])
    checks: list[CheckResult] = []
    by_suite = {result.suite_name: result for result in outcome.run_results.values()}
    for view in views:
        checks.extend(_to_checks(view, by_suite[view].results))
    return checks
