from __future__ import annotations

from datetime import UTC, datetime

import pytest
from umwi_core.errors import ConflictError
from umwi_core.lake import Lake
from umwi_core.naming import resource_names
from umwi_core.publication import (
    Publication,
    PublishedTable,
    read_publication,
    serving_key,
    write_publication,
)
from umwi_core.runs import RunManifest, TableCounts, new_run_id, read_manifest, write_manifest


def test_resource_names_are_prefixed_and_bucket_safe() -> None:
    names = resource_names("prod", "123456789012")
    assert names.lake_bucket == "umwi-prod-lake-123456789012"
    assert names.ledger_table == "umwi-prod-ledger"
    assert names.lake_uri() == "s3://umwi-prod-lake-123456789012/lake"
    assert all(len(b) <= 63 for b in (names.lake_bucket, names.dashboard_bucket))
    with pytest.raises(ValueError, match="environment name"):
        resource_names("Prod!", "1")


def test_run_ids_sort_by_time_and_are_unique() -> None:
    early = new_run_id(datetime(2026, 1, 1, tzinfo=UTC))
    late = new_run_id(datetime(2026, 1, 2, tzinfo=UTC))
    assert early.startswith("20260101T000000Z-")
    assert early < late
    assert new_run_id() != new_run_id()


def test_counts_balance() -> None:
    assert TableCounts(read=5, inserted=2, replaced=1, unchanged=1, quarantined=1).balanced
    assert not TableCounts(read=5, inserted=2).balanced


def test_manifest_round_trip(lake: Lake) -> None:
    manifest = RunManifest(run_id="r1", kind="ingest", started_at=datetime.now(UTC))
    manifest.counts["departures"] = TableCounts(read=1, inserted=1)
    key = write_manifest(lake, manifest)
    assert key == "runs/r1.json"
    assert read_manifest(lake, "r1") == manifest


def _publication(pid: str) -> Publication:
    now = datetime.now(UTC)
    return Publication(
        publication_id=pid,
        published_at=now,
        run_id="r",
        tables={
            "weather_impact": PublishedTable(
                version=1, serving=serving_key(pid, "weather_impact"), rows=3, updated_at=now
            )
        },
    )


def test_publication_pointer_is_conditional(lake: Lake) -> None:
    assert read_publication(lake) is None
    write_publication(lake, _publication("p1"), None)
    with pytest.raises(ConflictError):
        write_publication(lake, _publication("p-late"), None)
    found = read_publication(lake)
    assert found is not None
    _, token = found
    write_publication(lake, _publication("p2"), token)
    with pytest.raises(ConflictError):
        write_publication(lake, _publication("p3"), token)
    again = read_publication(lake)
    assert again is not None
    assert again[0].publication_id == "p2"
    assert serving_key("p2", "correlation") == "gold/_serving/p2/correlation.parquet"
