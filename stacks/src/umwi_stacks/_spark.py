"""The opt-in Spark engine (`umwi:sparkEngine: emr-serverless`): an EMR Serverless
application, the build job's least-privilege role and its entry script (issue 21), and the
repository of the job's image (Python 3.11 with umwi, flows/spark-job.Dockerfile).

The build flow submits the job and waits (`umwi_transform.emr`); the quality gate and
publication stay on the flows' task role, which gains only the right to start, watch and
cancel this application's jobs and to pass this role to EMR Serverless.

The image can only be built once its repository exists, and EMR Serverless refuses an
application whose image does not: so the program creates the application without one,
the deploy workflow builds the image and sets it (`UpdateApplication`, by digest), and
the program ignores the application's image from then on (stacks/README.md).
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
from umwi_stacks._images import image_repository
from umwi_stacks._policy import Statement, allow, assume_role, document

#: EMR 7.x runs Spark 3.5; the job's Python 3.11+ environment comes with its image, whose
#: base is this release's (flows/spark-job.Dockerfile, docs/scale-out.md).
RELEASE_LABEL = "emr-7.5.0"
#: The job image's interpreter (flows/spark-job.Dockerfile's virtual environment).
SPARK_JOB_PYTHON = "/opt/umwi/bin/python"
#: Spark's driver and executors name that interpreter themselves: EMR Serverless documents
#: these two settings for a Python other than its own, not the image's environment.
SPARK_JOB_PARAMETERS = (
    f"--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON={SPARK_JOB_PYTHON} "
    f"--conf spark.executorEnv.PYSPARK_PYTHON={SPARK_JOB_PYTHON}"
)
#: The image is built for this architecture (the deploy workflow's `--platform`).
ARCHITECTURE = "X86_64"
SERVICE = "emr-serverless.amazonaws.com"
#: What EMR Serverless needs of a repository to run an application's image.
IMAGE_PULL = ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]


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
            architecture=ARCHITECTURE,
            # Started by a job, stopped when idle: nothing is paid between daily builds.
            auto_start_configuration={"enabled": True},
            auto_stop_configuration={"enabled": True, "idle_timeout_minutes": 15},
            maximum_capacity={"cpu": "64 vCPU", "memory": "256 GB", "disk": "1000 GB"},
            tags=config.tags,
            # The image is the deploy workflow's to set, once it has built one; without
            # this, every `pulumi up` would take it away again.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["image_configuration"]),
        )
        self.image_repository = image_repository(
            "spark-image", name=f"{names.prefix}-spark", config=config, parent=self
        )
        aws.ecr.RepositoryPolicy(
            "spark-image-policy",
            repository=self.image_repository.name,
            policy=document([image_pull_statement(self.application.arn)]),
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

    def deployer_statements(self) -> list[Statement]:
        """What the deploy workflow's role needs to ship the job's image: push it to this
        repository, and set it as this application's image (and wait for the update)."""
        return [
            allow(
                "PushSparkImage",
                [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:CompleteLayerUpload",
                    "ecr:DescribeImages",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload",
                    "ecr:PutImage",
                    "ecr:UploadLayerPart",
                ],
                [self.image_repository.arn],
            ),
            allow(
                "SetSparkImage",
                ["emr-serverless:GetApplication", "emr-serverless:UpdateApplication"],
                [self.application.arn],
            ),
        ]


def image_pull_statement(application_arn: pulumi.Input[str]) -> Statement:
    """The repository policy EMR Serverless needs to pull a custom image, for this
    application only (`aws:SourceArn`: no other application may use it through EMR)."""
    return {
        "Sid": "EmrServerlessPullsForThisApplication",
        "Effect": "Allow",
        "Principal": {"Service": SERVICE},
        "Action": IMAGE_PULL,
        "Condition": {"StringEquals": {"aws:SourceArn": application_arn}},
    }


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


__all__ = [
    "ARCHITECTURE",
    "RELEASE_LABEL",
    "SPARK_JOB_PARAMETERS",
    "SPARK_JOB_PYTHON",
    "SparkJobs",
    "image_pull_statement",
    "job_statements",
]
