"""`replay_bronze`: every landed payload re-stages to the records of its first ingestion."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from umwi_connectors import (
    generate_sample,
    land,
    read_departures_file,
    read_trip_updates,
    replay_bronze,
)
from umwi_core import Lake, Settings, SourceError
from umwi_core.arrow import StagedBatch

EDGE = Path(__file__).parents[2] / "fixtures" / "gtfs" / "edge-cases"
#: Columns that legitimately differ between the first ingestion and a replay.
RUN_COLUMNS = ["ingested_at", "run_id"]


def _batches(result: StagedBatch | Iterable[StagedBatch]) -> list[StagedBatch]:
    return [result] if isinstance(result, StagedBatch) else list(result)


def _same(first: list[StagedBatch], again: list[StagedBatch]) -> None:
    assert [b.table for b in first] == [b.table for b in again]
    for one, other in zip(first, again, strict=True):
        assert one.inputs == other.inputs
        left: pa.Table = one.records.drop_columns(RUN_COLUMNS)
        assert left.equals(other.records.drop_columns(RUN_COLUMNS))


def _payload_keys(lake: Lake, prefix: str) -> list[str]:
    return sorted(k for k in lake.list(prefix) if not k.endswith(".meta.json"))


def test_gtfs_rt_snapshot_replays_against_its_landed_static_feed(
    settings: Settings, lake: Lake
) -> None:
    first = list(
        read_trip_updates(
            settings,
            lake,
            "run-1",
            static=EDGE / "static_gtfs",
            trip_updates=[str(EDGE / "trip_updates.pb")],
            network="waw",
        )
    )
    (static_key,) = _payload_keys(lake, "bronze/gtfs_rt/static/")
    assert _batches(replay_bronze(lake, static_key, run_id="run-2")) == []
    (snapshot,) = _payload_keys(lake, "bronze/gtfs_rt/trip_updates/")
    again = _batches(replay_bronze(lake, snapshot, run_id="run-2"))
    _same(first, again)
    assert set(again[0].records["run_id"].to_pylist()) == {"run-2"}


@pytest.mark.parametrize("gzipped", [False, True])
def test_file_replays_with_its_options(tmp_path: Path, lake: Lake, gzipped: bool) -> None:
    text = (
        "line_id,stop_id,trip_id,scheduled_at,delay_s\n"
        "L1,S1,T1,2026-01-05 08:00:00,30\n"
        "L1,S2,T1,not-a-time,30\n"
    )
    path = tmp_path / ("deps.csv.gz" if gzipped else "deps.csv")
    path.write_bytes(gzip.compress(text.encode()) if gzipped else text.encode())
    first = list(
        read_departures_file(path, lake=lake, run_id="run-1", network="n", timezone="Europe/Paris")
    )
    (key,) = _payload_keys(lake, "bronze/file/")
    again = _batches(replay_bronze(lake, key, run_id="run-2"))
    _same(first, again)
    # The network and time zone of the first ingestion were kept in the metadata.
    row = again[0].records.to_pylist()[0]
    assert row["network"] == "n"
    assert row["scheduled_at"].hour == 7


def test_sample_replays(lake: Lake) -> None:
    first = list(generate_sample(lake=lake, run_id="run-1", start=date(2026, 1, 5), days=1))
    keys = _payload_keys(lake, "bronze/sample/")
    again = [b for key in keys for b in _batches(replay_bronze(lake, key, run_id="run-2"))]
    order = {b.table: b for b in again}
    _same(first, [order[b.table] for b in first])


def test_web_sources_dispatch_to_their_parser(lake: Lake) -> None:
    key = land(
        lake,
        source="open_meteo",
        dataset="unknown_endpoint",
        run_id="r",
        part="p",
        ext="json",
        payload=b"{}",
        meta={},
        day=date(2026, 1, 5),
    )
    with pytest.raises(SourceError, match="no parser for bronze open_meteo/unknown_endpoint"):
        replay_bronze(lake, key, run_id="r2")


def test_bad_keys_are_refused(lake: Lake) -> None:
    with pytest.raises(SourceError, match="not a bronze payload key"):
        replay_bronze(lake, "silver/departures/x.parquet", run_id="r")
    key = land(
        lake,
        source="mystery",
        dataset="things",
        run_id="r",
        part="p",
        ext="bin",
        payload=b"?",
        meta={},
        day=date(2026, 1, 5),
    )
    with pytest.raises(SourceError, match="no parser for bronze mystery/things"):
        replay_bronze(lake, key, run_id="r2")
