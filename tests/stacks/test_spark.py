"""The opt-in Spark engine (`umwi:sparkEngine: emr-serverless`): off by default; when on,
an EMR Serverless application whose job role reads silver and writes gold candidates only,
its entry script uploaded by the program, and the flows pointed at it (issue 21)."""

from __future__ import annotations

import json
from typing import Any

from umwi_core.deployment import SPARK_ENTRY_SCRIPT, SPARK_ENTRY_SOURCE
from umwi_core.naming import resource_names
from umwi_core.publication import GOLD_TABLES

from tests.stacks.stack import Stack
from tests.stacks.synth import ACCOUNT_ID, REGION

APPLICATION = "emrserverless/application:Application"
REPOSITORY = "ecr/repository:Repository"
APPLICATION_ARN = f"arn:aws:emr-serverless:{REGION}:{ACCOUNT_ID}:/applications/spark-application-id"
SPARK_REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/umwi-dev-spark"


def _by_sid(stack: Stack, policy: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in stack.role_statements(policy)}


def test_the_spark_engine_is_off_by_default(dev: Stack, prod: Stack) -> None:
    for stack in (dev, prod):
        assert stack.all(APPLICATION) == []
        assert "UMWI_ENGINE" not in stack.outputs["settings"]
        assert stack.outputs["sparkJobRoleArn"] is None
        assert stack.outputs["sparkImageRepositoryUrl"] is None
        assert [r["inputs"]["name"] for r in stack.all(REPOSITORY)] == [f"umwi-{stack.env}-flows"]
        assert stack.all("ecr/repositoryPolicy:RepositoryPolicy") == []
        assert set(_by_sid(stack, "flows-task-policy")) == {
            "ListLake",
            "ReadWriteLake",
            "Ledger",
            "Alerts",
        }


def test_the_job_role_reads_silver_and_writes_gold_candidates_only(dev_spark: Stack) -> None:
    """Mutation: widen WriteGoldCandidates to `lake/gold/*` (publication) and this fails."""
    lake = f"arn:aws:s3:::{resource_names('dev', ACCOUNT_ID).lake_bucket}"
    statements = _by_sid(dev_spark, "spark-job-policy")
    assert set(statements) == {
        "ListLakeTables",
        "ReadSilver",
        "WriteGoldCandidates",
        "ReadEntryScript",
    }
    assert statements["ReadSilver"]["Action"] == ["s3:GetObject"]
    assert statements["ReadSilver"]["Resource"] == [f"{lake}/lake/silver/*"]
    assert statements["WriteGoldCandidates"]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert statements["WriteGoldCandidates"]["Resource"] == [
        *(f"{lake}/lake/gold/{table}/*" for table in GOLD_TABLES),
        f"{lake}/lake/gold/_jobs/*",
    ]
    assert statements["ReadEntryScript"]["Resource"] == [f"{lake}/artifacts/spark/*"]
    assert statements["ListLakeTables"]["Resource"] == [lake]
    trust = json.loads(dev_spark.inputs("iam/role:Role", "spark-job")["assumeRolePolicy"])
    (only,) = trust["Statement"]
    assert only["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert only["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


def test_the_flows_may_run_and_pass_only_this_job(dev_spark: Stack) -> None:
    """Mutation: drop the PassedToService condition, or the task role's RunSparkJob."""
    statements = _by_sid(dev_spark, "flows-task-policy")
    run = statements["RunSparkJob"]
    assert run["Action"] == [
        "emr-serverless:StartJobRun",
        "emr-serverless:GetJobRun",
        "emr-serverless:CancelJobRun",
    ]
    (application,) = dev_spark.all(APPLICATION)
    assert application["inputs"]["type"] == "spark"
    assert application["inputs"]["autoStopConfiguration"]["enabled"] is True
    passed = statements["PassSparkJobRole"]
    assert passed["Action"] == ["iam:PassRole"]
    assert passed["Resource"] == [f"arn:aws:iam::{ACCOUNT_ID}:role/umwi-dev-spark-job"]
    assert passed["Condition"] == {
        "StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}
    }
    # Nor may the job role be passed by the worker, the API or anyone else in the stack.
    for where, document in dev_spark.policies():
        text = json.dumps(document)
        if where != "flows-task-policy.policy" and "iam:PassRole" in text:
            assert "spark-job" not in text, where


def test_the_entry_script_is_uploaded_and_the_flows_pointed_at_the_job(dev_spark: Stack) -> None:
    (script,) = [
        r
        for r in dev_spark.all("s3/bucketObjectv2:BucketObjectv2")
        if r["inputs"].get("key") == SPARK_ENTRY_SCRIPT
    ]
    assert script["inputs"]["content"] == SPARK_ENTRY_SOURCE
    compile(SPARK_ENTRY_SOURCE, SPARK_ENTRY_SCRIPT, "exec")  # valid Python
    assert "from umwi_transform.emr import run_job" in SPARK_ENTRY_SOURCE
    settings = dev_spark.outputs["settings"]
    lake_bucket = resource_names("dev", ACCOUNT_ID).lake_bucket
    assert settings["UMWI_ENGINE"] == "emr-serverless"
    assert settings["UMWI_EMR_ENTRY_POINT"] == f"s3://{lake_bucket}/{SPARK_ENTRY_SCRIPT}"
    assert settings["UMWI_EMR_JOB_ROLE_ARN"] == dev_spark.outputs["sparkJobRoleArn"]
    assert settings["UMWI_EMR_APPLICATION_ID"] == dev_spark.outputs["sparkApplicationId"]
    # The driver and the executors run the image's Python 3.11, named explicitly.
    assert settings["UMWI_EMR_SPARK_PARAMETERS"].split() == [
        "--conf",
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON=/opt/umwi/bin/python",
        "--conf",
        "spark.executorEnv.PYSPARK_PYTHON=/opt/umwi/bin/python",
    ]


def test_the_job_image_repository_is_shaped_as_the_flows_one(dev_spark: Stack) -> None:
    """Immutable tags (a commit's tag names one image), scanned on push, the last images
    kept: the same repository as the flow image's, under its own name.

    Mutation: give the Spark repository `image_tag_mutability="MUTABLE"`."""
    spark = dev_spark.inputs(REPOSITORY, "spark-image")
    flows = dev_spark.inputs(REPOSITORY, "flows-image")
    assert spark["name"] == "umwi-dev-spark"
    assert spark["imageTagMutability"] == "IMMUTABLE"
    assert spark["imageScanningConfiguration"] == {"scanOnPush": True}
    assert {k: v for k, v in spark.items() if k != "name"} == {
        k: v for k, v in flows.items() if k != "name"
    }
    lifecycle = dev_spark.inputs("ecr/lifecyclePolicy:LifecyclePolicy", "spark-image-lifecycle")
    assert lifecycle["repository"] == "umwi-dev-spark"
    flows_lifecycle = dev_spark.inputs(
        "ecr/lifecyclePolicy:LifecyclePolicy", "flows-image-lifecycle"
    )
    assert lifecycle["policy"] == flows_lifecycle["policy"]
    assert dev_spark.outputs["sparkImageRepositoryUrl"] == (
        f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/umwi-dev-spark"
    )


def test_only_emr_serverless_pulls_the_image_and_only_for_this_application(
    dev_spark: Stack,
) -> None:
    """AWS's requirement for a custom image: the EMR Serverless service may read the
    repository, on behalf of this application only (`aws:SourceArn`), and nobody else
    is let in by the repository's own policy.

    Mutation: drop the `aws:SourceArn` condition from `image_pull_statement`, or add
    "ecr:PutImage" to IMAGE_PULL."""
    (policy,) = dev_spark.all("ecr/repositoryPolicy:RepositoryPolicy")
    assert policy["inputs"]["repository"] == "umwi-dev-spark"
    (only,) = json.loads(policy["inputs"]["policy"])["Statement"]
    assert only["Effect"] == "Allow"
    assert only["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert only["Action"] == [
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert only["Condition"] == {"StringEquals": {"aws:SourceArn": APPLICATION_ARN}}
    (application,) = dev_spark.all(APPLICATION)
    assert APPLICATION_ARN.endswith(f"/applications/{application['name']}-id")


def test_the_deploy_role_pushes_the_job_image_and_sets_it_on_this_application_only(
    dev_spark: Stack,
) -> None:
    """Mutation: give SetSparkImage the resource "*", or PushSparkImage the flows
    repository, or let the flows' task role update the application."""
    statements = _by_sid(dev_spark, "github-deploy-policy")
    push = statements["PushSparkImage"]
    assert push["Resource"] == [SPARK_REPOSITORY_ARN]
    assert {"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:DescribeImages"} <= set(push["Action"])
    assert statements["PushFlowImage"]["Resource"] == [
        f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/umwi-dev-flows"
    ]
    assert statements["SetSparkImage"] == {
        "Sid": "SetSparkImage",
        "Effect": "Allow",
        "Action": ["emr-serverless:GetApplication", "emr-serverless:UpdateApplication"],
        "Resource": [APPLICATION_ARN],
    }
    # No other statement of any role may change the application or push its image.
    for where, document in dev_spark.policies():
        for statement in document["Statement"]:
            text = json.dumps(statement)
            if statement.get("Sid") in ("PushSparkImage", "SetSparkImage"):
                assert where == "github-deploy-policy.policy", where
                continue
            assert "emr-serverless:UpdateApplication" not in text, where
            if "ecr:PutImage" in text:
                assert SPARK_REPOSITORY_ARN not in text, where


def test_the_application_leaves_its_image_to_the_deploy_workflow(dev_spark: Stack) -> None:
    """Created without an image (none exists before the first deploy) and blind to the one
    the workflow sets, on the architecture the image is built for.

    Mutation: drop `ignore_changes` from the application (every `pulumi up` would then
    take the image away)."""
    (application,) = dev_spark.all(APPLICATION)
    assert "imageConfiguration" not in application["inputs"]
    assert application["ignoreChanges"] == ["imageConfiguration"]
    # The deploy workflow builds `--platform linux/amd64` (test_workflows.py).
    assert application["inputs"]["architecture"] == "X86_64"
