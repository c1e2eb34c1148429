"""The query layer shared by the API and `umwi kpi`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from umwi_api._models import ROW_MODELS
from umwi_api.queries import (
    TABLE_FILTERS,
    GoldReader,
    KpiFilters,
    NotPublishedError,
    QueryError,
    parse_time,
)
from umwi_core.cache import MemoryCache
from umwi_core.contracts import GOLD_COLUMNS
from umwi_core.lake import Lake
from umwi_core.publication import Publication
from umwi_core.resources import build_resources
from umwi_core.settings import Settings

from tests.api.gold_sample import write_sample_gold


def test_row_models_follow_the_gold_contract() -> None:
    assert set(ROW_MODELS) == set(GOLD_COLUMNS)
    for table, model in ROW_MODELS.items():
        assert list(model.model_fields) == list(GOLD_COLUMNS[table])
    assert set(TABLE_FILTERS) == set(GOLD_COLUMNS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-03-01T12:30:00+02:00", datetime(2024, 3, 1, 10, 30, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, "start") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-03-01T10:00:00", "has no UTC offset"),
        ("soon", "is not a date"),
        ("2024-02-30", "is not a date"),
    ],
)
def test_parse_time_names_the_parameter(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=f"^end: .*{message}") as caught:
        parse_time(text, "end")
    assert caught.value.parameter == "end"


@pytest.mark.parametrize(
    ("table", "filters", "parameter"),
    [
        ("weather_impact", KpiFilters(lag_h=1), "lag_h"),
        ("correlation", KpiFilters(start=datetime(2024, 1, 1, tzinfo=UTC)), "start"),
        ("correlation", KpiFilters(lag_h=7), "lag_h"),
        ("correlation", KpiFilters(variable="humidity"), "variable"),
        ("correlation", KpiFilters(y_kind="x"), "y_kind"),
        ("weather_impact", KpiFilters(period="March"), "period"),
        ("weather_impact", KpiFilters(network="x" * 201), "network"),
        ("punctuality_hourly", KpiFilters(start=datetime(2024, 1, 1)), "start"),
        (
            "punctuality_hourly",
            KpiFilters(
                start=datetime(2024, 1, 2, tzinfo=UTC), end=datetime(2024, 1, 2, tzinfo=UTC)
            ),
            "end",
        ),
    ],
)
def test_filter_check(table: str, filters: KpiFilters, parameter: str) -> None:
    with pytest.raises(QueryError) as caught:
        filters.check(table)
    assert caught.value.parameter == parameter


def test_not_published(settings: Settings) -> None:
    with pytest.raises(NotPublishedError, match="no gold has been published yet"):
        GoldReader(build_resources(settings)).page("weather-impact", KpiFilters())


def test_page_bounds(settings: Settings, gold: Publication) -> None:
    reader = GoldReader(build_resources(settings))
    with pytest.raises(QueryError, match=r"^limit:"):
        reader.page("weather-impact", KpiFilters(), limit=settings.api_max_limit + 1)
    with pytest.raises(QueryError, match=r"^offset:"):
        reader.page("weather-impact", KpiFilters(), offset=-1)
    with pytest.raises(QueryError, match=r"^kpi: unknown table 'weather'"):
        reader.page("weather", KpiFilters())


def test_gold_table_names_are_accepted_too(settings: Settings, gold: Publication) -> None:
    reader = GoldReader(build_resources(settings))
    by_name = reader.page("mobility_weather_hourly", KpiFilters(line_id="L1"), limit=5)
    by_kpi = reader.page("hourly", KpiFilters(line_id="L1"), limit=5)
    assert by_name.body == by_kpi.body
    assert by_name.total == 2 * 24 * 14


def test_filter_values_are_parameters_not_sql(settings: Settings, gold: Publication) -> None:
    reader = GoldReader(build_resources(settings))
    hostile = KpiFilters(network="x' OR '1'='1", line_id="*")
    assert reader.page("weather-impact", hostile).rows == []


def test_cache_is_keyed_by_publication(settings: Settings, lake: Lake) -> None:
    write_sample_gold(lake)
    cache = MemoryCache(ttl_s=300)
    reader = GoldReader(build_resources(settings), cache=cache)
    filters = KpiFilters(line_id="*", period="all")
    first = reader.page("weather-impact", filters)
    lake.delete(reader.publication().tables["weather_impact"].serving)
    # Served from the cache: the deleted file is not read again for the same publication.
    assert reader.page("weather-impact", filters).body == first.body
    write_sample_gold(lake, publication_id="pub-20240409T000000Z-again", seed=3)
    second = reader.page("weather-impact", filters)
    assert second.publication_id == "pub-20240409T000000Z-again"
    assert second.body != first.body


def test_memory_cache_expires_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("umwi_core.cache.time.monotonic", lambda: clock[0])
    cache = MemoryCache(ttl_s=10, max_entries=2)
    cache.put("a", b"[]", 0)
    cache.put("b", b"[1]", 1)
    cache.put("c", b"[2]", 1)
    assert cache.get("a") is None  # evicted, least recently used
    assert cache.get("b") == (b"[1]", 1)
    clock[0] += 11
    assert cache.get("b") is None
    disabled = MemoryCache(ttl_s=0)
    disabled.put("a", b"[]", 0)
    assert disabled.get("a") is None


def test_freshness_reports_gate_status_from_passed_flag(settings: Settings, lake: Lake) -> None:
    publication = write_sample_gold(lake)
    reader = GoldReader(build_resources(settings))
    now = datetime(2024, 4, 8, 1, tzinfo=UTC)
    body = reader.freshness(now)
    assert body["tables"]["weather_impact"]["age_s"] == 3600
    assert body["gate_status"] == "passed"
    from umwi_core.publication import write_publication

    changed = publication.model_copy(update={"gate": {"passed": False}})
    token = lake.read_versioned("gold/_published.json")
    assert token is not None
    write_publication(lake, changed, token[1])
    assert reader.freshness(now)["gate_status"] == "failed"
