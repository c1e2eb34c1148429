"""The stack configuration (`umwi:*` keys of Pulumi.<stack>.yaml), validated up front.

A wrong value stops `pulumi preview`/`up` with one line naming the key, before any
resource is planned.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pulumi
from umwi_core.cors import origin_of
from umwi_core.deployment import SECRETS, SPARK_ENGINES
from umwi_core.errors import InputError

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
     2557, 2922, 3288, 3653}
)  # fmt: skip
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PRINCIPAL = re.compile(r"^arn:aws:iam::\d{12}:(root|role/[\w+=,.@/-]+)$")
_REPOSITORY = re.compile(r"^[\w.-]+/[\w.-]+$")
_OIDC_PROVIDER = re.compile(
    r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
# A tag can be moved to other code; a digest cannot.
_DIGEST_IMAGE = re.compile(r"^[\w.:/-]+@sha256:[0-9a-f]{64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KMS_KEY = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
#: Optional settings that must match a pattern: the key, the pattern, the error (`{!r}`
#: standing for the value given). `load_config` reads them in this order.
_PATTERNED = (
    ("githubRepository", _REPOSITORY, "must be owner/name (got {!r})"),
    (
        "githubOidcProviderArn",
        _OIDC_PROVIDER,
        "must be the ARN of the token.actions.githubusercontent.com identity provider",
    ),
    ("pulumiStateBucket", _BUCKET, "{!r} is not an S3 bucket name"),
    (
        "pulumiSecretsKeyArn",
        _KMS_KEY,
        "must be the ARN of the KMS key of the stack's awskms:// secrets provider",
    ),
)

PrefectMode = Literal["push", "worker"]


class StackConfigError(ValueError):
    """A `umwi:*` (or `aws:region`) stack setting is missing or invalid."""


@dataclass(frozen=True)
class StackConfig:
    """Everything the program reads from the stack configuration."""

    env: str
    owner: str
    region: str
    name_suffix: str | None
    retain_data: bool
    alert_emails: list[str]
    cors_origins: list[str]
    api_bundle: Path
    api_reserved_concurrency: int
    api_provisioned_concurrency: int
    api_memory_mb: int
    api_throttle_rate: float
    api_throttle_burst: int
    log_retention_days: int
    bronze_ia_days: int
    bronze_glacier_days: int | None
    bronze_expire_days: int | None
    noncurrent_expire_days: int
    private_networking: bool
    vpc_cidr: str
    availability_zones: list[str]
    container_insights: bool
    task_cpu: int
    task_memory_mb: int
    prefect_mode: PrefectMode
    prefect_trusted_principal: str | None
    prefect_external_id: str | None
    prefect_api_url: str | None
    prefect_worker_image: str
    github_repository: str | None
    github_oidc_provider_arn: str | None
    pulumi_state_bucket: str | None
    pulumi_secrets_key_arn: str | None
    #: `umwi:sparkEngine`: "none" (default) or "emr-serverless"
    spark_engine: str = "none"
    secret_values: dict[str, pulumi.Output[str]] = field(default_factory=dict)

    @property
    def tags(self) -> dict[str, str]:
        return {
            "project": "umwi",
            "environment": self.env,
            "owner": self.owner,
            "managed-by": "pulumi",
        }


def _fail(key: str, message: str) -> StackConfigError:
    return StackConfigError(f"{key}: {message}")


def _int(config: pulumi.Config, key: str, default: int, low: int, high: int) -> int:
    raw = config.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _fail(f"umwi:{key}", f"must be an integer (got {raw!r})") from None
    if not low <= value <= high:
        raise _fail(f"umwi:{key}", f"must be between {low} and {high} (got {value})")
    return value


def _optional_int(config: pulumi.Config, key: str, low: int, high: int) -> int | None:
    if config.get(key) is None:
        return None
    return _int(config, key, 0, low, high)


def _float(config: pulumi.Config, key: str, default: float, low: float, high: float) -> float:
    raw = config.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _fail(f"umwi:{key}", f"must be a number (got {raw!r})") from None
    if not low <= value <= high:
        raise _fail(f"umwi:{key}", f"must be between {low} and {high} (got {value})")
    return value


def _bool(config: pulumi.Config, key: str, default: bool) -> bool:
    raw = config.get(key)
    if raw is None:
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise _fail(f"umwi:{key}", f"must be true or false (got {raw!r})")


def _strings(config: pulumi.Config, key: str) -> list[str]:
    raw = config.get(key)
    if raw is None:
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise _fail(f"umwi:{key}", "must be a YAML list of strings") from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(f"umwi:{key}", "must be a YAML list of strings")
    return value


def _matching(
    config: pulumi.Config, key: str, pattern: re.Pattern[str], problem: str
) -> str | None:
    """The optional text setting `key`, which must match `pattern`; `problem` is the error,
    `{!r}` in it standing for the value given."""
    value = config.get(key)
    if value is not None and not pattern.match(value):
        raise _fail(f"umwi:{key}", problem.format(value))
    return value


def _origins(values: list[str]) -> list[str]:
    for origin in values:
        try:
            written = origin_of(origin, where="umwi:corsOrigins")
        except InputError as error:
            raise StackConfigError(str(error)) from None
        if written != origin:
            raise _fail(
                "umwi:corsOrigins",
                f"{origin!r} must be a scheme://host[:port] origin without a trailing slash",
            )
    return values


def load_config(project_root: Path) -> StackConfig:
    """Read and validate the current stack's configuration.

    Relative paths (the API bundle) are resolved against `project_root`, the folder of
    Pulumi.yaml, so the program behaves the same whatever folder Pulumi runs it from.
    """
    config = pulumi.Config("umwi")
    region = pulumi.Config("aws").get("region")
    if not region or not _REGION.match(region):
        raise _fail("aws:region", f"must be an AWS region such as eu-west-1 (got {region!r})")
    env = config.get("environment") or pulumi.get_stack()
    owner = config.get("owner")
    if not owner:
        raise _fail("umwi:owner", "required (team or person answering for this environment)")

    emails = _strings(config, "alertEmails")
    for email in emails:
        if not _EMAIL.match(email):
            raise _fail("umwi:alertEmails", f"{email!r} is not an e-mail address")

    retention = _int(config, "logRetentionDays", 14, 1, 3653)
    if retention not in LOG_RETENTION_DAYS:
        raise _fail(
            "umwi:logRetentionDays",
            f"{retention} is not a CloudWatch retention period ({sorted(LOG_RETENTION_DAYS)})",
        )

    bundle = Path(config.get("apiBundle") or "api/dist/lambda.zip")
    if not bundle.is_absolute():
        bundle = project_root / bundle
    if not bundle.is_file():
        raise _fail(
            "umwi:apiBundle",
            f"{bundle} not found; build it first with `uv run python api/build_lambda.py`",
        )

    # Worker mode by default: it runs with an IAM role and no static key (stacks/README.md,
    # "Prefect: why worker mode").
    mode = config.get("prefectMode") or "worker"
    if mode not in ("push", "worker"):
        raise _fail("umwi:prefectMode", f"must be push or worker (got {mode!r})")
    principal = config.get("prefectTrustedPrincipal")
    external_id = config.get("prefectExternalId")
    api_url = config.get("prefectApiUrl")
    worker_image = config.get("prefectWorkerImage")
    if mode == "push":
        if not principal or not _PRINCIPAL.match(principal):
            raise _fail(
                "umwi:prefectTrustedPrincipal",
                "required in push mode: the IAM principal ARN Prefect Cloud assumes the role "
                f"from, arn:aws:iam::<account>:root or :role/<name> (got {principal!r})",
            )
        if not external_id or len(external_id) < 8:
            raise _fail("umwi:prefectExternalId", "required in push mode (at least 8 characters)")
    else:
        if not api_url or not api_url.startswith("https://"):
            raise _fail(
                "umwi:prefectApiUrl",
                "required in worker mode: "
                "https://api.prefect.cloud/api/accounts/<id>/workspaces/<id>",
            )
        if not _DIGEST_IMAGE.match(worker_image or ""):
            raise _fail(
                "umwi:prefectWorkerImage",
                "required in worker mode, pinned by digest: "
                f"prefecthq/prefect-aws@sha256:<64 hex digits> (got {worker_image!r})",
            )

    cidr = config.get("vpcCidr") or "10.42.0.0/16"
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError:
        raise _fail("umwi:vpcCidr", f"{cidr!r} is not a CIDR block") from None
    if network.version != 4 or not 16 <= network.prefixlen <= 20:
        raise _fail("umwi:vpcCidr", f"must be an IPv4 block from /16 to /20 (got {cidr})")

    azs = _strings(config, "availabilityZones") or [f"{region}a", f"{region}b"]
    if len(azs) < 2:
        raise _fail("umwi:availabilityZones", "list at least two zones")

    glacier = _optional_int(config, "bronzeGlacierDays", 31, 36_500)
    expire = _optional_int(config, "bronzeExpireDays", 1, 36_500)
    ia_days = _int(config, "bronzeInfrequentAccessDays", 30, 30, 36_500)
    if glacier is not None and glacier <= ia_days:
        raise _fail("umwi:bronzeGlacierDays", "must come after umwi:bronzeInfrequentAccessDays")

    repository, oidc_provider, state_bucket, secrets_key = (
        _matching(config, key, pattern, problem) for key, pattern, problem in _PATTERNED
    )

    reserved = _int(config, "apiReservedConcurrency", 5, 1, 1000)
    provisioned = _int(config, "apiProvisionedConcurrency", 0, 0, 1000)
    if provisioned > reserved:
        raise _fail(
            "umwi:apiProvisionedConcurrency",
            f"{provisioned} exceeds umwi:apiReservedConcurrency ({reserved})",
        )

    spark_engine = config.get("sparkEngine") or "none"
    if spark_engine not in SPARK_ENGINES:
        raise _fail(
            "umwi:sparkEngine", f"must be one of {', '.join(SPARK_ENGINES)} (got {spark_engine!r})"
        )

    secrets = {
        key: value
        for key in (secret.key for secret in SECRETS)
        if (value := config.get_secret(key)) is not None
    }
    return StackConfig(
        env=env,
        owner=owner,
        region=region,
        name_suffix=config.get("nameSuffix"),
        retain_data=_bool(config, "retainData", False),
        alert_emails=emails,
        cors_origins=_origins(_strings(config, "corsOrigins")),
        api_bundle=bundle,
        api_reserved_concurrency=reserved,
        api_provisioned_concurrency=provisioned,
        api_memory_mb=_int(config, "apiMemoryMb", 1024, 128, 10_240),
        api_throttle_rate=_float(config, "apiThrottleRateLimit", 20.0, 1.0, 10_000.0),
        api_throttle_burst=_int(config, "apiThrottleBurstLimit", 40, 1, 5_000),
        log_retention_days=retention,
        bronze_ia_days=ia_days,
        bronze_glacier_days=glacier,
        bronze_expire_days=expire,
        noncurrent_expire_days=_int(config, "noncurrentVersionExpireDays", 30, 1, 3650),
        private_networking=_bool(config, "privateNetworking", False),
        vpc_cidr=cidr,
        availability_zones=azs,
        container_insights=_bool(config, "containerInsights", False),
        task_cpu=_int(config, "taskCpu", 1024, 256, 16_384),
        task_memory_mb=_int(config, "taskMemoryMb", 2048, 512, 122_880),
        prefect_mode=mode,  # type: ignore[arg-type]
        prefect_trusted_principal=principal,
        prefect_external_id=external_id,
        prefect_api_url=api_url,
        prefect_worker_image=worker_image or "",
        github_repository=repository,
        github_oidc_provider_arn=oidc_provider,
        pulumi_state_bucket=state_bucket,
        pulumi_secrets_key_arn=secrets_key,
        spark_engine=spark_engine,
        secret_values=secrets,
    )
