"""The CORS policy shared by API Gateway and the API (umwi_core.cors)."""

from __future__ import annotations

import pytest
from umwi_core.cors import cors_policy, origin_of
from umwi_core.errors import InputError
from umwi_core.settings import Settings


def test_dashboard_origin_comes_first_and_extras_follow_once() -> None:
    policy = cors_policy(
        "https://d111.cloudfront.net/",
        ["https://dash.example.org", "https://d111.cloudfront.net", "http://127.0.0.1:8000"],
    )
    assert policy.origins == (
        "https://d111.cloudfront.net",
        "https://dash.example.org",
        "http://127.0.0.1:8000",
    )
    assert policy.environment() == {
        "UMWI_API_CORS_ORIGINS": (
            "https://d111.cloudfront.net,https://dash.example.org,http://127.0.0.1:8000"
        )
    }
    gateway = policy.gateway_configuration()
    assert gateway["allow_origins"] == list(policy.origins)
    assert gateway["expose_headers"] == ["X-Total-Count", "ETag", "X-Request-Id"]


def test_the_api_reads_back_the_same_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = cors_policy("http://127.0.0.1:9", ["https://a.example.org"])
    for name, value in policy.environment().items():
        monkeypatch.setenv(name, value)
    assert Settings().api_cors_origins == list(policy.origins)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("*", "'\\*' would let any site read the API"),
        ("ftp://example.org", "is not an http\\(s\\) origin"),
        ("https://example.org/app", "without a path"),
        ("https://Example.org", "must be written as the origin 'https://example.org'"),
    ],
)
def test_bad_extra_origins_are_refused_by_name(extra: str, message: str) -> None:
    with pytest.raises(InputError, match=f"umwi:corsOrigins: .*{message}"):
        cors_policy("https://d111.cloudfront.net", [extra])


def test_origin_of_strips_only_a_bare_slash() -> None:
    assert origin_of("https://d1.cloudfront.net/") == "https://d1.cloudfront.net"
    with pytest.raises(InputError, match="dashboard URL"):
        origin_of("*", where="dashboard URL")
