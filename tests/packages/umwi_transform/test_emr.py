"""The `emr-serverless` engine: the job request moto accepts, and the entry script's
candidates judged by the quality gate (issue 21).

moto's EMR Serverless marks a job run done without running anything, so the request is
asserted as EMR receives it, and the entry script runs here, on Spark local mode, to
produce the candidates the orchestrator then reads and gates.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from umwi_connectors import generate_sample
from umwi_core.alerts import FileAlertSink
from umwi_core.contracts import HISTORY_TABLES
from umwi_core.errors import InputError
from umwi_core.publication import read_publication
from umwi_core.resources import make_lake
from umwi_core.settings import Settings, load_settings
from umwi_transform import emr, ingest_batches, read_gold

ROLE = "arn:aws:iam::123456789012:role/umwi-prod-spark-job"
ENTRY = "s3://umwi-prod-lake-x/artifacts/spark/umwi_gold_job.py"


@pytest.fixture
def application(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    client = boto3.client("emr-serverless", region_name="eu-west-1", endpoint_url=moto_server)
    found = client.create_application(name="umwi-test", releaseLabel="emr-7.5.0", type="SPARK")
    monkeypatch.setenv("UMWI_AWS_ENDPOINT_URL", moto_server)
    return str(found["applicationId"])


def _emr_settings(state_dir: Any, application: str, **extra: str) -> Settings:
    return load_settings(
        state_dir=state_dir,
        engine="emr-serverless",
        emr_application_id=application,
        emr_job_role_arn=ROLE,
        emr_entry_point=ENTRY,
        **extra,
    )


def test_the_build_job_is_submitted_with_its_entry_point_role_and_spark_parameters(
    application: str, moto_server: str, tmp_path: Any
) -> None:
    """Mutation: drop the driverEnv confs (the job would not find the lake) or the UTC
    time zone from `job_request`, and this fails."""
    settings = _emr_settings(
        tmp_path / "state", application, emr_spark_parameters="--conf spark.archives=s3://a#env"
    )
    naps: list[float] = []
    job = emr.submit_and_wait(settings, "20260301T000000Z-abc", poll_s=0.5, sleep=naps.append)
    client = boto3.client("emr-serverless", region_name="eu-west-1", endpoint_url=moto_server)
    run = client.get_job_run(applicationId=application, jobRunId=job)["jobRun"]
    assert run["state"] == "SUCCESS"
    assert run["executionRole"] == ROLE
    submit = run["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"] == ENTRY
    assert submit["entryPointArguments"] == ["--run-id", "20260301T000000Z-abc"]
    parameters = submit["sparkSubmitParameters"].split()
    assert "spark.sql.session.timeZone=UTC" in parameters
    lake_uri = f"spark.emr-serverless.driverEnv.UMWI_LAKE_URI={settings.resolved_lake_uri}"
    assert lake_uri in parameters
    assert parameters[-2:] == ["--conf", "spark.archives=s3://a#env"]  # umwi's own come first


def test_without_the_stacks_settings_no_job_is_submitted(tmp_path: Any) -> None:
    with pytest.raises(InputError, match="needs the stack's UMWI_EMR_"):
        emr.job_request(load_settings(state_dir=tmp_path), "r")


@pytest.fixture
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("pyspark.core", reason="the entry script runs on Spark local mode")
    from umwi_transform import spark as umwi_spark

    spark = umwi_spark.local_session(tmp_path_factory.mktemp("spark-job"))
    try:
        yield spark
    finally:
        spark.stop()


@pytest.mark.spark
@pytest.mark.slow
def test_the_entry_scripts_candidates_pass_the_gate_and_publish(
    session: Any, application: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutation: make `run_job` skip writing `gold/_jobs/<run>.json` and the orchestrator
    refuses the build (EmrJobFailed) instead of gating stale gold."""
    from umwi_quality import run_gate

    settings = _emr_settings(tmp_path / "state", application)
    lake = make_lake(settings)
    batches = generate_sample(lake=lake, run_id="r-sample", start=date(2026, 2, 27), days=1)
    ingest_batches(batches, lake, settings, "r-sample", source="sample", parameters={})
    run_id = "20260301T000000Z-emr"
    with pytest.raises(emr.EmrJobFailed, match=r"wrote no gold/_jobs/20260301T000000Z-emr\.json"):
        emr.job_candidates(lake, run_id)

    # The job's side, as EMR would run it: settings from the driver's environment.
    monkeypatch.setenv("UMWI_STATE_DIR", str(tmp_path / "state"))
    built = emr.run_job(["--run-id", run_id], session=session)
    found = emr.job_candidates(lake, run_id)
    assert {t: c.version for t, c in found.items()} == {t: c.version for t, c in built.items()}
    for table in HISTORY_TABLES:  # `outlook_hourly` is the outlook flow's, not the job's
        rows = read_gold(lake, table, found[table].version).num_rows
        assert found[table].rows == rows, table
        # One day gives no weekday-hour slot a dry baseline for a wet hour: no class effects.
        assert rows > 0 or table == "outlook_class_effect", table

    result = run_gate(lake, settings, run_id, found, FileAlertSink(tmp_path / "alerts.jsonl"))
    assert result.passed, [c.as_json() for c in result.checks if c.status != "passed"]
    publication = read_publication(lake)
    assert publication is not None
    assert {t: e.version for t, e in publication[0].tables.items()} == {
        t: c.version for t, c in found.items()
    }


def test_public_api_is_pinned() -> None:
    assert emr.__all__ == [
        "JOB_NAME",
        "EmrJobFailed",
        "job_candidates",
        "job_request",
        "run_job",
        "submit_and_wait",
    ]
