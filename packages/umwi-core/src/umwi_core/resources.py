"""The one place that decides between local and aws (DESIGN.md §2, `UMWI_ENV`).

`build_resources(settings)` picks every environment-specific adapter once — lake, ledger,
alerts, the API's result cache, how readers outside boto3 reach the lake — and the flows,
the CLI and the API receive that bundle instead of branching again. A test
(`tests/packages/umwi_core/test_resources.py`) fails on any such branch outside this
module. Adapters are built on first use: the API never opens a ledger, a flow never an API
cache, so neither needs the other's credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from umwi_core.cache import DynamoCache, MemoryCache, ResultCache
from umwi_core.lake import Lake
from umwi_core.ledger import Ledger
from umwi_core.settings import Environment, Settings

if TYPE_CHECKING:
    # Only a flow sends alerts: the API (its Lambda cold start) never imports them.
    from umwi_core.alerts import AlertSink


@dataclass(frozen=True)
class S3Access:
    """How a client outside boto3 (DuckDB's httpfs) reaches an S3 lake.

    Credentials are not held here: they are read from the standard AWS chain each time
    (`credentials()`), because on Lambda and ECS they are temporary and rotate.
    """

    region: str
    endpoint_url: str | None

    def credentials(self) -> tuple[str, str, str | None]:
        """(access key id, secret key, session token) from the AWS credential chain."""
        import boto3

        from umwi_core.errors import LakeError

        found = boto3.Session().get_credentials()
        if found is None:
            raise LakeError("no AWS credentials found to read the lake from S3")
        frozen = found.get_frozen_credentials()
        return frozen.access_key, frozen.secret_key, frozen.token or None


def make_lake(settings: Settings) -> Lake:
    """The lake the settings name: S3 for `s3://` roots, a folder otherwise."""
    root = settings.resolved_lake_uri
    if root.startswith("s3://"):
        from umwi_core._s3_lake import S3Lake

        return S3Lake(root, settings)
    from umwi_core._local_lake import LocalLake

    return LocalLake(root)


def make_ledger(settings: Settings) -> Ledger:
    """SQLite under the state folder locally, DynamoDB on aws."""
    if settings.env is Environment.AWS:
        from umwi_core._dynamo_ledger import DynamoLedger

        assert settings.ledger_table is not None  # the settings validator requires it
        return DynamoLedger(settings.ledger_table, settings)
    from umwi_core._sqlite_ledger import SqliteLedger

    return SqliteLedger(settings.state_dir.expanduser().resolve() / "state.db")


def make_alerts(settings: Settings) -> AlertSink:
    """SNS on aws; locally a log line plus `<state dir>/alerts.jsonl`."""
    from umwi_core.alerts import FileAlertSink, SnsAlertSink

    if settings.env is Environment.AWS:
        assert settings.alerts_topic_arn is not None  # the settings validator requires it
        return SnsAlertSink(settings.alerts_topic_arn, settings)
    return FileAlertSink(settings.state_dir.expanduser().resolve() / "alerts.jsonl")


def make_cache(settings: Settings) -> ResultCache:
    """The API's result cache: the DynamoDB table on aws, process memory locally."""
    if settings.env is Environment.AWS and settings.cache_table:
        return DynamoCache(settings, settings.cache_table)
    return MemoryCache(settings.api_cache_ttl_s)


class Resources:
    """Every environment-specific adapter, chosen once from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def lake(self) -> Lake:
        return make_lake(self.settings)

    @cached_property
    def ledger(self) -> Ledger:
        return make_ledger(self.settings)

    @cached_property
    def alerts(self) -> AlertSink:
        return make_alerts(self.settings)

    @cached_property
    def api_cache(self) -> ResultCache:
        return make_cache(self.settings)

    @cached_property
    def s3_access(self) -> S3Access | None:
        """How DuckDB reaches the lake over S3; None when the lake is a local folder."""
        if not self.settings.resolved_lake_uri.startswith("s3://"):
            return None
        return S3Access(self.settings.aws_region, self.settings.endpoint_url)

    @property
    def local_io(self) -> bool:
        """Whether lake and cache reads are local (cheap enough for an event loop)."""
        return self.settings.env is Environment.LOCAL

    @property
    def pointer_ttl_s(self) -> float:
        """How long a reader may reuse the publication pointer before reading it again.

        Locally the pointer is one small file read; on S3 each read is a GET, so a few
        seconds of staleness buys latency (a republish still shows within that window).
        """
        return 0.0 if self.local_io else 5.0


def build_resources(settings: Settings) -> Resources:
    """The bundle for these settings (adapters are built when first used)."""
    return Resources(settings)


__all__ = [
    "Resources",
    "S3Access",
    "build_resources",
    "make_alerts",
    "make_cache",
    "make_lake",
    "make_ledger",
]
