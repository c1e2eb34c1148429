"""The gate end to end on lakes the real transform filled: publish on pass; on fail
nothing a reader sees changes and exactly one alert goes out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from umwi_core.alerts import FileAlertSink
from umwi_core.errors import InputError
from umwi_core.lake import Lake
from umwi_core.publication import PUBLISHED_KEY, read_publication
from umwi_core.resources import make_lake
from umwi_core.settings import Settings
from umwi_quality import check_tables, docs_key, results_key, run_gate
from umwi_transform import build_gold, commit_batch, read_gold

from tests.packages.umwi_quality.factory import fill, future_departures, gate_clock
from tests.packages.umwi_transform.factory import departures_batch

pytestmark = pytest.mark.slow


def _reader_view(lake: Lake) -> dict[str, bytes]:
    """Everything a reader of published gold follows: the pointer and the serving files."""
    keys = [PUBLISHED_KEY, *lake.list("gold/_serving/")]
    return {key: lake.read_bytes(key) for key in keys}


def _sink(settings: Settings) -> FileAlertSink:
    return FileAlertSink(settings.state_dir / "alerts.jsonl")


def _future_batch(lake: Lake, settings: Settings) -> dict[str, Any]:
    """A later batch the gate must not publish (see `future_departures`)."""
    commit_batch(departures_batch(future_departures()), lake, settings, "run-future")
    return build_gold(lake, settings, "run-b2")


def test_a_passing_gate_publishes_and_records_every_result(lake: Lake, settings: Settings) -> None:
    candidates = fill(lake, settings)
    result = run_gate(lake, settings, "gate-1", candidates, _sink(settings), now=gate_clock())
    assert result.passed, result.blocking
    assert result.publication is not None
    stored, _ = read_publication(lake)  # type: ignore[misc]
    assert stored == result.publication
    assert stored.quality_report == results_key("gate-1") == result.report_key
    assert stored.gate["status"] == "passed"
    assert {t: e.version for t, e in stored.tables.items()} == {
        t: c.version for t, c in candidates.items()
    }
    record = json.loads(lake.read_bytes(result.report_key))
    assert record["passed"] is True
    assert len(record["checks"]) == len(result.checks)
    assert {c["engine"] for c in record["checks"]} == {"great_expectations", "soda", "batch"}
    assert record["counts"]["failed_error"] == 0
    assert lake.exists(docs_key("gate-1"))
    # The factory's records are stated days after they happened: freshness warns, once.
    alerts = _sink(settings).read()
    assert [a.severity for a in alerts] == ["warn"]
    assert "freshness" in alerts[0].summary


def test_a_gate_with_nothing_new_since_the_publication_passes(
    lake: Lake, settings: Settings
) -> None:
    candidates = fill(lake, settings)
    assert run_gate(lake, settings, "gate-1", candidates, _sink(settings), now=gate_clock()).passed
    again = run_gate(lake, settings, "gate-2", candidates, _sink(settings), now=gate_clock())
    assert again.passed, again.blocking
    record = json.loads(lake.read_bytes(again.report_key))
    assert record["rows"]["silver_departures"] == 0
    assert again.publication is not None
    assert again.publication.quality_report == results_key("gate-2")


def test_a_failing_gate_changes_nothing_readers_see_and_alerts_once(
    lake: Lake, settings: Settings
) -> None:
    first = run_gate(
        lake, settings, "gate-1", fill(lake, settings), _sink(settings), now=gate_clock()
    )
    assert first.passed
    before = _reader_view(lake)
    alerts_before = len(_sink(settings).read())

    result = run_gate(
        lake, settings, "gate-2", _future_batch(lake, settings), _sink(settings), now=gate_clock()
    )

    assert not result.passed
    assert result.publication is None
    assert _reader_view(lake) == before
    alerts = _sink(settings).read()[alerts_before:]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.severity == "error"
    assert alert.run_id == "gate-2"
    assert alert.report == lake.uri(results_key("gate-2"))
    failed = {(c["table"], c["check"]) for c in alert.details["failed_checks"]}
    assert ("silver_departures", "scheduled_at not in the future") in failed
    assert ("gold_punctuality_hourly", "hour not in the future") in failed
    assert "silver_departures" in alert.title
    assert "scheduled_at not in the future on silver_departures: observed 3" in alert.summary
    assert alert.details["counts"]["failed_error"] == len(result.blocking)
    # Only the batch since the last publication is judged on silver.
    record = json.loads(lake.read_bytes(results_key("gate-2")))
    assert record["passed"] is False
    assert record["rows"]["silver_departures"] == 3
    docs = [
        lake.read_bytes(key).decode()
        for key in lake.list("quality/gate-2/docs/validations/")
        if key.endswith(".html")
    ]
    assert any("scheduled_at not in the future" in page for page in docs)


def test_check_tables_audits_without_publishing(lake: Lake, settings: Settings) -> None:
    fill(lake, settings)
    result = check_tables(lake, settings, "audit-1", ["silver_weather_hourly"], now=gate_clock())
    assert result.passed
    assert result.publication is None
    assert not lake.exists(PUBLISHED_KEY)
    assert {c.table for c in result.checks if c.engine != "batch"} == {"silver_weather_hourly"}
    assert lake.exists(results_key("audit-1"))
    assert _sink(settings).read() == []


def test_umwi_quality_counts_the_quarantine_by_cause(lake: Lake, settings: Settings) -> None:
    """`check_tables` (`umwi quality`) reports rejects per source and reason code.

    Mutation: drop `by_code` from the quarantine check's `observed` and this fails.
    """
    from tests.packages.umwi_transform.factory import departure

    rejects = [departure(trip="", delay=1), departure(trip="X", delay=None, cancelled=False)]
    fill(lake, settings, extra=rejects)
    result = check_tables(lake, settings, "audit-3", ["silver_departures"], now=gate_clock())
    (share,) = [
        c
        for c in result.checks
        if (c.check, c.table) == ("quarantine share (file)", "silver_departures")
    ]
    assert share.details["by_reason_code"] == {"missing_key": 1, "no_realtime": 1}
    assert share.observed.endswith(": 1 missing_key, 1 no_realtime")


def test_check_tables_names_an_unknown_table(lake: Lake, settings: Settings) -> None:
    with pytest.raises(InputError, match="--table 'gold_nope'"):
        check_tables(lake, settings, "audit-2", ["gold_nope"], now=gate_clock())


def test_aws_gate_alerts_through_sns_and_reports_to_s3(aws_resources: Any) -> None:
    from umwi_core.resources import make_alerts

    settings: Settings = aws_resources.settings
    lake = make_lake(settings)
    sqs: Any = aws_resources.client("sqs")
    sns: Any = aws_resources.client("sns")
    queue = sqs.create_queue(QueueName="alerts-" + aws_resources.names.env)
    arn = sqs.get_queue_attributes(QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=aws_resources.topic_arn,
        Protocol="sqs",
        Endpoint=arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    # One build only: an incremental gold build on moto S3 takes minutes.
    candidates = fill(lake, settings, extra=future_departures())

    result = run_gate(
        lake, settings, "gate-aws", candidates, make_alerts(settings), now=gate_clock()
    )

    assert not result.passed
    assert not lake.exists(PUBLISHED_KEY)
    assert lake.exists(results_key("gate-aws"))
    assert lake.exists(docs_key("gate-aws"))
    messages = sqs.receive_message(QueueUrl=queue["QueueUrl"], MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    assert len(bodies) == 1
    assert bodies[0]["severity"] == "error"
    assert bodies[0]["report"] == lake.uri(results_key("gate-aws"))
    assert bodies[0]["report"].startswith("s3://")


def test_reports_are_json_with_a_path_per_run(tmp_path: Path) -> None:
    assert results_key("r1") == "quality/r1/results.json"
    assert docs_key("r1") == "quality/r1/docs/index.html"


def test_after_a_publication_the_gate_judges_only_what_changed(
    lake: Lake, settings: Settings
) -> None:
    """A build on top of the published gold has its changed partitions judged (and silver
    only as far back as the checks reach); on top of an unpublished build, everything.

    Mutation: `changed_scopes` returning `{}` judges whole tables every time: red."""
    assert run_gate(
        lake, settings, "g1", fill(lake, settings), _sink(settings), now=gate_clock()
    ).passed
    candidates = fill(lake, settings, days=range(40, 41))  # 2026-04-11, another month
    scoped = run_gate(lake, settings, "g2", candidates, _sink(settings), now=gate_clock())
    assert scoped.passed, scoped.blocking
    rows = json.loads(lake.read_bytes(scoped.report_key))["rows"]
    whole = read_gold(lake, "punctuality_hourly", candidates["punctuality_hourly"].version)
    day_40 = [h for h in whole.column("hour").to_pylist() if h.month == 4]
    assert 0 < rows["gold_punctuality_hourly"] == len(day_40) < whole.num_rows
    assert rows["gold_weather_impact"] < candidates["weather_impact"].rows
    # Day 0 lies beyond the volume check's history: silver is read from day 32 on.
    assert rows["silver_departures_all"] == rows["silver_departures"]

    fill(lake, settings, days=range(41, 42))  # built, never gated: nothing published
    candidates = fill(lake, settings, days=range(42, 43))
    again = run_gate(lake, settings, "g3", candidates, _sink(settings), now=gate_clock())
    assert again.passed, again.blocking
    rows = json.loads(lake.read_bytes(again.report_key))["rows"]
    assert rows["gold_punctuality_hourly"] == candidates["punctuality_hourly"].rows
    assert rows["gold_weather_impact"] == candidates["weather_impact"].rows
