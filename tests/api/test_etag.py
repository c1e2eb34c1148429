"""The one conditional-GET helper: which `If-None-Match` values match a version."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from umwi_api._etag import not_modified, version_headers


def _request(if_none_match: str | None) -> Request:
    headers = [] if if_none_match is None else [(b"if-none-match", if_none_match.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def test_version_headers_cap_the_max_age() -> None:
    assert version_headers("pub-1", 300) == {
        "ETag": '"pub-1"',
        "Cache-Control": "public, max-age=60",
    }
    assert version_headers("pub-1", 5)["Cache-Control"] == "public, max-age=5"


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"pub-1"', True),
        ('W/"pub-1"', True),
        ('"pub-0", "pub-1"', True),
        ("*", True),
        ('"pub-0"', False),
        ("pub-1", False),
    ],
)
def test_not_modified(header: str | None, matches: bool) -> None:
    """Mutation: drop `.removeprefix("W/")` → the weak form stops matching, red."""
    headers = version_headers("pub-1", 60)
    answer = not_modified(_request(header), headers)
    if matches:
        assert answer is not None
        assert answer.status_code == 304
        assert answer.headers["ETag"] == '"pub-1"'
    else:
        assert answer is None
