import umwi_api
import umwi_api.queries


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
