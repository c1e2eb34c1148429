"""aws mode on moto server: serving copies read from S3 through DuckDB's httpfs (loaded by
path, with the session credentials), results cached in DynamoDB with a TTL."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from umwi_api import create_app
from umwi_api._store import httpfs_extension_path
from umwi_api.queries import GoldReader, KpiFilters
from umwi_core.cache import TTL_ATTRIBUTE, DynamoCache
from umwi_core.resources import build_resources, make_lake
from umwi_core.settings import load_settings

from tests.api.gold_sample import write_sample_gold

pytestmark = pytest.mark.slow


@pytest.fixture
def aws(aws_resources: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    # Lambda hands out temporary credentials: the session token must reach DuckDB too.
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-from-lambda")
    return aws_resources


def test_httpfs_ships_for_this_duckdb() -> None:
    assert httpfs_extension_path().is_file()


def test_reads_serving_copies_from_s3_and_caches_in_dynamodb(aws: Any, tmp_path: Any) -> None:
    lake = make_lake(aws.settings)
    publication = write_sample_gold(lake)
    filters = KpiFilters(line_id="*", period="all")

    page = GoldReader(build_resources(aws.settings)).page("weather-impact", filters)
    local = load_settings(state_dir=str(tmp_path / "local"))
    write_sample_gold(make_lake(local))
    assert page.rows == GoldReader(build_resources(local)).page("weather-impact", filters).rows
    assert page.total == len(page.rows) > 0

    dynamodb = aws.client("dynamodb")
    items = dynamodb.scan(TableName=aws.settings.cache_table)["Items"]
    assert len(items) == 1
    item = items[0]
    assert item["pk"]["S"].startswith(publication.publication_id + "#")
    expires = int(item[TTL_ATTRIBUTE]["N"])
    assert time.time() < expires <= time.time() + aws.settings.api_cache_ttl_s + 1

    # A new process (fresh DuckDB) answers from DynamoDB without reading S3 again.
    lake.delete(publication.tables["weather_impact"].serving)
    again = GoldReader(build_resources(aws.settings)).page("weather-impact", filters)
    assert again.body == page.body

    # A republish is a new key: the cached answer of the old publication is not served.
    write_sample_gold(lake, publication_id="pub-20240409T000000Z-aws", seed=5)
    fresh = GoldReader(build_resources(aws.settings), pointer_ttl_s=0).page(
        "weather-impact", filters
    )
    assert fresh.publication_id == "pub-20240409T000000Z-aws"
    assert fresh.body != page.body


def test_expired_cache_items_are_ignored(aws: Any) -> None:
    cache = DynamoCache(aws.settings, str(aws.settings.cache_table))
    cache.put("pub-x#k", b"[1]", 1)
    assert cache.get("pub-x#k") == (b"[1]", 1)
    aws.client("dynamodb").update_item(
        TableName=aws.settings.cache_table,
        Key={"pk": {"S": "pub-x#k"}},
        UpdateExpression="SET #t = :past",
        ExpressionAttributeNames={"#t": TTL_ATTRIBUTE},
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    assert cache.get("pub-x#k") is None


def test_unreachable_cache_does_not_fail_requests(aws: Any) -> None:
    write_sample_gold(make_lake(aws.settings))
    broken = load_settings(cache_table="no-such-table")
    with TestClient(create_app(build_resources(broken))) as client:
        response = client.get("/kpi/correlation", params={"variable": "rain_mm", "lag_h": 1})
        assert response.status_code == 200
        assert len(response.json()) == int(response.headers["X-Total-Count"]) > 0


def test_api_over_s3(aws: Any) -> None:
    publication = write_sample_gold(make_lake(aws.settings))
    with TestClient(create_app(build_resources(aws.settings))) as client:
        response = client.get("/kpi/hourly", params={"start": "2024-04-01", "end": "2024-04-02"})
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == str(3 * 2 * 24)  # L1, L2, * × 2 locations
        assert response.headers["ETag"] == f'"{publication.publication_id}"'
        assert client.get("/freshness").json()["publication_id"] == publication.publication_id


def test_unreadable_gold_on_s3_names_no_bucket(aws: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Mutation: make `_errors._unreadable` answer `f"{UNREADABLE}: {exc}"` → the bucket and
    key reach the client, red."""
    lake = make_lake(aws.settings)
    publication = write_sample_gold(lake)
    key = publication.tables["punctuality_hourly"].serving
    lake.delete(key)
    bucket = aws.settings.resolved_lake_uri.removeprefix("s3://").split("/")[0]
    with (
        TestClient(create_app(build_resources(aws.settings))) as client,
        caplog.at_level(logging.ERROR, logger="umwi.api"),
    ):
        response = client.get("/kpi/punctuality")
    assert response.status_code == 503
    request_id = response.headers["X-Request-Id"]
    assert response.json()["error"].endswith(f"(request id {request_id})")
    for inside in (bucket, key, "s3://", "HTTP", "duckdb", "DuckDB"):
        assert inside not in response.text, inside
    (record,) = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert bucket in record.getMessage()
