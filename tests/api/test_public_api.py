import umwi_api
import umwi_api.deps
import umwi_api.queries
import umwi_api.routes


def test_public_api_is_pinned() -> None:
    assert sorted(umwi_api.__all__) == ["create_app", "serve"]
    assert callable(umwi_api.create_app)
    assert callable(umwi_api.serve)


def test_queries_api_is_pinned() -> None:
    assert sorted(umwi_api.queries.__all__) == [
        "GoldReader",
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
        "PageRequest",
        "ReaderDep",
        "correlation_filters",
        "get_reader",
        "hourly_filters",
        "impact_filters",
        "paging",
    ]
    assert sorted(umwi_api.routes.__all__) == ["freshness", "health", "kpi", "lines"]
