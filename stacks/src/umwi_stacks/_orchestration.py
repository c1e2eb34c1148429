"""Where flows run: ECS cluster, flow image repository, roles, logs and Prefect's access."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from umwi_core.deployment import WorkPool
from umwi_core.naming import ResourceNames

from umwi_stacks._config import StackConfig
from umwi_stacks._images import image_repository
from umwi_stacks._network import Network
from umwi_stacks._policy import Statement, allow, assume_role, document
from umwi_stacks._secrets import Secrets

LAKE_PREFIX = "lake/"


class Orchestration(pulumi.ComponentResource):
    cluster: aws.ecs.Cluster
    repository: aws.ecr.Repository
    log_group: aws.cloudwatch.LogGroup
    task_role: aws.iam.Role
    execution_role: aws.iam.Role
    prefect_role: aws.iam.Role | None
    worker_service: aws.ecs.Service | None
    work_pool: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        *,
        names: ResourceNames,
        config: StackConfig,
        account_id: str,
        network: Network,
        secrets: Secrets,
        lake_bucket: aws.s3.Bucket,
        ledger_table: aws.dynamodb.Table,
        topic: aws.sns.Topic,
        flow_environment: dict[str, pulumi.Input[str]],
        extra_task_statements: list[Statement] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:Orchestration", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._names = names
        self._config = config
        self._account_id = account_id
        self.cluster = aws.ecs.Cluster(
            "cluster",
            name=names.ecs_cluster,
            settings=[
                {
                    "name": "containerInsights",
                    "value": "enabled" if config.container_insights else "disabled",
                }
            ],
            tags=config.tags,
            opts=child,
        )
        aws.ecs.ClusterCapacityProviders(
            "cluster-capacity",
            cluster_name=self.cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[{"capacity_provider": "FARGATE", "weight": 1}],
            opts=child,
        )
        self.repository = image_repository(
            "flows-image", name=names.ecr_repository, config=config, parent=self
        )
        self.log_group = aws.cloudwatch.LogGroup(
            "flows-logs",
            name=names.flows_log_group,
            retention_in_days=config.log_retention_days,
            tags=config.tags,
            opts=child,
        )
        self.execution_role = self._execution_role(secrets)
        self.task_role = self._task_role(
            lake_bucket, ledger_table, topic, extra_task_statements or []
        )

        self.prefect_role = None
        self.worker_service = None
        if config.prefect_mode == "push":
            self.prefect_role = self._prefect_push_role()
        else:
            self.worker_service = self._worker(network, secrets)

        public = not config.private_networking
        job_variables: dict[str, Any] = {
            "cluster": self.cluster.arn,
            "family": self.task_family,
            "launch_type": "FARGATE",
            "cpu": config.task_cpu,
            "memory": config.task_memory_mb,
            "task_role_arn": self.task_role.arn,
            "execution_role_arn": self.execution_role.arn,
            "vpc_id": network.vpc.id,
            "network_configuration": {
                "subnets": [subnet.id for subnet in network.task_subnets],
                "securityGroups": [network.task_security_group.id],
                "assignPublicIp": "ENABLED" if public else "DISABLED",
            },
            "configure_cloudwatch_logs": True,
            "cloudwatch_logs_options": {
                # prefect-aws asks ECS to create the group unless told otherwise, which
                # needs logs:CreateLogGroup; the group is this stack's (test_iam_enforced.py).
                "awslogs-create-group": "false",
                "awslogs-group": self.log_group.name,
                "awslogs-region": config.region,
                "awslogs-stream-prefix": "flows",
            },
            "env": flow_environment,
            # Every secret by reference, the Prefect API key included (in push mode too):
            # ECS injects them, so no value sits in a task definition or in Prefect
            # (the job variables' names: umwi_core.deployment.SECRETS).
            **{spec.job_variable: secrets.by_key[spec.key].arn for spec in secrets.specs},
        }
        # Written through the contract the flow deployments read (umwi_core.deployment):
        # a missing or misnamed field fails `pulumi up`, not the first flow run.
        self.work_pool = pulumi.Output.from_input(
            {
                "name": names.work_pool,
                "type": "ecs:push" if config.prefect_mode == "push" else "ecs",
                "imageRepository": self.repository.repository_url,
                "jobVariables": job_variables,
                "prefectRoleArn": self.prefect_role.arn if self.prefect_role else None,
            }
        ).apply(lambda pool: WorkPool.model_validate(pool).model_dump(mode="json", by_alias=True))
        self.register_outputs({"cluster": self.cluster.name, "workPool": self.work_pool})

    @property
    def task_family(self) -> str:
        return f"{self._names.prefix}-flows"

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self._config.region}:{self._account_id}:{resource}"

    def _role(self, name: str, service: str, statements: list[Statement]) -> aws.iam.Role:
        role = aws.iam.Role(
            name,
            name=f"{self._names.prefix}-{name}",
            assume_role_policy=assume_role(service, self._account_id),
            tags=self._config.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=document(statements),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role

    def _execution_role(self, secrets: Secrets) -> aws.iam.Role:
        """What ECS itself needs to start a task: pull the image, ship logs, read secrets."""
        return self._role(
            "flows-execution",
            "ecs-tasks.amazonaws.com",
            [
                # GetAuthorizationToken is account-wide: AWS offers no narrower resource.
                allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
                allow(
                    "PullFlowImage",
                    [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    [self.repository.arn],
                ),
                allow(
                    "ShipLogs",
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    [pulumi.Output.concat(self.log_group.arn, ":*")],
                ),
                allow(
                    "InjectSecrets",
                    ["secretsmanager:GetSecretValue"],
                    [secret.arn for secret in secrets.by_key.values()],
                ),
            ],
        )

    def _task_role(
        self,
        lake_bucket: aws.s3.Bucket,
        ledger_table: aws.dynamodb.Table,
        topic: aws.sns.Topic,
        extra: list[Statement],
    ) -> aws.iam.Role:
        """What the flow code does: read/write the lake, claim windows, send alerts (and
        run the Spark job, when the stack has one: `extra`)."""
        return self._role(
            "flows-task",
            "ecs-tasks.amazonaws.com",
            [
                allow(
                    "ListLake",
                    ["s3:ListBucket"],
                    [lake_bucket.arn],
                    Condition={"StringLike": {"s3:prefix": [LAKE_PREFIX, f"{LAKE_PREFIX}*"]}},
                ),
                allow(
                    "ReadWriteLake",
                    [
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ],
                    [pulumi.Output.concat(lake_bucket.arn, "/", LAKE_PREFIX, "*")],
                ),
                allow(
                    "Ledger",
                    [
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                        "dynamodb:Query",
                    ],
                    [ledger_table.arn],
                ),
                allow("Alerts", ["sns:Publish"], [topic.arn]),
                *extra,
            ],
        )

    def _run_flows_statements(self) -> list[Statement]:
        """Start, watch and stop flow-run tasks on this cluster; nothing else."""
        cluster_name = self._names.ecs_cluster
        family_arn = self._arn("ecs", f"task-definition/{self.task_family}:*")
        task_arn = self._arn("ecs", f"task/{cluster_name}/*")
        on_cluster = {"ArnEquals": {"ecs:cluster": self.cluster.arn}}
        return [
            # ECS offers no resource-level control for these two.
            allow(
                "TaskDefinitions",
                ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"],
                ["*"],
            ),
            allow("RunFlowTasks", ["ecs:RunTask"], [family_arn], Condition=on_cluster),
            allow(
                "WatchFlowTasks",
                ["ecs:DescribeTasks", "ecs:StopTask"],
                [task_arn],
                Condition=on_cluster,
            ),
            allow(
                "TagOnCreate",
                ["ecs:TagResource"],
                [family_arn, task_arn],
                Condition={
                    "StringEquals": {"ecs:CreateAction": ["RunTask", "RegisterTaskDefinition"]}
                },
            ),
            allow("DescribeCluster", ["ecs:DescribeClusters"], [self.cluster.arn]),
            allow(
                "PassFlowRoles",
                ["iam:PassRole"],
                [self.task_role.arn, self.execution_role.arn],
                Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            ),
            allow(
                "ReadFlowLogs",
                ["logs:GetLogEvents"],
                [pulumi.Output.concat(self.log_group.arn, ":*")],
            ),
            # Used to check the configured subnets; EC2 Describe* has no resource scope.
            allow("DescribeNetwork", ["ec2:DescribeSubnets", "ec2:DescribeVpcs"], ["*"]),
        ]

    def _prefect_push_role(self) -> aws.iam.Role:
        """The role Prefect Cloud's ECS push pool assumes, only with our external id."""
        config = self._config
        trust = document(
            [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": config.prefect_trusted_principal},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": config.prefect_external_id}},
                }
            ]
        )
        role = aws.iam.Role(
            "prefect-push",
            name=f"{self._names.prefix}-prefect-push",
            assume_role_policy=trust,
            max_session_duration=3600,
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            "prefect-push-policy",
            role=role.id,
            policy=document(self._run_flows_statements()),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role

    def _worker(self, network: Network, secrets: Secrets) -> aws.ecs.Service:
        """A long-running Prefect ECS worker (hybrid pool) that starts flow-run tasks."""
        config = self._config
        worker_role = self._role(
            "prefect-worker", "ecs-tasks.amazonaws.com", self._run_flows_statements()
        )
        container = pulumi.Output.json_dumps(
            [
                {
                    "name": "prefect-worker",
                    "image": config.prefect_worker_image,
                    "essential": True,
                    "command": [
                        "prefect",
                        "worker",
                        "start",
                        "--pool",
                        self._names.work_pool,
                        "--type",
                        "ecs",
                    ],
                    "environment": [{"name": "PREFECT_API_URL", "value": config.prefect_api_url}],
                    "secrets": [
                        {
                            "name": "PREFECT_API_KEY",
                            "valueFrom": secrets.by_key["prefectApiKey"].arn,
                        }
                    ],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": self.log_group.name,
                            "awslogs-region": config.region,
                            "awslogs-stream-prefix": "worker",
                        },
                    },
                }
            ]
        )
        task = aws.ecs.TaskDefinition(
            "prefect-worker-task",
            family=f"{self._names.prefix}-prefect-worker",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu="256",
            memory="512",
            execution_role_arn=self.execution_role.arn,
            task_role_arn=worker_role.arn,
            container_definitions=container,
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.ecs.Service(
            "prefect-worker",
            name=f"{self._names.prefix}-prefect-worker",
            cluster=self.cluster.arn,
            task_definition=task.arn,
            desired_count=1,
            launch_type="FARGATE",
            network_configuration={
                "subnets": [subnet.id for subnet in network.task_subnets],
                "security_groups": [network.task_security_group.id],
                "assign_public_ip": not config.private_networking,
            },
            deployment_circuit_breaker={"enable": True, "rollback": True},
            propagate_tags="SERVICE",
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
