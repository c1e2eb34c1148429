"""The opt-in Spark engine (`umwi:sparkEngine: emr-serverless`): an EMR Serverless
application, the build job's least-privilege role and its entry script (issue 21).

The build flow submits the job and waits (`umwi_transform.emr`); the quality gate and
publication stay on the flows' task role, which gains only the right to start, watch and
cancel this application's jobs and to pass this role to EMR Serverless.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from umwi_core.deployment import (
    SPARK_ARTIFACTS,
    SPARK_ENTRY_SCRIPT,
    SPARK_ENTRY_SOURCE,
    SPARK_JOB_READS,
    SPARK_JOB_WRITES,
)
from umwi_core.naming import ResourceNames

from umwi_stacks._config import StackConfig
from umwi_stacks._policy import Statement, allow, assume_role, document

#: EMR 7.x runs Spark 3.5; the job's Python 3.11+ environment comes with it
#: (docs/scale-out.md).
RELEASE_LABEL = "emr-7.5.0"
SERVICE = "emr-serverless.amazonaws.com"


class SparkJobs(pulumi.ComponentResource):
    """The application, the job role and the uploaded entry script."""

    def __init__(
        self,
        name: str,
        *,
        names: ResourceNames,
        config: StackConfig,
        account_id: str,
        lake_bucket: aws.s3.Bucket,
        lake_prefix: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:SparkJobs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.application = aws.emrserverless.Application(
            "spark-application",
            name=f"{names.prefix}-spark",
            release_label=RELEASE_LABEL,
            type="spark",
            # Started by a job, stopped when idle: nothing is paid between daily builds.
            auto_start_configuration={"enabled": True},
            auto_stop_configuration={"enabled": True, "idle_timeout_minutes": 15},
            maximum_capacity={"cpu": "64 vCPU", "memory": "256 GB", "disk": "1000 GB"},
            tags=config.tags,
            opts=child,
        )
        self.entry_script = aws.s3.BucketObjectv2(
            "spark-entry-script",
            bucket=lake_bucket.id,
            key=SPARK_ENTRY_SCRIPT,
            content=SPARK_ENTRY_SOURCE,
            content_type="text/x-python",
            tags=config.tags,
            opts=child,
        )
        self.entry_point = pulumi.Output.concat(
            "s3://", lake_bucket.bucket, "/", SPARK_ENTRY_SCRIPT
        )
        self.job_role = aws.iam.Role(
            "spark-job",
            name=f"{names.prefix}-spark-job",
            assume_role_policy=assume_role(SERVICE, account_id),
            tags=config.tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            "spark-job-policy",
            role=self.job_role.id,
            policy=document(job_statements(lake_bucket.arn, lake_prefix)),
            opts=child,
        )
        self.register_outputs({})

    def orchestrator_statements(self) -> list[Statement]:
        """What the flows' task role needs to run the job: start, watch, cancel, pass."""
        jobs = pulumi.Output.concat(self.application.arn, "/jobruns/*")
        return [
            allow(
                "RunSparkJob",
                [
                    "emr-serverless:StartJobRun",
                    "emr-serverless:GetJobRun",
                    "emr-serverless:CancelJobRun",
                ],
                [self.application.arn, jobs],
            ),
            allow(
                "PassSparkJobRole",
                ["iam:PassRole"],
                [self.job_role.arn],
                Condition={"StringEquals": {"iam:PassedToService": SERVICE}},
            ),
        ]


def job_statements(bucket_arn: pulumi.Input[str], lake_prefix: str) -> list[Statement]:
    """Read silver and the entry script, write the gold tables' versions: nothing else."""

    def objects(prefixes: tuple[str, ...]) -> list[pulumi.Output[str]]:
        return [pulumi.Output.concat(bucket_arn, "/", lake_prefix, p, "*") for p in prefixes]

    listed = [f"{lake_prefix}{p}*" for p in (*SPARK_JOB_READS, *SPARK_JOB_WRITES)]
    return [
        allow(
            "ListLakeTables",
            ["s3:ListBucket"],
            [bucket_arn],
            Condition={"StringLike": {"s3:prefix": listed}},
        ),
        allow("ReadSilver", ["s3:GetObject"], objects(SPARK_JOB_READS)),
        allow("WriteGoldCandidates", ["s3:GetObject", "s3:PutObject"], objects(SPARK_JOB_WRITES)),
        allow(
            "ReadEntryScript",
            ["s3:GetObject"],
            [pulumi.Output.concat(bucket_arn, "/", SPARK_ARTIFACTS, "*")],
        ),
    ]


__all__ = ["RELEASE_LABEL", "SparkJobs", "job_statements"]
