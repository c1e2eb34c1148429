"""Keep secrets out of logs and error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "***"

_QUERY_SECRET = re.compile(r"(?i)((?:api_?key|apikey|token|key|secret|password)=)[^&\s\"']+")
_AUTH_HEADER = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:basic |bearer )?[^\s\"',}]+"
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace every known secret value, query-string secret and auth header in `text`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
