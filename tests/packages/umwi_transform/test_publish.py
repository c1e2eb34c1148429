"""Publication: serving copies first, then one conditional pointer swap."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq
import pytest
from umwi_core.errors import ConflictError, LakeError
from umwi_core.lake import Lake
from umwi_core.publication import GOLD_TABLES, read_publication
from umwi_core.settings import Settings
from umwi_transform import _publish, build_gold, commit_batch, publish_gold, read_gold

from tests.packages.umwi_transform.factory import (
    at,
    departure,
    departures_batch,
    weather,
    weather_batch,
)


def _built(lake: Lake, settings: Settings, delay: int = 10) -> dict[str, Any]:
    commit_batch(
        departures_batch([departure(delay=delay, as_of=at(hours=delay))]), lake, settings, "r"
    )
    commit_batch(weather_batch([weather()]), lake, settings, "r")
    return build_gold(lake, settings, "b")


def test_publish_writes_serving_copies_and_the_pointer(lake: Lake, settings: Settings) -> None:
    candidates = _built(lake, settings)
    publication = publish_gold(
        lake, candidates, run_id="b", gate={"status": "passed"}, quality_report="q/x.json"
    )
    stored, _ = read_publication(lake)  # type: ignore[misc]
    assert stored == publication
    assert stored.gate == {"status": "passed"}
    for table in GOLD_TABLES:
        entry = stored.tables[table]
        assert entry.version == candidates[table].version
        serving = pq.read_table(io.BytesIO(lake.read_bytes(entry.serving)))
        assert serving.num_rows == entry.rows == candidates[table].rows
        assert serving.sort_by([(c, "ascending") for c in serving.column_names]).equals(
            read_gold(lake, table, entry.version).sort_by(
                [(c, "ascending") for c in serving.column_names]
            )
        )


def test_unchanged_tables_keep_their_serving_copy(lake: Lake, settings: Settings) -> None:
    first = publish_gold(lake, _built(lake, settings), run_id="b1", gate={}, quality_report=None)
    second = publish_gold(
        lake, build_gold(lake, settings, "b2"), run_id="b2", gate={}, quality_report=None
    )
    assert second.publication_id != first.publication_id
    assert second.tables == first.tables


@pytest.mark.slow
def test_a_failed_copy_leaves_the_publication_unchanged(
    lake: Lake, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = publish_gold(lake, _built(lake, settings), run_id="b1", gate={}, quality_report=None)
    newer = _built(lake, settings, delay=99)
    calls = {"n": 0}

    def broken(table: Any) -> bytes:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return original(table)

    original = _publish._parquet
    monkeypatch.setattr(_publish, "_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        publish_gold(lake, newer, run_id="b2", gate={}, quality_report=None)
    stored, _ = read_publication(lake)  # type: ignore[misc]
    assert stored == first


def test_a_concurrent_publisher_wins(
    lake: Lake, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidates = _built(lake, settings)
    publish_gold(lake, candidates, run_id="b1", gate={}, quality_report=None)
    stale = read_publication(lake)
    winner = publish_gold(
        lake, _built(lake, settings, delay=50), run_id="b2", gate={}, quality_report=None
    )
    monkeypatch.setattr(_publish, "read_publication", lambda _lake: stale)
    with pytest.raises(ConflictError):
        publish_gold(lake, candidates, run_id="b3", gate={}, quality_report=None)
    stored, _ = read_publication(lake)  # type: ignore[misc]
    assert stored == winner


def test_every_table_needs_a_candidate(lake: Lake, settings: Settings) -> None:
    candidates = _built(lake, settings)
    del candidates["correlation"]
    with pytest.raises(LakeError, match="correlation"):
        publish_gold(lake, candidates, run_id="b", gate={}, quality_report=None)
    assert read_publication(lake) is None
