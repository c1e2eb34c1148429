"""`umwi ingest file`: CSV and Parquet departures and weather, whole-file refusals, row reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from umwi_connectors import read_departures_file, read_weather_file
from umwi_core import InputError, Lake


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _rows(batches: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for batch in batches:
        assert batch.source == "file"
        rows += batch.records.to_pylist()
    return rows


HEADER = "line_id,stop_id,trip_id,scheduled_at,delay_s,observed_at,cancelled\n"


def _csv(tmp_path: Path, text: str, name: str = "deps.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_departures_csv_all_rules(tmp_path: Path, lake: Lake) -> None:
    path = _csv(
        tmp_path,
        HEADER
        + "L1,S1,T1,2026-03-29T01:30:00+01:00,60,,\n"  # offset given, delay only
        # Naive, read in Berlin: UTC+2 after the 02:00 spring change.
        + "L1,S2,T1,2026-03-29 03:10:00,,2026-03-29T01:12:00Z,\n"
        + "L1,S3,T1,2026-03-29T01:20:00Z,,,\n"  # both null, cancelled absent → cancelled
        + "L1,S4,T1,2026-03-29T01:25:00Z,,,false\n"  # both null, cancelled false → transform
        + "L1,S5,T1,yesterday,12,,\n"  # unparseable time
        + "L1,S6,T1,2026-03-29T01:40:00Z,12.5,,\n"  # non-integer delay
        + "L1,S7,T1,2026-03-29T01:40:00Z,,,maybe\n",  # bad bool
    )
    rows = _rows(
        read_departures_file(
            path, lake=lake, run_id="run-f", network="berlin", timezone="Europe/Berlin"
        )
    )
    assert len(rows) == 7
    assert [r["scheduled_at"] for r in rows[:4]] == [
        _utc(2026, 3, 29, 0, 30),
        _utc(2026, 3, 29, 1, 10),
        _utc(2026, 3, 29, 1, 20),
        _utc(2026, 3, 29, 1, 25),
    ]
    assert (rows[0]["delay_s"], rows[0]["observed_at"], rows[0]["cancelled"]) == (60, None, False)
    assert (rows[1]["observed_at"], rows[1]["cancelled"]) == (_utc(2026, 3, 29, 1, 12), False)
    assert rows[2]["cancelled"] is True
    assert rows[3]["cancelled"] is False
    assert [r["_reason"] for r in rows[:4]] == [None] * 4
    assert rows[4]["_reason"] == "scheduled_at: 'yesterday' is not an ISO 8601 time"
    assert rows[5]["_reason"] == "delay_s: '12.5' is not an integer"
    assert rows[6]["_reason"] == "cancelled: 'maybe' is not true or false"
    first = rows[0]
    assert (first["network"], first["source"], first["run_id"]) == ("berlin", "file", "run-f")
    assert first["as_of"] == first["ingested_at"]
    assert [r["_seq"] for r in rows] == list(range(7))
    assert json.loads(first["_raw"])["scheduled_at"] == "2026-03-29T01:30:00+01:00"
    (key,) = {r["_input"] for r in rows}
    assert key.startswith("bronze/file/departures/date=")
    assert key.endswith("/run-f/deps.csv")
    assert lake.read_bytes(key) == path.read_bytes()


def test_naive_time_without_timezone_is_a_row_reason(tmp_path: Path, lake: Lake) -> None:
    path = _csv(tmp_path, HEADER + "L1,S1,T1,2026-01-05 08:00:00,0,,\n")
    (row,) = _rows(read_departures_file(path, lake=lake, run_id="r", network="n"))
    assert row["_reason"] == (
        "scheduled_at: 2026-01-05 08:00:00 has no UTC offset and no --timezone was given"
    )


@pytest.mark.parametrize(
    ("header", "network", "message"),
    [
        ("line_id,stop_id,scheduled_at,delay_s\n", "n", "no 'trip_id' column"),
        ("line_id,stop_id,trip_id,scheduled_at,delay_s\n", None, "no 'network' column"),
        ("line_id,stop_id,trip_id,scheduled_at\n", "n", "neither 'delay_s' nor 'observed_at'"),
        ("line_id,stop_id,trip_id,scheduled_at,delay\n", "n", "column 'delay' is not a"),
    ],
)
def test_missing_column_refuses_the_file_and_writes_nothing(
    tmp_path: Path, lake: Lake, header: str, network: str | None, message: str
) -> None:
    path = _csv(tmp_path, header + "x,y,z,2026-01-05T08:00:00Z,1\n")
    with pytest.raises(InputError, match=message):
        read_departures_file(path, lake=lake, run_id="r", network=network)
    assert list(lake.list("")) == []


def test_refusals_of_whole_inputs(tmp_path: Path, lake: Lake) -> None:
    with pytest.raises(InputError, match=r"not a \.csv"):
        read_departures_file(tmp_path / "x.json", lake=lake, run_id="r", network="n")
    with pytest.raises(InputError, match="no such file"):
        read_departures_file(tmp_path / "missing.csv", lake=lake, run_id="r", network="n")
    path = _csv(tmp_path, HEADER)
    with pytest.raises(InputError, match="'Mars/Base' is not a time zone"):
        read_departures_file(path, lake=lake, run_id="r", network="n", timezone="Mars/Base")
    assert list(lake.list("")) == []


def test_network_column_and_lineage_columns_kept_when_given(tmp_path: Path, lake: Lake) -> None:
    path = _csv(
        tmp_path,
        "network,line_id,stop_id,trip_id,scheduled_at,delay_s,as_of,source\n"
        "paris,L1,S1,T1,2026-01-05T08:00:00Z,30,2026-01-05T08:05:00Z,\n"
        ",L1,S1,T2,2026-01-05T08:00:00Z,30,,\n",
    )
    rows = _rows(read_departures_file(path, lake=lake, run_id="r", network="fallback"))
    assert [r["network"] for r in rows] == ["paris", "fallback"]
    assert rows[0]["as_of"] == _utc(2026, 1, 5, 8, 5)
    assert rows[1]["as_of"] == rows[1]["ingested_at"]
    assert [r["source"] for r in rows] == ["file", "file"]


def test_duplicate_records_are_all_staged_in_order(tmp_path: Path, lake: Lake) -> None:
    line = "L1,S1,T1,2026-01-05T08:00:00Z,{},,\n"
    path = _csv(tmp_path, HEADER + line.format(10) + line.format(20))
    rows = _rows(read_departures_file(path, lake=lake, run_id="r", network="n"))
    # Same key, same as_of: transform keeps the later (_seq 1, delay 20).
    assert [(r["delay_s"], r["_seq"]) for r in rows] == [(10, 0), (20, 1)]


def test_malformed_csv_row_is_quarantined(tmp_path: Path, lake: Lake) -> None:
    path = _csv(tmp_path, HEADER + "L1,S1,T1,2026-01-05T08:00:00Z,5,,\nL1,S2,T1\n")
    rows = _rows(read_departures_file(path, lake=lake, run_id="r", network="n"))
    assert len(rows) == 2
    assert rows[0]["_reason"] is None
    assert rows[1]["_reason"] == "CSV row 3: 3 fields, expected 7"
    assert json.loads(rows[1]["_raw"]) == {"csv_line": "L1,S2,T1"}


def test_parquet_departures_native_types_and_chunks(tmp_path: Path, lake: Lake) -> None:
    n = 150_000
    table = pa.table(
        {
            "line_id": pa.array(["L"] * n),
            "stop_id": pa.array([f"S{i % 7}" for i in range(n)]),
            "trip_id": pa.array([f"T{i}" for i in range(n)]),
            "scheduled_at": pa.array(
                [datetime(2026, 1, 5, 8) for _ in range(n)], pa.timestamp("us", tz="UTC")
            ),
            "delay_s": pa.array([i % 300 for i in range(n)], pa.int64()),
        }
    )
    path = tmp_path / "deps.parquet"
    pq.write_table(table, path, row_group_size=50_000)
    batches = list(read_departures_file(path, lake=lake, run_id="r", network="n"))
    assert len(batches) >= 3  # streamed, not read whole
    records = pa.concat_tables([b.records for b in batches])
    assert records.num_rows == n
    assert records["_reason"].null_count == n
    assert records["delay_s"].to_pylist()[:3] == [0, 1, 2]
    assert records["_seq"].to_pylist() == list(range(n))
    assert json.loads(records["_raw"][1].as_py()) == {
        "line_id": "L",
        "stop_id": "S1",
        "trip_id": "T1",
        "scheduled_at": "2026-01-05 08:00:00.000000Z",
        "delay_s": "1",
    }


def test_parquet_naive_timestamps_use_the_timezone(tmp_path: Path, lake: Lake) -> None:
    path = tmp_path / "w.parquet"
    pq.write_table(
        pa.table(
            {
                "location_id": ["a", "a", "b"],
                "latitude": [48.1, 48.1, 95.0],
                "longitude": [11.5, 11.5, 11.5],
                "hour": pa.array(
                    [datetime(2026, 10, 25, 2), datetime(2026, 10, 25, 3), datetime(2026, 1, 1)],
                    pa.timestamp("us"),
                ),
                "precipitation_mm": [0.5, None, 1.0],
                "weather_code": ["61", "x", "3"],
            }
        ),
        path,
    )
    rows = _rows(read_weather_file(path, lake=lake, run_id="r", timezone="Europe/Berlin"))
    # 02:00 on the autumn change is ambiguous: the first occurrence (CEST, UTC+2) is taken.
    assert [r["hour"] for r in rows[:2]] == [_utc(2026, 10, 25, 0), _utc(2026, 10, 25, 2)]
    assert rows[0]["weather_code"] == 61
    assert rows[1]["_reason"] == "weather_code: 'x' is not an integer"
    # Physical limits are the transform's job: latitude 95 is staged as read.
    assert rows[2]["latitude"] == 95.0
    assert rows[2]["_reason"] is None
    assert {r["source"] for r in rows} == {"file"}


def test_weather_file_lacking_hour_is_refused(tmp_path: Path, lake: Lake) -> None:
    path = _csv(tmp_path, "location_id,latitude,longitude\na,1,2\n", "w.csv")
    with pytest.raises(InputError, match=r"w\.csv: the weather_hourly file has no 'hour' column"):
        read_weather_file(path, lake=lake, run_id="r")
    assert list(lake.list("")) == []


def test_gzipped_csv(tmp_path: Path, lake: Lake) -> None:
    import gzip

    path = tmp_path / "deps.csv.gz"
    path.write_bytes(gzip.compress((HEADER + "L1,S1,T1,2026-01-05T08:00:00Z,5,,\n").encode()))
    (row,) = _rows(read_departures_file(path, lake=lake, run_id="r", network="n"))
    assert row["delay_s"] == 5
    assert row["_input"].endswith("/deps.csv.gz")


def test_raw_json_keeps_quotes_newlines_and_nulls(tmp_path: Path, lake: Lake) -> None:
    path = _csv(
        tmp_path,
        "line_id,stop_id,stop_name,trip_id,scheduled_at,delay_s\n"
        'L1,S1,"Gare ""Nord""\nsortie \\ 2",T1,2026-01-05T08:00:00Z,\n',
    )
    (row,) = _rows(read_departures_file(path, lake=lake, run_id="r", network="n"))
    assert json.loads(row["_raw"]) == {
        "line_id": "L1",
        "stop_id": "S1",
        "stop_name": 'Gare "Nord"\nsortie \\ 2',
        "trip_id": "T1",
        "scheduled_at": "2026-01-05T08:00:00Z",
        "delay_s": None,
    }
    assert row["stop_name"] == 'Gare "Nord"\nsortie \\ 2'


def test_csv_is_streamed_in_chunks(
    tmp_path: Path, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from umwi_connectors import _files

    monkeypatch.setattr(_files, "_CHUNK_BYTES", 4096)
    lines = "".join(f"L1,S{i},T{i},2026-01-05T08:00:00Z,{i % 90},,\n" for i in range(2000))
    path = _csv(tmp_path, HEADER + lines + "L1,S,T,bad\n")
    batches = list(read_departures_file(path, lake=lake, run_id="r", network="n"))
    assert len(batches) > 10  # bounded by the block size, not the file
    rows = _rows(batches)
    assert len(rows) == 2001
    assert [r["_seq"] for r in rows] == list(range(2001))
    assert [r["delay_s"] for r in rows[:3]] == [0, 1, 2]
    # A ragged row is staged with the chunk being read when the parser met it (it reads
    # ahead); its reason names its line.
    reasons = [r["_reason"] for r in rows if r["_reason"] is not None]
    assert reasons == ["CSV row 2002: 4 fields, expected 7"]
