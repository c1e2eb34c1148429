"""Who may call the API from a browser: one policy for API Gateway and the app behind it.

When an API Gateway HTTP API has a CORS configuration it answers preflights itself and
drops the backend's CORS headers, so the gateway's `cors_configuration` and the Lambda's
`UMWI_API_CORS_ORIGINS` must say the same thing. Both come from `cors_policy`: the
dashboard's own origin (its CloudFront distribution) plus the configured extras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from umwi_core.errors import InputError

#: Response headers the dashboard reads cross-origin (`web/app.js`: paging and caching).
EXPOSED_HEADERS = ("X-Total-Count", "ETag", "X-Request-Id")
#: The only request header beyond the CORS-safelisted ones a client sends (revalidation).
ALLOWED_HEADERS = ("If-None-Match",)
ALLOWED_METHODS = ("GET",)
#: How long a browser may reuse a preflight answer (seconds).
MAX_AGE_S = 600
#: The environment variable the API reads its allow-list from (umwi_core.settings).
ORIGINS_VARIABLE = "UMWI_API_CORS_ORIGINS"


def origin_of(url: str, *, where: str = "origin") -> str:
    """`scheme://host[:port]` of `url`, checked: never `*`, never a path."""
    if url.strip() == "*":
        raise InputError(f"{where}: '*' would let any site read the API; list origins")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{where}: {url!r} is not an http(s) origin such as https://example.org")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InputError(f"{where}: {url!r} must be scheme://host[:port], without a path")
    return f"{parts.scheme}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class CorsPolicy:
    """The allowed origins (dashboard first) and what a cross-origin caller may do."""

    origins: tuple[str, ...]
    exposed_headers: tuple[str, ...] = EXPOSED_HEADERS
    allowed_headers: tuple[str, ...] = ALLOWED_HEADERS
    allowed_methods: tuple[str, ...] = ALLOWED_METHODS
    max_age_s: int = MAX_AGE_S

    def gateway_configuration(self) -> dict[str, Any]:
        """API Gateway v2 `cors_configuration` (pulumi-aws `ApiCorsConfigurationArgsDict`)."""
        return {
            "allow_origins": list(self.origins),
            "allow_methods": list(self.allowed_methods),
            # API Gateway compares request headers case-insensitively; list them lower-case.
            "allow_headers": [header.lower() for header in self.allowed_headers],
            "expose_headers": list(self.exposed_headers),
            "max_age": self.max_age_s,
        }

    def environment(self) -> dict[str, str]:
        """The API's own setting (`UMWI_API_CORS_ORIGINS`), for local serving and Lambda."""
        return {ORIGINS_VARIABLE: ",".join(self.origins)}


def cors_policy(dashboard_url: str, extra_origins: list[str] | tuple[str, ...] = ()) -> CorsPolicy:
    """The policy for a dashboard served at `dashboard_url` plus `extra_origins`.

    The dashboard's origin is always allowed (it is what the stack deploys); extras
    (a custom domain, a developer's localhost) follow in order, duplicates dropped.
    """
    origins = [origin_of(dashboard_url, where="dashboard URL")]
    for extra in extra_origins:
        origin = origin_of(extra, where="umwi:corsOrigins")
        if origin != extra:
            raise InputError(
                f"umwi:corsOrigins: {extra!r} must be written as the origin {origin!r}"
            )
        if origin not in origins:
            origins.append(origin)
    return CorsPolicy(origins=tuple(origins))


__all__ = [
    "ALLOWED_HEADERS",
    "ALLOWED_METHODS",
    "EXPOSED_HEADERS",
    "MAX_AGE_S",
    "ORIGINS_VARIABLE",
    "CorsPolicy",
    "cors_policy",
    "origin_of",
]
