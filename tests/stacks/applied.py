"""The resources a synthesized stack declares, created on a moto server from their inputs.

`apply_stack` walks the resources the real Pulumi program declared (tests/stacks/synth.py)
and creates the ones moto can hold — buckets, DynamoDB tables, the SNS topic, IAM roles
and their inline policies, Secrets Manager secrets, ECR repositories and their policies,
the ECS cluster and task definitions —
from their recorded inputs, so a change to the program changes what is created here.
Each role then gets an STS session (taken before IAM enforcement starts: the roles trust
AWS services, which a test cannot act as; `test_policies.py` proves those trusts).

What moto's IAM enforcement judges (moto 5.2, `moto/iam/access_control.py`): S3 requests
carry their bucket or object ARN, so S3 statements are loaded verbatim and their
resources count; every other service is checked against the resource `*` only, and
conditions are ignored except `StringEquals` on values moto knows (`sts:ExternalId`).
`moto_policy` therefore keeps S3 statements as written and loads the other statements'
actions with `Resource: "*"`: a missing action still fails, while the ARNs and conditions
moto cannot judge are proven on the synthesized documents (`test_policies.py`).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tests.stacks.stack import Stack, as_list
from tests.stacks.synth import ACCOUNT_ID, REGION, computed_state
from tests.support.moto_process import moto_process

TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
TOPIC = "aws:sns/topic:Topic"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
CLUSTER = "aws:ecs/cluster:Cluster"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
#: Creation order: what a resource refers to is created before it.
APPLIED_TYPES = (
    VPC,
    SUBNET,
    SECURITY_GROUP,
    BUCKET,
    VERSIONING,
    TABLE,
    TOPIC,
    SECRET,
    SECRET_VERSION,
    ROLE,
    ROLE_POLICY,
    REPOSITORY,
    REPOSITORY_POLICY,
    CLUSTER,
    TASK_DEFINITION,
)
#: Checked against their real resources by moto (everything else: against "*").
RESOURCE_CHECKED_SERVICES = ("s3:",)
#: How Pulumi's mocks record a secret input: {SECRET_SIG: SECRET_VALUE, "value": ...}.
SECRET_SIG = "4dabf18193072939515e22adb298388d"


@dataclass(frozen=True)
class Credentials:
    """One principal's keys (an STS session when `session_token` is set)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def environment(self) -> dict[str, str]:
        """The AWS_* variables a process (boto3, deltalake, DuckDB) takes them from."""
        values = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
        }
        if self.session_token:
            values["AWS_SESSION_TOKEN"] = self.session_token
        return values

    def client(self, service: str, endpoint: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
        )


#: Keys moto accepts while enforcement is off; unknown to its IAM once it is on.
SETUP = Credentials("testing", "testing")


@dataclass
class AppliedStack:
    """A stack's resources on a moto server, and a session for each of its roles."""

    stack: Stack
    endpoint: str
    #: physical names of what was created, by resource type token
    created: dict[str, list[str]] = field(default_factory=dict)
    #: an STS session per role, by the role's logical (Pulumi) name
    sessions: dict[str, Credentials] = field(default_factory=dict)
    #: what the mocks made up (ids, ARN suffixes) -> what moto gave the same resource
    renamed: dict[str, str] = field(default_factory=dict)

    def session(self, role: str) -> Credentials:
        return self.sessions[role]

    def lambda_environment(self) -> dict[str, str]:
        """The API function's environment as the stack declares it."""
        (function,) = self.stack.all("lambda/function:Function")
        return dict(function["inputs"]["environment"]["variables"])

    def flow_environment(self) -> dict[str, str]:
        """The settings every flow run receives (the stack's `settings` output)."""
        return dict(self.stack.outputs["settings"])

    def outputs(self) -> dict[str, Any]:
        """The stack outputs with moto's ids and ARNs for the resources created here, as
        `pulumi stack output --json` would show them for this account."""

        def swap(value: Any) -> Any:
            if isinstance(value, str):
                return self.renamed.get(value, value)
            if isinstance(value, dict):
                return {key: swap(item) for key, item in value.items()}
            if isinstance(value, list):
                return [swap(item) for item in value]
            return value

        return dict(swap(self.stack.outputs))


def moto_policy(document: dict[str, Any]) -> dict[str, Any]:
    """`document` as moto can judge it: S3 statements verbatim, other actions on "*".

    A statement mixing S3 and other actions is split in two. Deny statements outside S3
    would be widened to every resource, so there must be none (no role policy has one).
    """
    statements: list[dict[str, Any]] = []
    for statement in as_list(document["Statement"]):
        actions = as_list(statement["Action"])
        checked = [a for a in actions if a.startswith(RESOURCE_CHECKED_SERVICES)]
        others = [a for a in actions if not a.startswith(RESOURCE_CHECKED_SERVICES)]
        if others and statement["Effect"] != "Allow":
            raise ValueError(f"cannot widen a Deny to Resource '*': {statement}")
        if checked:
            statements.append({**statement, "Action": checked})
        if others:
            loaded = {"Effect": "Allow", "Action": others, "Resource": "*"}
            if "Sid" in statement:
                loaded["Sid"] = statement["Sid"] + ("Actions" if checked else "")
            statements.append(loaded)
    return {"Version": document.get("Version", "2012-10-17"), "Statement": statements}


def set_enforcement(endpoint: str, *, on: bool) -> None:
    """Turn moto's IAM enforcement on or off for the whole server process.

    `/moto-api/reset-auth` sets moto's INITIAL_NO_AUTH_ACTION_COUNT (0: every following
    request is checked; infinity: none is) and restarts its count, which is what moto's
    own `set_initial_no_auth_action_count` does against a server.
    """
    request = urllib.request.Request(  # noqa: S310 (a local moto server)
        f"{endpoint}/moto-api/reset-auth",
        data=b"0" if on else b"inf",
        method="POST",
        # Without a body type Flask would parse the body as a form and lose it.
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200, response.read()


def hold_ecs_tasks(endpoint: str) -> None:
    """Keep ECS tasks RUNNING until StopTask, as Fargate keeps a task that runs.

    moto otherwise moves a task through its lifecycle to STOPPED as soon as it is
    described, and an ECS worker would report that it never started.
    """
    body = {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**9}}
    request = urllib.request.Request(  # noqa: S310 (a local moto server)
        f"{endpoint}/moto-api/state-manager/set-transition",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201, response.read()


@contextmanager
def iam_moto_server(log: Path | None = None) -> Iterator[str]:
    """A moto server of its own: enforcement is process-wide, so never the shared one.

    It starts with enforcement off (moto's INITIAL_NO_AUTH_ACTION_COUNT defaults to
    infinity); `set_enforcement` turns it on once the set-up calls are done.
    """
    with moto_process({"INITIAL_NO_AUTH_ACTION_COUNT": "inf"}, log) as endpoint:
        yield endpoint


class _Applier:
    def __init__(self, stack: Stack, endpoint: str) -> None:
        self.stack = stack
        self.endpoint = endpoint
        self.applied = AppliedStack(stack, endpoint)
        # Pulumi's mocks give every resource the id "<logical name>-id"; inputs that
        # refer to another resource's id hold that string.
        self.physical: dict[str, str] = {}

    def client(self, service: str) -> Any:
        return SETUP.client(service, self.endpoint)

    def resolve(self, reference: str) -> str:
        if reference not in self.physical:
            raise KeyError(f"{self.stack.key}: {reference!r} refers to nothing applied")
        return self.physical[reference]

    def run(self) -> AppliedStack:
        creators: dict[str, Callable[[dict[str, Any]], str]] = {
            VPC: self.vpc,
            SUBNET: self.subnet,
            SECURITY_GROUP: self.security_group,
            BUCKET: self.bucket,
            VERSIONING: self.versioning,
            TABLE: self.table,
            TOPIC: self.topic,
            SECRET: self.secret,
            SECRET_VERSION: self.secret_version,
            ROLE: self.role,
            ROLE_POLICY: self.role_policy,
            REPOSITORY: self.repository,
            REPOSITORY_POLICY: self.repository_policy,
            CLUSTER: self.cluster,
            TASK_DEFINITION: self.task_definition,
        }
        for typ in APPLIED_TYPES:
            for resource in self.stack.resources:
                if resource["type"] != typ:
                    continue
                name = creators[typ](dict(resource["inputs"]))
                self.physical[f"{resource['name']}-id"] = name
                if typ in (VPC, SUBNET, SECURITY_GROUP):
                    self.applied.renamed[f"{resource['name']}-id"] = name
                self.applied.created.setdefault(typ, []).append(name)
        self.take_sessions()
        return self.applied

    def vpc(self, inputs: dict[str, Any]) -> str:
        ec2 = self.client("ec2")
        vpc = str(ec2.create_vpc(CidrBlock=inputs["cidrBlock"])["Vpc"]["VpcId"])
        # One attribute per call, as the EC2 API wants them.
        for key, attribute in (
            ("enableDnsSupport", "EnableDnsSupport"),
            ("enableDnsHostnames", "EnableDnsHostnames"),
        ):
            if key in inputs:
                ec2.modify_vpc_attribute(VpcId=vpc, **{attribute: {"Value": bool(inputs[key])}})
        return vpc

    def subnet(self, inputs: dict[str, Any]) -> str:
        created = self.client("ec2").create_subnet(
            VpcId=self.resolve(inputs["vpcId"]),
            CidrBlock=inputs["cidrBlock"],
            AvailabilityZone=inputs["availabilityZone"],
        )
        return str(created["Subnet"]["SubnetId"])

    def security_group(self, inputs: dict[str, Any]) -> str:
        created = self.client("ec2").create_security_group(
            GroupName=inputs["name"],
            Description=inputs["description"],
            VpcId=self.resolve(inputs["vpcId"]),
        )
        return str(created["GroupId"])

    def bucket(self, inputs: dict[str, Any]) -> str:
        name = str(inputs["bucket"])
        self.client("s3").create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return name

    def versioning(self, inputs: dict[str, Any]) -> str:
        bucket = self.resolve(inputs["bucket"])
        status = inputs["versioningConfiguration"]["status"]
        self.client("s3").put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": status}
        )
        return bucket

    def table(self, inputs: dict[str, Any]) -> str:
        name = str(inputs["name"])
        keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(
            TableName=name,
            KeySchema=keys,
            AttributeDefinitions=[
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in inputs["attributes"]
            ],
            BillingMode=inputs["billingMode"],
            SSESpecification={"Enabled": bool(inputs["serverSideEncryption"]["enabled"])},
            DeletionProtectionEnabled=bool(inputs.get("deletionProtectionEnabled", False)),
        )
        ttl = inputs.get("ttl")
        if ttl:
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "AttributeName": ttl["attributeName"],
                    "Enabled": bool(ttl["enabled"]),
                },
            )
        return name

    def topic(self, inputs: dict[str, Any]) -> str:
        attributes = {"KmsMasterKeyId": inputs["kmsMasterKeyId"]}
        arn = self.client("sns").create_topic(Name=inputs["name"], Attributes=attributes)
        return str(arn["TopicArn"])

    def secret(self, inputs: dict[str, Any]) -> str:
        name = str(inputs["name"])
        arn = self.client("secretsmanager").create_secret(Name=name)["ARN"]
        # moto draws its own random suffix for the ARN.
        self.applied.renamed[computed_state(SECRET, name, inputs)["arn"]] = str(arn)
        return name

    def secret_version(self, inputs: dict[str, Any]) -> str:
        name = self.resolve(inputs["secretId"])
        self.client("secretsmanager").put_secret_value(
            SecretId=name, SecretString=_unsecret(inputs["secretString"])
        )
        return name

    def role(self, inputs: dict[str, Any]) -> str:
        name = str(inputs["name"])
        extra = {}
        if "maxSessionDuration" in inputs:
            extra["MaxSessionDuration"] = int(inputs["maxSessionDuration"])
        self.client("iam").create_role(
            RoleName=name, AssumeRolePolicyDocument=inputs["assumeRolePolicy"], **extra
        )
        return name

    def role_policy(self, inputs: dict[str, Any]) -> str:
        role = self.resolve(inputs["role"])
        document = moto_policy(json.loads(inputs["policy"]))
        self.client("iam").put_role_policy(
            RoleName=role, PolicyName=f"{role}-policy", PolicyDocument=json.dumps(document)
        )
        return role

    def repository(self, inputs: dict[str, Any]) -> str:
        name = str(inputs["name"])
        self.client("ecr").create_repository(
            repositoryName=name,
            imageTagMutability=inputs["imageTagMutability"],
            imageScanningConfiguration={
                "scanOnPush": bool(inputs["imageScanningConfiguration"]["scanOnPush"])
            },
        )
        return name

    def repository_policy(self, inputs: dict[str, Any]) -> str:
        # moto validates the document as ECR does (a principal, no resource needed).
        name = str(inputs["repository"])
        self.client("ecr").set_repository_policy(repositoryName=name, policyText=inputs["policy"])
        return name

    def cluster(self, inputs: dict[str, Any]) -> str:
        name = str(inputs["name"])
        self.client("ecs").create_cluster(
            clusterName=name,
            settings=[{"name": s["name"], "value": s["value"]} for s in inputs["settings"]],
        )
        return name

    def task_definition(self, inputs: dict[str, Any]) -> str:
        family = str(inputs["family"])
        self.client("ecs").register_task_definition(
            family=family,
            containerDefinitions=json.loads(inputs["containerDefinitions"]),
            cpu=inputs["cpu"],
            memory=inputs["memory"],
            networkMode=inputs["networkMode"],
            requiresCompatibilities=inputs["requiresCompatibilities"],
            executionRoleArn=inputs["executionRoleArn"],
            taskRoleArn=inputs["taskRoleArn"],
        )
        return family

    def take_sessions(self) -> None:
        sts = self.client("sts")
        for resource in self.stack.all(ROLE.split(":", 1)[1]):
            name = resource["inputs"]["name"]
            found = sts.assume_role(
                RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
                RoleSessionName=f"test-{resource['name']}",
            )["Credentials"]
            self.applied.sessions[resource["name"]] = Credentials(
                found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"]
            )


def _unsecret(value: Any) -> str:
    if isinstance(value, dict) and SECRET_SIG in value:
        return str(value["value"])
    return str(value)


def apply_stack(stack: Stack, endpoint: str) -> AppliedStack:
    """Create `stack`'s resources on the moto server at `endpoint` (enforcement off)."""
    return _Applier(stack, endpoint).run()


def iam_user(endpoint: str, name: str, policy: dict[str, Any] | None) -> Credentials:
    """An IAM user holding `policy` (or nothing), with an access key (enforcement off)."""
    iam = SETUP.client("iam", endpoint)
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


__all__ = [
    "APPLIED_TYPES",
    "SETUP",
    "AppliedStack",
    "Credentials",
    "apply_stack",
    "hold_ecs_tasks",
    "iam_moto_server",
    "iam_user",
    "moto_policy",
    "set_enforcement",
]
