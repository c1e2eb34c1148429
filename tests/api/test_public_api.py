import umwi_api
import umwi_api.deps
import umwi_api.queries
import umwi_api.routes


def test_public_api_is_pinned() -> None:
    assert sorted(umwi_api.__all__) == ["create_app", "serve"]
    assert callable(umwi_api.create_app)
    assert callable(umwi_api.serve)


def test_queries_api_is_pinned() -> None:
    # DAILY_TABLES, GRAINS, Grain: `umwi kpi --grain` and the API's `grain` share them.
    assert sorted(umwi_api.queries.__all__) == [
        "DAILY_TABLES",
        "GRAINS",
        "GoldReader",
        "Grain",
        "KPI_TABLES",
        "KpiFilters",
        "MAX_OFFSET",
        "MAX_TEXT",
        "NotPublishedError",
        "PERIOD_PATTERN",
        "Page",
        "QueryError",
        "TABLE_FILTERS",
        "TABLE_ORDER",
        "encode_rows",
        "parse_time",
    ]


def test_deps_and_routes_are_pinned() -> None:
    # deps: what routes (and tests overriding `get_reader`) declare; routes: one router each.
    assert sorted(umwi_api.deps.__all__) == [
        "FiltersDependency",
        "GrainDependency",
        "PageRequest",
        "ReaderDep",
        "correlation_filters",
        "get_reader",
        "hour_or_day",
        "hourly_filters",
        "hourly_only",
        "impact_filters",
        "paging",
    ]
    assert sorted(umwi_api.routes.__all__) == ["coverage", "freshness", "health", "kpi", "lines"]
