"""The package's public surface is exactly what other parts rely on."""

from __future__ import annotations

import umwi_transform


def test_all_is_pinned() -> None:
    assert sorted(umwi_transform.__all__) == [
        "GOLD_SCHEMAS",
        "GoldCandidate",
        "SilverLoader",
        "build_gold",
        "commit_batch",
        "correlation_table",
        "finish_correlation",
        "gold_expressions",
        "ingest_batches",
        "maintain",
        "open_delta",
        "open_read_only_catalog",
        "publish_gold",
        "read_gold",
        "read_quarantine",
        "read_silver",
        "read_state",
        "record_hash",
        "register_lake_views",
    ]
    for name in umwi_transform.__all__:
        assert getattr(umwi_transform, name) is not None


def test_gold_schemas_follow_the_contract() -> None:
    from umwi_core.contracts import GOLD_COLUMNS

    for table, columns in GOLD_COLUMNS.items():
        assert tuple(umwi_transform.GOLD_SCHEMAS[table].names) == columns
