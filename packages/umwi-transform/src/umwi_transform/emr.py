"""The `emr-serverless` engine: gold built by a job on the stack's EMR Serverless application.

The orchestrator (the build flow) submits the job (`submit_and_wait`) and waits; the job's
entry script (`run_job`, uploaded by the stack) builds every gold table on the cluster's
Spark with the shared builders, commits them as gold candidates and writes where they are
(`gold/_jobs/<run id>.json`). The orchestrator reads that back (`job_candidates`) and runs
the quality gate and publication itself: the job's role may read silver and write the gold
tables, nothing else (docs/scale-out.md).

boto3 and pyspark are imported inside functions: importing this module needs neither.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from umwi_core.contracts import HISTORY_TABLES
from umwi_core.errors import InputError, UmwiError
from umwi_core.lake import Lake
from umwi_core.settings import Settings

from umwi_transform._gold import GoldCandidate

__all__ = [
    "JOB_NAME",
    "EmrJobFailed",
    "job_candidates",
    "job_request",
    "run_job",
    "submit_and_wait",
]

log = logging.getLogger("umwi.transform.emr")

JOB_NAME = "umwi-gold"
#: Settings the job reads from its driver's environment (the rest keep their defaults).
_JOB_SETTINGS = (
    "UMWI_ENV",
    "UMWI_AWS_REGION",
    "UMWI_LAKE_URI",
    "UMWI_LEDGER_TABLE",
    "UMWI_CACHE_TABLE",
    "UMWI_ALERTS_TOPIC_ARN",
)
_FINAL = {"SUCCESS", "FAILED", "CANCELLED"}


class EmrJobFailed(UmwiError):
    """The EMR Serverless build job ended in FAILED or CANCELLED (nothing was published)."""


class _JobResult(BaseModel):
    run_id: str
    candidates: dict[str, dict[str, Any]]


def _job_key(run_id: str) -> str:
    return f"gold/_jobs/{run_id}.json"


def _setting_values(settings: Settings) -> dict[str, str]:
    # Passed on as they are: the job runs in whatever environment the orchestrator does.
    values = {name: getattr(settings, name.removeprefix("UMWI_").lower()) for name in _JOB_SETTINGS}
    values["UMWI_LAKE_URI"] = settings.resolved_lake_uri  # absolute, as the job must see it
    return {name: str(value) for name, value in values.items() if value}


def job_request(settings: Settings, run_id: str) -> dict[str, Any]:
    """The StartJobRun request of one build: entry point, role and Spark parameters."""
    if not (settings.emr_application_id and settings.emr_job_role_arn and settings.emr_entry_point):
        raise InputError("the emr-serverless engine needs the stack's UMWI_EMR_* settings")
    # The driver gets the lake's settings as environment variables; the session time zone
    # is UTC by contract (hours, months and weekdays).
    confs = {"spark.sql.session.timeZone": "UTC"} | {
        f"spark.emr-serverless.driverEnv.{name}": value
        for name, value in _setting_values(settings).items()
    }
    parameters = " ".join(f"--conf {key}={value}" for key, value in confs.items())
    if settings.emr_spark_parameters:
        parameters = f"{parameters} {settings.emr_spark_parameters}"
    return {
        "applicationId": settings.emr_application_id,
        "executionRoleArn": settings.emr_job_role_arn,
        "name": f"{JOB_NAME}-{run_id}",
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": settings.emr_entry_point,
                "entryPointArguments": ["--run-id", run_id],
                "sparkSubmitParameters": parameters,
            }
        },
        "clientToken": run_id,  # a retried submission of the same build starts no second job
    }


def submit_and_wait(
    settings: Settings,
    run_id: str,
    *,
    poll_s: float = 15.0,
    timeout_s: float = 6 * 3_600,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Start the build job and wait until it ends; its job run id, or `EmrJobFailed`."""
    import boto3

    client = boto3.client(
        "emr-serverless", region_name=settings.aws_region, endpoint_url=settings.endpoint_url
    )
    request = job_request(settings, run_id)
    job_run_id = str(client.start_job_run(**request)["jobRunId"])
    log.info("gold: EMR Serverless job %s started (run %s)", job_run_id, run_id)
    waited = 0.0
    while True:
        run = client.get_job_run(applicationId=request["applicationId"], jobRunId=job_run_id)
        state = run["jobRun"]["state"]
        if state in _FINAL:
            break
        if waited >= timeout_s:
            client.cancel_job_run(applicationId=request["applicationId"], jobRunId=job_run_id)
            raise EmrJobFailed(f"EMR Serverless job {job_run_id} still {state} after {waited}s")
        sleep(poll_s)
        waited += poll_s
    if state != "SUCCESS":
        details = run["jobRun"].get("stateDetails") or "no details"
        raise EmrJobFailed(f"EMR Serverless job {job_run_id} ended {state}: {details}")
    return job_run_id


def job_candidates(lake: Lake, run_id: str) -> dict[str, GoldCandidate]:
    """The gold candidates the job of `run_id` committed, for the quality gate."""
    key = _job_key(run_id)
    if not lake.exists(key):
        raise EmrJobFailed(
            f"the EMR Serverless job of run {run_id} succeeded but wrote no {key}: "
            "did it run the umwi entry script?"
        )
    result = _JobResult.model_validate_json(lake.read_bytes(key))
    missing = [t for t in HISTORY_TABLES if t not in result.candidates]
    if missing:
        raise EmrJobFailed(f"{key}: no candidate for {', '.join(missing)}")
    return {
        table: GoldCandidate(
            table=table,
            version=int(found["version"]),
            rows=int(found["rows"]),
            changed=True,
            updated_at=datetime.fromisoformat(str(found["updated_at"])),
        )
        for table, found in result.candidates.items()
        if table in HISTORY_TABLES
    }


def run_job(argv: Sequence[str] | None = None, *, session: Any = None) -> dict[str, GoldCandidate]:
    """The job's entry point: build gold on this Spark, commit candidates, say where.

    Silver is read as Delta when the session has the Delta extension (EMR ships
    delta-spark), else handed over as the Delta tables' current Parquet files.
    """
    parser = argparse.ArgumentParser(prog="umwi-gold-job")
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args(argv)

    from umwi_core.resources import make_lake
    from umwi_core.settings import load_settings

    from umwi_transform import spark as umwi_spark

    settings = load_settings()
    lake = make_lake(settings)
    if session is None:
        from pyspark.sql import SparkSession

        session = SparkSession.builder.appName(JOB_NAME).getOrCreate()
    backend = umwi_spark.connect(session)
    extensions = session.conf.get("spark.sql.extensions", "") or ""
    if "DeltaSparkSessionExtension" in extensions:
        frames = [
            session.read.format("delta").load(lake.uri(f"silver/{table}"))
            for table in ("departures", "weather_hourly")
        ]
        departures, weather = umwi_spark.register_silver_frames(backend, *frames)
    else:
        departures, weather = umwi_spark.register_silver(backend, lake)
    gold = umwi_spark.build_gold_tables(backend, departures, weather, settings)
    candidates = umwi_spark.write_candidates(lake, gold)
    result = _JobResult(
        run_id=args.run_id,
        candidates={
            t: {"version": c.version, "rows": c.rows, "updated_at": c.updated_at.isoformat()}
            for t, c in candidates.items()
        },
    )
    lake.write_bytes(_job_key(args.run_id), result.model_dump_json(indent=2).encode())
    print(json.dumps({"run_id": args.run_id, "seconds": gold.seconds}))  # the job's log
    return candidates
