from __future__ import annotations

from pathlib import Path

import pytest
from umwi_core.errors import SettingsError
from umwi_core.settings import Environment, load_settings


def test_defaults_are_local_and_embedded(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.env is Environment.LOCAL
    assert settings.resolved_lake_uri == str(tmp_path / ".umwi" / "lake")
    assert settings.on_time_threshold_s == 300
    assert settings.early_tolerance_s == 60
    assert settings.max_weather_distance_km == 25
    assert settings.prefect_home == tmp_path / ".umwi" / "prefect"


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UMWI_STATE_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("UMWI_ON_TIME_THRESHOLD_S", "180")
    monkeypatch.setenv("UMWI_API_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("UMWI_QUALITY_QUARANTINE_SHARE_BY_SOURCE", "gtfs_rt=0.99,navitia=0.1")
    settings = load_settings()
    assert settings.on_time_threshold_s == 180
    assert settings.resolved_lake_uri == str(tmp_path / "s" / "lake")
    assert settings.api_cors_origins == ["https://a.example", "https://b.example"]
    assert settings.expected_quarantine_share("gtfs_rt") == 0.99
    assert settings.expected_quarantine_share("file") == 0.05


def test_reads_dot_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("UMWI_MAX_WEATHER_DISTANCE_KM=12.5\n")
    assert load_settings().max_weather_distance_km == 12.5


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("UMWI_ENV", "cloud", "UMWI_ENV: Input should be 'local' or 'aws'"),
        ("UMWI_ON_TIME_THRESHOLD_S", "-1", "UMWI_ON_TIME_THRESHOLD_S: Input should be greater"),
        ("UMWI_ON_TIME_THRESHOLD_S", "five", "UMWI_ON_TIME_THRESHOLD_S: Input should be a valid"),
        ("UMWI_MAX_WEATHER_DISTANCE_KM", "0", "UMWI_MAX_WEATHER_DISTANCE_KM"),
        ("UMWI_API_CORS_ORIGINS", "*", "UMWI_API_CORS_ORIGINS: '*' would let any site"),
        ("UMWI_API_CORS_ORIGINS", "example.com", "must start with http"),
        ("UMWI_OPENMETEO_URL", "ftp://x", "UMWI_OPENMETEO_URL: must be an http"),
        ("UMWI_LAKE_URI", "s3://bucket/lake", "UMWI_LAKE_URI: an s3:// lake needs UMWI_ENV=aws"),
        ("UMWI_QUALITY_VOLUME_SEVERITY", "fatal", "UMWI_QUALITY_VOLUME_SEVERITY: must be"),
        ("UMWI_QUALITY_QUARANTINE_SHARE_BY_SOURCE", "gtfs_rt=2", "between 0 and 1"),
        ("UMWI_QUALITY_QUARANTINE_SHARE_BY_SOURCE", "gtfs_rt", "source=share pairs"),
        ("UMWI_LOG_LEVEL", "loud", "UMWI_LOG_LEVEL"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    text = str(raised.value)
    assert message in text
    assert "\n" not in text


def test_aws_mode_requires_its_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UMWI_ENV", "aws")
    with pytest.raises(SettingsError, match=r"^UMWI_LAKE_URI: required when UMWI_ENV=aws$"):
        load_settings()
    monkeypatch.setenv("UMWI_LAKE_URI", "/tmp/lake")
    monkeypatch.setenv("UMWI_LEDGER_TABLE", "t")
    monkeypatch.setenv("UMWI_CACHE_TABLE", "c")
    monkeypatch.setenv("UMWI_ALERTS_TOPIC_ARN", "arn:aws:sns:eu-west-1:1:t")
    with pytest.raises(SettingsError, match="must be s3://"):
        load_settings()
    monkeypatch.setenv("UMWI_LAKE_URI", "s3://bucket/lake")
    settings = load_settings()
    assert settings.resolved_lake_uri == "s3://bucket/lake"


def test_secret_values_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UMWI_NAVITIA_TOKEN", "super-secret-token")
    settings = load_settings()
    assert "super-secret-token" not in repr(settings)
    assert settings.navitia_token is not None
    assert settings.navitia_token.get_secret_value() == "super-secret-token"


def test_endpoint_override_falls_back_to_standard_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert load_settings().endpoint_url == "http://127.0.0.1:9"
    monkeypatch.setenv("UMWI_AWS_ENDPOINT_URL", "http://127.0.0.1:10")
    assert load_settings().endpoint_url == "http://127.0.0.1:10"


def test_engine_and_spark_connect_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from umwi_core.settings import Engine

    assert load_settings().engine is Engine.DUCKDB
    assert load_settings().spark_remote is None  # Spark local mode
    monkeypatch.setenv("UMWI_ENGINE", "spark")
    monkeypatch.setenv("UMWI_SPARK_REMOTE", "sc://spark.example:15002")
    settings = load_settings()
    assert settings.engine is Engine.SPARK
    assert settings.spark_remote == "sc://spark.example:15002"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "UMWI_ENGINE",
            "polars",
            "UMWI_ENGINE: Input should be 'duckdb', 'spark' or 'emr-serverless'",
        ),
        (
            "UMWI_SPARK_REMOTE",
            "http://spark:15002",
            "UMWI_SPARK_REMOTE: must be a Spark Connect URL, sc://host:port",
        ),
    ],
)
def test_a_bad_engine_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_a_spark_connect_token_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation: drop the `;token=` branch of `secret_values` and the URL is not redacted."""
    monkeypatch.setenv("UMWI_SPARK_REMOTE", "sc://spark.example:443/;use_ssl=true;token=abc123")
    assert "sc://spark.example:443/;use_ssl=true;token=abc123" in load_settings().secret_values()


def test_the_emr_serverless_engine_needs_the_stacks_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UMWI_ENGINE", "emr-serverless")
    with pytest.raises(SettingsError, match=r"^UMWI_EMR_APPLICATION_ID: required when UMWI_ENGINE"):
        load_settings()
    monkeypatch.setenv("UMWI_EMR_APPLICATION_ID", "00abc")
    monkeypatch.setenv("UMWI_EMR_JOB_ROLE_ARN", "arn:aws:iam::123456789012:role/job")
    monkeypatch.setenv("UMWI_EMR_ENTRY_POINT", "/tmp/job.py")
    with pytest.raises(SettingsError, match=r"^UMWI_EMR_ENTRY_POINT: must be an s3:// URI"):
        load_settings()
    monkeypatch.setenv("UMWI_EMR_ENTRY_POINT", "s3://bucket/artifacts/spark/umwi_gold_job.py")
    assert load_settings().emr_application_id == "00abc"
