"""One validated settings object for every part of umwi (DESIGN.md §2).

Values come from `UMWI_*` environment variables and a `.env` file. An unsafe or
missing value stops start-up with one line naming the variable.
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from umwi_core.errors import SettingsError, first_problem
from umwi_core.ledger import DEFAULT_LEASE_S

ENV_PREFIX = "UMWI_"


class Environment(StrEnum):
    LOCAL = "local"
    AWS = "aws"


class Engine(StrEnum):
    """What builds gold: DuckDB in process, or Spark (local mode or Spark Connect)."""

    DUCKDB = "duckdb"
    SPARK = "spark"
    #: a job on the stack's EMR Serverless application (aws mode, `umwi:sparkEngine`)
    EMR_SERVERLESS = "emr-serverless"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _parse_share_map(value: object) -> object:
    """`gtfs_rt=0.99,navitia=0.05` → {"gtfs_rt": 0.99, "navitia": 0.05}."""
    if isinstance(value, str):
        result: dict[str, float] = {}
        for part in value.split(","):
            if not part.strip():
                continue
            name, sep, share = part.partition("=")
            if not sep:
                raise ValueError(f"expected source=share pairs, got {part.strip()!r}")
            result[name.strip()] = float(share)
        return result
    return value


class Settings(BaseSettings):
    """Everything umwi reads from its environment.

    Field names are the variable names without the `UMWI_` prefix.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    env: Environment = Field(Environment.LOCAL, description="`local` (default) or `aws`.")
    state_dir: Path = Field(
        Path(".umwi"),
        description="Local state: ledger `state.db`, `alerts.jsonl`, Prefect's home, scratch.",
    )
    lake_uri: str | None = Field(
        None,
        description="Lake root: a folder (default `<state dir>/lake`) or `s3://bucket/prefix`.",
    )
    config_file: Path = Field(
        Path("umwi.toml"), description="Sources and schedules for `umwi run` (see README)."
    )
    log_level: str = Field("INFO", description="Python log level.")

    # --- AWS -------------------------------------------------------------------------
    aws_region: str = Field("eu-west-1", description="AWS region of every umwi resource.")
    aws_endpoint_url: str | None = Field(
        None,
        description="Endpoint override for every AWS service (moto server in tests); "
        "falls back to the standard `AWS_ENDPOINT_URL`.",
    )
    ledger_table: str | None = Field(None, description="DynamoDB ledger table (aws).")
    cache_table: str | None = Field(None, description="DynamoDB API cache table (aws).")
    alerts_topic_arn: str | None = Field(None, description="SNS topic for alerts (aws).")

    # --- sources ---------------------------------------------------------------------
    openmeteo_url: str = Field(
        "https://api.open-meteo.com", description="Open-Meteo forecast API base URL."
    )
    openmeteo_archive_url: str = Field(
        "https://archive-api.open-meteo.com", description="Open-Meteo archive API base URL."
    )
    openmeteo_api_key: SecretStr | None = Field(
        None, description="Open-Meteo API key (commercial use; the free tier is non-commercial)."
    )
    navitia_url: str = Field("https://api.navitia.io/v1", description="Navitia API base URL.")
    navitia_token: SecretStr | None = Field(None, description="Navitia API token (secret).")
    http_timeout_s: float = Field(30.0, gt=0, le=600, description="Timeout of one HTTP request.")
    http_max_retries: int = Field(5, ge=0, le=20, description="Retries of a failed HTTP request.")
    http_concurrency: int = Field(4, ge=1, le=64, description="Concurrent requests per source.")
    task_retries: int = Field(2, ge=0, le=10, description="Retries of a failed flow I/O task.")
    task_retry_delay_s: float = Field(
        10.0, ge=0, le=3_600, description="First delay before a task retry (doubles each time)."
    )
    ledger_lease_s: float = Field(
        DEFAULT_LEASE_S,
        ge=1,
        le=86_400,
        description="How long a run's claim on a window lasts between renewals; a crashed "
        "run's windows are claimable again once it ends.",
    )

    # --- engine ----------------------------------------------------------------------
    duckdb_memory_limit: str = Field(
        # Keeps each command of a large run within a laptop's memory (measured peaks:
        # packages/umwi-transform/README.md); raise it on a bigger machine for fewer spills.
        "512MB",
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory of each DuckDB the transform and the gate open; beyond it "
        "DuckDB spills to the temp folder.",
    )

    engine: Engine = Field(
        Engine.DUCKDB,
        description="What `umwi build` builds gold with: `duckdb` (in process), `spark` "
        "or `emr-serverless` (a job on the stack's application).",
    )
    spark_remote: str | None = Field(
        None,
        description="Spark Connect server of the `spark` engine, `sc://host:port`; "
        "unset: Spark local mode in this process.",
    )
    spark_driver_memory: str = Field(
        # Spark's own default (1g) runs out of heap in the correlation step of a 10 M
        # history (packages/umwi-transform/README.md).
        "4g",
        pattern=r"^\d+[kmgt]?$",
        description="Heap of Spark local mode's driver (`spark.driver.memory`, e.g. 4g); "
        "a Spark Connect server sizes its own.",
    )
    emr_application_id: str | None = Field(
        None, description="EMR Serverless application of the `emr-serverless` engine (stack)."
    )
    emr_job_role_arn: str | None = Field(
        None, description="Execution role of the EMR Serverless build job (stack)."
    )
    emr_entry_point: str | None = Field(
        None, description="s3:// URI of the build job's entry script (uploaded by the stack)."
    )
    emr_spark_parameters: str = Field(
        "",
        description="Extra spark-submit parameters of the job, e.g. the packed Python "
        "environment (`--conf spark.archives=s3://…#environment …`).",
    )

    # --- KPIs ------------------------------------------------------------------------
    on_time_threshold_s: int = Field(300, ge=0, le=86_400, description="Latest on-time delay.")
    early_tolerance_s: int = Field(60, ge=0, le=86_400, description="Earliest on-time advance.")
    max_weather_distance_km: float = Field(
        25.0, gt=0, le=500, description="Farthest weather location a stop may take."
    )
    sensitivity_min_wet_hours: int = Field(
        30,
        ge=0,
        le=1_000_000,
        description="Wet location-hours a line needs in a period to get a sensitivity rank.",
    )

    # --- the outlook (DESIGN.md §8) ----------------------------------------------------
    outlook_shrinkage_hours: float = Field(
        24.0,
        gt=0,
        le=100_000,
        description="k of the outlook's shrinkage: a line's own uplift of a weather class "
        "gets weight hours / (hours + k) against the all-lines uplift.",
    )
    outlook_alert_hours: int = Field(
        6, ge=1, le=48, description="Hours ahead the outlook alert looks at."
    )
    outlook_alert_reliability: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Alert when a line's expected reliability over the next "
        "UMWI_OUTLOOK_ALERT_HOURS falls below this.",
    )

    # --- quality gate ----------------------------------------------------------------
    quality_volume_drop_pct: float = Field(
        80.0, gt=0, le=100, description="A day this % below its source's recent median fails."
    )
    quality_volume_history_days: int = Field(
        14, ge=1, le=365, description="Days of history the volume check compares with."
    )
    quality_volume_severity: str = Field("error", description="`error` or `warn`.")
    quality_freshness_max_h: float = Field(
        48.0, gt=0, description="Max hours between a run's window end and its newest record."
    )
    quality_freshness_severity: str = Field("warn", description="`error` or `warn`.")
    quality_future_tolerance_s: int = Field(
        3_600, ge=0, description="How far past now a scheduled time may lie."
    )
    quality_quarantine_max_share: float = Field(
        0.05, ge=0, le=1, description="Default expected quarantine share of a source's batch."
    )
    quality_quarantine_share_by_source: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict,
        description="Per-source overrides, `gtfs_rt=0.99,navitia=0.1`.",
    )
    quality_quarantine_severity: str = Field("error", description="`error` or `warn`.")
    quality_drift_max_shift_s: float = Field(
        120.0, gt=0, description="Median delay shift against history that warns."
    )
    quality_drift_severity: str = Field("warn", description="`error` or `warn`.")

    # --- API -------------------------------------------------------------------------
    api_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS."
    )
    api_cache_ttl_s: int = Field(300, ge=0, le=86_400, description="API result cache lifetime.")
    api_max_limit: int = Field(5_000, ge=1, le=100_000, description="Largest page size.")

    @field_validator("api_cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("quality_quarantine_share_by_source", mode="before")
    @classmethod
    def _shares(cls, value: object) -> object:
        return _parse_share_map(value)

    @field_validator(
        "quality_volume_severity",
        "quality_freshness_severity",
        "quality_quarantine_severity",
        "quality_drift_severity",
    )
    @classmethod
    def _severity(cls, value: str) -> str:
        if value not in ("error", "warn"):
            raise ValueError("must be 'error' or 'warn'")
        return value

    @field_validator("quality_quarantine_share_by_source")
    @classmethod
    def _share_range(cls, value: dict[str, float]) -> dict[str, float]:
        for source, share in value.items():
            if not 0 <= share <= 1:
                raise ValueError(f"share of {source!r} must be between 0 and 1")
        return value

    @field_validator("api_cors_origins")
    @classmethod
    def _no_wildcard_origin(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*":
                raise ValueError("'*' would let any site read the API; list the origins")
            if not origin.startswith(("http://", "https://")):
                raise ValueError(f"origin {origin!r} must start with http:// or https://")
        return value

    @field_validator("spark_remote")
    @classmethod
    def _spark_connect_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith("sc://") or len(value) <= len("sc://"):
            raise ValueError("must be a Spark Connect URL, sc://host:port")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return upper

    @field_validator("openmeteo_url", "openmeteo_archive_url", "navitia_url", "aws_endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.lake_uri is not None and self.lake_uri.startswith("s3://"):
            if self.env is Environment.LOCAL:
                raise ValueError(
                    "UMWI_LAKE_URI: an s3:// lake needs UMWI_ENV=aws (local mode keeps files)"
                )
            if len(self.lake_uri) <= len("s3://") or self.lake_uri[5] == "/":
                raise ValueError("UMWI_LAKE_URI: s3:// URI has no bucket")
        if self.env is Environment.AWS:
            missing = [
                name
                for name, value in (
                    ("UMWI_LAKE_URI", self.lake_uri),
                    ("UMWI_LEDGER_TABLE", self.ledger_table),
                    ("UMWI_CACHE_TABLE", self.cache_table),
                    ("UMWI_ALERTS_TOPIC_ARN", self.alerts_topic_arn),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"{missing[0]}: required when UMWI_ENV=aws")
            if not str(self.lake_uri).startswith("s3://"):
                raise ValueError("UMWI_LAKE_URI: must be s3://bucket/prefix when UMWI_ENV=aws")
            if not str(self.alerts_topic_arn).startswith("arn:"):
                raise ValueError("UMWI_ALERTS_TOPIC_ARN: must be an SNS topic ARN")
        if self.engine is Engine.EMR_SERVERLESS:
            for name, value in (
                ("UMWI_EMR_APPLICATION_ID", self.emr_application_id),
                ("UMWI_EMR_JOB_ROLE_ARN", self.emr_job_role_arn),
                ("UMWI_EMR_ENTRY_POINT", self.emr_entry_point),
            ):
                if not value:
                    raise ValueError(f"{name}: required when UMWI_ENGINE=emr-serverless")
            if not str(self.emr_entry_point).startswith("s3://"):
                raise ValueError("UMWI_EMR_ENTRY_POINT: must be an s3:// URI")
        if self.early_tolerance_s > self.on_time_threshold_s + 86_400:
            raise ValueError("UMWI_EARLY_TOLERANCE_S: unreasonably large")
        return self

    # --- derived ---------------------------------------------------------------------
    @cached_property
    def resolved_lake_uri(self) -> str:
        """The lake root: `lake_uri`, else `<state dir>/lake` as an absolute folder."""
        if self.lake_uri:
            if self.lake_uri.startswith("s3://"):
                return self.lake_uri.rstrip("/")
            return str(Path(self.lake_uri).expanduser().resolve())
        return str((self.state_dir / "lake").expanduser().resolve())

    @property
    def endpoint_url(self) -> str | None:
        """The AWS endpoint override, `UMWI_AWS_ENDPOINT_URL` first."""
        return self.aws_endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def expected_quarantine_share(self, source: str) -> float:
        return self.quality_quarantine_share_by_source.get(
            source, self.quality_quarantine_max_share
        )

    def secret_values(self) -> list[str]:
        """The secrets set, for redacting messages that might echo them."""
        values = [self.navitia_token, self.openmeteo_api_key]
        found = [value.get_secret_value() for value in values if value is not None]
        # A Spark Connect URL may carry a bearer token (`sc://host:port/;token=…`).
        if self.spark_remote is not None and ";token=" in self.spark_remote:
            found.append(self.spark_remote)
        return found

    @property
    def prefect_home(self) -> Path:
        return (self.state_dir / "prefect").expanduser().resolve()


def _describe(error: ValidationError) -> str:
    location, message = first_problem(error)
    if location:
        variable = ENV_PREFIX + location[0].upper()
        value = error.errors()[0].get("input")
        secret = any(word in location[0] for word in ("token", "key", "secret", "password"))
        shown = "" if isinstance(value, dict) or secret else f" (got {value!r})"
        return f"{variable}: {message}{shown}"
    return message


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings, or raise `SettingsError` with one line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
