"""GTFS-Realtime TripUpdates joined to the static feed: edge cases, DST, real Auckland data."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from google.transit import gtfs_realtime_pb2
from umwi_connectors import GtfsStatic, read_trip_updates, stage_trip_updates
from umwi_connectors._gtfs_rt import parse_feed
from umwi_core import InputError, Lake, Settings, SourceError
from umwi_core.arrow import StagedBatch

FIXTURES = Path(__file__).parents[2] / "fixtures" / "gtfs"
EDGE = FIXTURES / "edge-cases"
AUCKLAND = FIXTURES / "auckland"


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _rows(batch_records: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = batch_records.to_pylist()
    return rows


@pytest.fixture(scope="module")
def edge_static() -> GtfsStatic:
    return GtfsStatic.load(EDGE / "static_gtfs")


def _stage(payload: bytes, static: GtfsStatic, network: str | None = "waw") -> list[dict[str, Any]]:
    batch = stage_trip_updates(payload, static, network=network, run_id="r1", input_key="in.pb")
    assert batch.table == "departures"
    assert batch.source == "gtfs_rt"
    return _rows(batch.records)


def test_edge_cases_every_case(edge_static: GtfsStatic) -> None:
    rows = _stage((EDGE / "trip_updates.pb").read_bytes(), edge_static)
    by = {(r["trip_id"], r["stop_id"]): r for r in rows}
    assert len(rows) == 7
    as_of = _utc(2026, 10, 12, 6, 6)  # header 1791785160
    assert {r["as_of"] for r in rows} == {as_of}
    # Delay only, on the departure: 08:00 Warsaw (UTC+2 in October) = 06:00 UTC.
    s1 = by[("T15-1", "S1")]
    assert (s1["scheduled_at"], s1["delay_s"], s1["observed_at"]) == (
        _utc(2026, 10, 12, 6),
        60,
        None,
    )
    assert (s1["line_id"], s1["line_name"], s1["mode"], s1["stop_name"]) == (
        "15",
        "15",
        "tram",
        "Centrum",
    )
    assert (s1["stop_lat"], s1["stop_lon"], s1["network"], s1["cancelled"]) == (
        52.2311,
        21.0108,
        "waw",
        False,
    )
    # Time only, arrival only: scheduled departure 08:05:30, arrival 08:05:00, arrival time
    # 06:07:30 UTC → 150 s late, observed departure 06:08:00.
    s2 = by[("T15-1", "S2")]
    assert (s2["scheduled_at"], s2["observed_at"], s2["delay_s"]) == (
        _utc(2026, 10, 12, 6, 5, 30),
        _utc(2026, 10, 12, 6, 8),
        None,
    )
    # Both delay and time (consistent): 08:10 + 120 s.
    s3 = by[("T15-1", "S3")]
    assert (s3["observed_at"], s3["delay_s"]) == (_utc(2026, 10, 12, 6, 12), 120)
    # Trip-level delay without stops: not propagated, quarantined with the reason.
    trip_level = by[("T175-1", None)]
    assert "trip-level delay" in trip_level["_reason"]
    # Times past 24:00: 24:10 on 2026-10-12 is 00:10 on the 13th in Warsaw = 22:10 UTC.
    night = by[("T15-NIGHT", "S1")]
    assert (night["scheduled_at"], night["observed_at"]) == (
        _utc(2026, 10, 12, 22, 10),
        _utc(2026, 10, 12, 22, 12),
    )
    # SKIPPED stop: cancelled, at its scheduled arrival (24:15, no departure time).
    skipped = by[("T15-NIGHT", "S2")]
    assert (skipped["cancelled"], skipped["scheduled_at"], skipped["delay_s"]) == (
        True,
        _utc(2026, 10, 12, 22, 15),
        None,
    )
    # Unknown trip: quarantined with the reason.
    unknown = by[("UNKNOWN", None)]
    assert unknown["_reason"] == "unknown trip 'UNKNOWN' (not in the static GTFS feed)"
    good = [r for r in rows if r["_reason"] is None]
    assert len(good) == 5
    assert [r["_seq"] for r in rows] == list(range(7))
    assert all(json.loads(r["_raw"])["trip"] for r in rows)


def _feed(timestamp: int, *entities: gtfs_realtime_pb2.FeedEntity) -> bytes:
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.timestamp = timestamp
    for entity in entities:
        feed.entity.append(entity)
    payload: bytes = feed.SerializeToString()
    return payload


def _entity(
    trip_id: str,
    *,
    start_date: str = "",
    relationship: int = 0,
    stops: tuple[tuple[int, str, int | None, int | None, str], ...] = (),
) -> gtfs_realtime_pb2.FeedEntity:
    """stops: (stop_sequence, stop_id, departure delay, departure time, 'dep'|'arr'|'skip')."""
    entity = gtfs_realtime_pb2.FeedEntity(id=f"e-{trip_id}")
    trip = entity.trip_update.trip
    trip.trip_id = trip_id
    if start_date:
        trip.start_date = start_date
    trip.schedule_relationship = relationship  # type: ignore[assignment]
    for sequence, stop_id, delay, at, kind in stops:
        stu = entity.trip_update.stop_time_update.add()
        stu.stop_sequence = sequence
        stu.stop_id = stop_id
        if kind == "skip":
            stu.schedule_relationship = stu.SKIPPED
            continue
        event = stu.departure if kind == "dep" else stu.arrival
        if delay is not None:
            event.delay = delay
        if at is not None:
            event.time = at
    return entity


def _ts(value: datetime) -> int:
    return int(value.timestamp())


def test_dst_day_scheduled_times(edge_static: GtfsStatic) -> None:
    # 2026-03-29: Warsaw springs forward at 02:00. Noon minus 12 h is 23:00 UTC on the 28th
    # (UTC+1 at noon → 11:00 UTC), so 08:00 → 06:00 UTC and 24:10 → 22:10 UTC.
    feed_at = _utc(2026, 3, 29, 6, 30)
    payload = _feed(
        _ts(feed_at),
        _entity("T15-1", start_date="20260329", stops=((1, "S1", 30, None, "dep"),)),
        _entity("T15-NIGHT", start_date="20260329", stops=((1, "S1", -20, None, "dep"),)),
    )
    rows = _stage(payload, edge_static)
    assert [r["scheduled_at"] for r in rows] == [_utc(2026, 3, 29, 6), _utc(2026, 3, 29, 22, 10)]
    assert [r["delay_s"] for r in rows] == [30, -20]
    # On the autumn change (2026-10-25, back at 03:00) noon is UTC+1: 08:00 → 07:00 UTC.
    rows = _stage(
        _feed(
            _ts(_utc(2026, 10, 25, 7)),
            _entity("T15-1", start_date="20261025", stops=((1, "S1", 0, None, "dep"),)),
        ),
        edge_static,
    )
    assert rows[0]["scheduled_at"] == _utc(2026, 10, 25, 7)


def test_service_day_from_feed_time_considers_the_previous_day(edge_static: GtfsStatic) -> None:
    # 00:20 local on Oct 13 (22:20 UTC on the 12th): the night trip (24:10) belongs to the
    # service day of the 12th, whose schedule is 10 min away, not to the 13th (24 h away).
    rows = _stage(
        _feed(
            _ts(_utc(2026, 10, 12, 22, 20)),
            _entity("T15-NIGHT", stops=((1, "S1", 60, None, "dep"),)),
            _entity("T15-1", stops=((1, "S1", 0, None, "dep"),)),
        ),
        edge_static,
    )
    assert rows[0]["scheduled_at"] == _utc(2026, 10, 12, 22, 10)
    # 08:00 on the 13th is nearer (7 h 40 min ahead) than 08:00 on the 12th (16 h 20 min ago).
    assert rows[1]["scheduled_at"] == _utc(2026, 10, 13, 6)


def test_cancelled_trip_marks_every_stop(edge_static: GtfsStatic) -> None:
    for relationship in (
        gtfs_realtime_pb2.TripDescriptor.CANCELED,
        gtfs_realtime_pb2.TripDescriptor.DELETED,
    ):
        rows = _stage(
            _feed(
                _ts(_utc(2026, 10, 12, 5)),
                _entity("T15-1", start_date="20261012", relationship=relationship),
            ),
            edge_static,
        )
        assert [(r["stop_id"], r["cancelled"], r["_reason"]) for r in rows] == [
            ("S1", True, None),
            ("S2", True, None),
            ("S3", True, None),
        ]
        assert [r["scheduled_at"] for r in rows] == [
            _utc(2026, 10, 12, 6),
            _utc(2026, 10, 12, 6, 5, 30),
            _utc(2026, 10, 12, 6, 10),
        ]
        assert all(r["delay_s"] is None and r["observed_at"] is None for r in rows)


def test_unknown_stop_bad_start_date_and_untimed_stop(edge_static: GtfsStatic) -> None:
    rows = _stage(
        _feed(
            _ts(_utc(2026, 10, 12, 5)),
            _entity("T15-1", stops=((9, "S9", 10, None, "dep"), (2, "S3", 5, None, "dep"))),
            _entity("T15-1", start_date="2026-10-12", stops=((1, "S1", 10, None, "dep"),)),
            _entity("T175-1", stops=((2, "S3", 10, None, "dep"),)),
        ),
        edge_static,
    )
    reasons = [r["_reason"] for r in rows]
    codes = [r["_reason_code"] for r in rows]
    assert codes == ["unknown_stop", "unknown_stop", "bad_time", "no_schedule"]
    assert reasons[0] == "unknown stop: stop_sequence 9 (stop 'S9') is not in trip 'T15-1'"
    # Sequence 2 of T15-1 is S2, not S3: a mismatch is an unknown stop, not a guess.
    assert reasons[1] == "unknown stop: stop_sequence 2 (stop 'S3') is not in trip 'T15-1'"
    assert reasons[2] == "start_date '2026-10-12' is not YYYYMMDD"
    assert (
        reasons[3] == "stop 'S3' (sequence 2) of trip 'T175-1' has no scheduled time in stop_times"
    )


def test_no_propagation_to_unreported_stops(edge_static: GtfsStatic) -> None:
    rows = _stage(
        _feed(
            _ts(_utc(2026, 10, 12, 6)),
            _entity("T15-1", start_date="20261012", stops=((1, "S1", 240, None, "dep"),)),
        ),
        edge_static,
    )
    assert [(r["stop_id"], r["delay_s"]) for r in rows] == [("S1", 240)]


def test_duplicate_snapshots_keep_order_for_latest_wins(edge_static: GtfsStatic) -> None:
    entity = _entity("T15-1", start_date="20261012", stops=((1, "S1", 60, None, "dep"),))
    rows = _stage(_feed(_ts(_utc(2026, 10, 12, 6)), entity, entity), edge_static)
    # Both copies are staged with increasing _seq; transform keeps the later one.
    assert [(r["delay_s"], r["_seq"]) for r in rows] == [(60, 0), (60, 1)]


def test_network_defaults_to_agency_name(edge_static: GtfsStatic) -> None:
    rows = _stage((EDGE / "trip_updates.pb").read_bytes(), edge_static, network=None)
    assert {r["network"] for r in rows} == {"Warszawski Transport Publiczny"}


def test_bad_feeds_are_refused(edge_static: GtfsStatic) -> None:
    with pytest.raises(SourceError, match=r"x\.pb: not a GTFS-Realtime"):
        parse_feed(b"\xff\xff\xff garbage", "x.pb")
    with pytest.raises(SourceError, match="no timestamp"):
        _stage(_feed(0), edge_static)


def test_static_feed_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a zip file"):
        GtfsStatic.from_bytes(b"nope", "s.zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("agency.txt", "routes.txt", "trips.txt", "stops.txt"):
            archive.writestr(name, (EDGE / "static_gtfs" / name).read_bytes())
    with pytest.raises(InputError, match=r"s\.zip: the static GTFS feed has no stop_times\.txt"):
        GtfsStatic.from_bytes(buffer.getvalue(), "s.zip")
    folder = tmp_path / "feed"
    folder.mkdir()
    for path in (EDGE / "static_gtfs").iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "stop_times.txt").write_text(
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT,8:0:xx,,S1,1\n"
    )
    with pytest.raises(InputError, match=r"stop_times.txt line 2 arrival_time: '8:0:xx'"):
        GtfsStatic.load(folder)
    (folder / "agency.txt").write_text("agency_name,agency_timezone\nA,Mars/Base\n")
    with pytest.raises(InputError, match="agency_timezone 'Mars/Base'"):
        GtfsStatic.load(folder)


# --- real data: Auckland, 2016-05-19 -------------------------------------------------------


def _independent_auckland() -> list[tuple[str, str, datetime, int | None, int | None, bool]]:
    """Expected good rows, computed straight from the protobuf and CSV text.

    New Zealand is on NZST (UTC+12, no DST) in May, so the schedule of the 19th is
    midnight UTC+12 plus the GTFS seconds.
    """
    with zipfile.ZipFile(AUCKLAND / "gtfs.zip") as archive:
        trips = {
            r["trip_id"]
            for r in csv.DictReader(io.TextIOWrapper(archive.open("trips.txt"), "utf-8-sig"))
        }
        times = {}
        for r in csv.DictReader(io.TextIOWrapper(archive.open("stop_times.txt"), "utf-8-sig")):
            h, m, s = (int(x) for x in (r["departure_time"] or r["arrival_time"]).split(":"))
            times[(r["trip_id"], int(r["stop_sequence"]))] = (r["stop_id"], h * 3600 + m * 60 + s)
    midnight = datetime(2016, 5, 19, tzinfo=timezone(timedelta(hours=12)))
    expected = []
    for path in sorted((AUCKLAND / "realtime").glob("*.pb")):
        feed = gtfs_realtime_pb2.FeedMessage()
        feed.ParseFromString(path.read_bytes())
        for entity in feed.entity:
            update = entity.trip_update
            if update.trip.trip_id not in trips:
                continue
            (stu,) = update.stop_time_update
            stop_id, seconds = times[(update.trip.trip_id, stu.stop_sequence)]
            scheduled = (midnight + timedelta(seconds=seconds)).astimezone(UTC)
            has_departure = stu.HasField("departure")
            event = stu.departure if has_departure else stu.arrival
            expected.append(
                (
                    update.trip.trip_id,
                    stop_id,
                    scheduled,
                    event.delay if event.HasField("delay") else None,
                    int(event.time) if event.HasField("time") else None,
                    has_departure,
                )
            )
    return expected


def _auckland_batches(settings: Settings, lake: Lake) -> Iterator[StagedBatch]:
    """The Auckland snapshots and static feed, read as run `run-akl`."""
    return read_trip_updates(
        settings,
        lake,
        "run-akl",
        static=AUCKLAND / "gtfs.zip",
        trip_updates=sorted(str(p) for p in (AUCKLAND / "realtime").glob("*.pb")),
        network="auckland",
    )


def test_auckland_against_independent_computation(settings: Settings, lake: Lake) -> None:
    table = pa.concat_tables([batch.records for batch in _auckland_batches(settings, lake)])
    assert table.num_rows == 6501
    good = table.filter(pa.compute.is_null(table["_reason"]))
    bad = table.filter(pa.compute.is_valid(table["_reason"]))
    expected = _independent_auckland()
    assert good.num_rows == len(expected) == 164
    assert bad.num_rows == 6501 - 164
    assert all(r.startswith("unknown trip") for r in bad["_reason"].to_pylist())
    assert set(bad["_reason_code"].to_pylist()) == {"unknown_trip"}
    got = good.to_pylist()
    arrivals = 0
    for row, (trip_id, stop_id, scheduled, delay, at, has_departure) in zip(
        got, expected, strict=True
    ):
        assert (row["trip_id"], row["stop_id"], row["scheduled_at"]) == (
            trip_id,
            stop_id,
            scheduled,
        )
        assert row["delay_s"] == delay
        arrivals += not has_departure
        if at is not None and has_departure:
            assert row["observed_at"] == datetime.fromtimestamp(at, UTC)
        if row["observed_at"] is not None and delay is not None:
            # The feed's `time` and `delay` agree with our schedule, so silver keeps them.
            gap = (row["observed_at"] - row["scheduled_at"]).total_seconds()
            assert abs(gap - delay) <= 1
    assert arrivals > 0
    assert {r["network"] for r in got} == {"auckland"}
    assert sum(r["delay_s"] for r in got) == sum(e[3] for e in expected if e[3] is not None)
    # Each snapshot and the static feed landed in bronze before its records were staged.
    keys = list(lake.list("bronze/gtfs_rt/"))
    assert sum(k.endswith(".pb") for k in keys) == 10
    assert sum(k.endswith("static.zip") for k in keys) == 1


def test_auckland_quarantine_counts_by_code(settings: Settings, lake: Lake) -> None:
    """The issue's sample: one group per cause, not one per trip, in the run's counts.

    Mutation: stage the unknown trips with `_reason_code` "other" and the counts say so.
    """
    from umwi_transform import ingest_batches

    batches = _auckland_batches(settings, lake)
    manifest = ingest_batches(batches, lake, settings, "run-akl", source="gtfs_rt", parameters={})
    counts = manifest.counts["departures"]
    assert counts.quarantined_by_code == {"unknown_trip": counts.quarantined}
    assert counts.quarantined == 6337  # every update of a trip missing from the static feed


def test_real_2014_feed_parses_and_needs_a_static_feed(settings: Settings, lake: Lake) -> None:
    payload = gzip.decompress((FIXTURES / "trip-updates-2014-11-30.pb.gz").read_bytes())
    feed = parse_feed(payload, "trip-updates-2014-11-30.pb")
    updates = [e.trip_update for e in feed.entity if e.HasField("trip_update")]
    assert len(feed.entity) == 2847
    assert sum(len(u.stop_time_update) for u in updates) == 60074
    skipped = gtfs_realtime_pb2.TripUpdate.StopTimeUpdate.SKIPPED
    assert (
        sum(s.schedule_relationship == skipped for u in updates for s in u.stop_time_update) == 128
    )
    cancelled = gtfs_realtime_pb2.TripDescriptor.CANCELED
    assert sum(u.trip.schedule_relationship == cancelled for u in updates) == 3
    with pytest.raises(InputError, match="needs its static GTFS feed"):
        read_trip_updates(settings, lake, "r", static=None, trip_updates=["x.pb"])
    assert list(lake.list("bronze/")) == []


def test_corrupt_snapshot_lands_nothing(settings: Settings, lake: Lake, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pb"
    bad.write_bytes(b"\x0a\xff\xff")
    batches = read_trip_updates(
        settings, lake, "r2", static=EDGE / "static_gtfs", trip_updates=[bad]
    )
    with pytest.raises(SourceError, match=r"bad\.pb"):
        list(batches)
    assert not any(k.endswith(".pb") for k in lake.list("bronze/"))


def test_reads_from_url(settings: Settings, lake: Lake) -> None:
    import httpx

    payload = (EDGE / "trip_updates.pb").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/rt/trip-updates"
        return httpx.Response(200, content=payload)

    batches = list(
        read_trip_updates(
            settings,
            lake,
            "r3",
            static=EDGE / "static_gtfs",
            trip_updates=["http://127.0.0.1:1/rt/trip-updates"],
            transport=httpx.MockTransport(handler),
        )
    )
    assert batches[0].records.num_rows == 7
    (key,) = batches[0].inputs
    assert key.startswith("bronze/gtfs_rt/trip_updates/date=2026-10-12/r3/0000-trip-updates")
    assert lake.read_bytes(key) == payload
    assert date(2026, 10, 12).isoformat() in key


def test_calendar_rules_out_days_the_trip_does_not_run(
    edge_static: GtfsStatic, tmp_path: Path
) -> None:
    # Saturday 2026-10-17, 00:20 local: 08:00 on Saturday is nearest, but service WD runs
    # Monday to Friday, so the trip is Friday's (08:00 on the 16th = 06:00 UTC).
    payload = _feed(
        _ts(_utc(2026, 10, 16, 22, 20)), _entity("T15-1", stops=((1, "S1", 0, None, "dep"),))
    )
    assert _stage(payload, edge_static)[0]["scheduled_at"] == _utc(2026, 10, 16, 6)
    # calendar_dates adds that Saturday: now it is the nearest running day.
    folder = tmp_path / "feed"
    folder.mkdir()
    for path in (EDGE / "static_gtfs").iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "calendar_dates.txt").write_text("service_id,date,exception_type\nWD,20261017,1\n")
    with_exception = GtfsStatic.load(folder)
    assert with_exception.runs_on("T15-1", date(2026, 10, 17)) is True
    assert with_exception.runs_on("T15-1", date(2026, 10, 18)) is False
    assert _stage(payload, with_exception)[0]["scheduled_at"] == _utc(2026, 10, 17, 6)
    (folder / "calendar_dates.txt").write_text("service_id,date,exception_type\nWD,20261017,3\n")
    with pytest.raises(InputError, match=r"calendar_dates\.txt line 2: exception_type '3'"):
        GtfsStatic.load(folder)


@pytest.mark.parametrize(
    ("name", "kind"), [("vehicle_positions.pb", "vehicle"), ("alerts.pb", "alert")]
)
def test_other_feed_types_are_refused(edge_static: GtfsStatic, name: str, kind: str) -> None:
    with pytest.raises(SourceError, match=f"not a TripUpdates feed: .* {kind} updates"):
        _stage((EDGE / name).read_bytes(), edge_static)


def test_empty_feed_gives_no_rows(edge_static: GtfsStatic) -> None:
    assert _stage(_feed(_ts(_utc(2026, 10, 12, 6))), edge_static) == []


@pytest.mark.slow
def test_snapshots_converge_in_silver(settings: Settings, lake: Lake) -> None:
    """Two snapshots of one departure: silver keeps the later one's delay."""
    from umwi_transform import commit_batch

    static = EDGE / "static_gtfs"
    paths = []
    for minute, delay in ((0, 60), (2, 90)):
        path = Path(settings.state_dir) / f"snap-{minute}.pb"
        path.write_bytes(
            _feed(
                _ts(_utc(2026, 10, 12, 5, 50 + minute)),
                _entity("T15-1", start_date="20261012", stops=((1, "S1", delay, None, "dep"),)),
                _entity("UNKNOWN", stops=((1, "S1", 5, None, "dep"),)),
            )
        )
        paths.append(str(path))
    counts = [
        commit_batch(batch, lake, settings, "run-c")
        for batch in read_trip_updates(settings, lake, "run-c", static=static, trip_updates=paths)
    ]
    assert [(c.inserted, c.replaced, c.quarantined) for c in counts] == [(1, 0, 1), (0, 1, 1)]
    again = [
        commit_batch(batch, lake, settings, "run-d")
        for batch in read_trip_updates(settings, lake, "run-d", static=static, trip_updates=paths)
    ]
    # Re-reading older then newer: the older loses against the stored newer row.
    assert [c.inserted + c.replaced for c in again] == [0, 0]


def test_no_data_stop_is_staged_without_a_value(edge_static: GtfsStatic) -> None:
    entity = _entity("T15-1", start_date="20261012")
    stu = entity.trip_update.stop_time_update.add()
    stu.stop_sequence = 1
    stu.schedule_relationship = stu.NO_DATA
    (row,) = _stage(_feed(_ts(_utc(2026, 10, 12, 6)), entity), edge_static)
    # Neither cancelled nor timed: silver quarantines it as "no real-time value".
    assert (row["stop_id"], row["cancelled"], row["delay_s"], row["observed_at"]) == (
        "S1",
        False,
        None,
        None,
    )
    assert row["_reason"] is None


def test_static_feed_from_url(settings: Settings, lake: Lake) -> None:
    import httpx
    from umwi_connectors._gtfs_static import zip_directory

    static_zip = zip_directory(EDGE / "static_gtfs")
    snapshot = (EDGE / "trip_updates.pb").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/gtfs.zip":
            return httpx.Response(200, content=static_zip)
        if request.url.path == "/rt" and request.url.params.get("key") == "k1":
            return httpx.Response(200, content=snapshot)
        return httpx.Response(404, text="no such feed")

    batches = read_trip_updates(
        settings,
        lake,
        "r4",
        static="http://127.0.0.1:1/gtfs.zip",
        trip_updates=["http://127.0.0.1:1/rt?key=k1", "http://127.0.0.1:1/missing"],
        transport=httpx.MockTransport(handler),
    )
    first = next(batches)
    assert first.records.num_rows == 7
    with pytest.raises(SourceError, match="404"):
        next(batches)
    (static_key,) = [k for k in lake.list("bronze/gtfs_rt/static/") if k.endswith(".zip")]
    assert lake.read_bytes(static_key) == static_zip
