from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from umwi_connectors._bronze import bronze_key, land, meta_key, read_meta
from umwi_core import Lake, LakeError


def test_land_writes_payload_and_redacted_meta(lake: Lake) -> None:
    key = land(
        lake,
        source="navitia",
        dataset="departures",
        run_id="20261127T030000Z-abcd1234",
        part="p0001",
        ext="json",
        payload=b'{"a": 1}',
        meta={
            "url": "https://x/v1?apikey=SUPERSECRET&a=1",
            "headers": {"Authorization": "tok-123456", "Accept": "application/json"},
            "note": "used tok-123456 here",
            "when": date(2026, 3, 29),
        },
        day=date(2026, 3, 29),
        secrets=["tok-123456"],
    )
    assert key == "bronze/navitia/departures/date=2026-03-29/20261127T030000Z-abcd1234/p0001.json"
    assert lake.read_bytes(key) == b'{"a": 1}'
    raw = lake.read_bytes(meta_key(key)).decode()
    assert "SUPERSECRET" not in raw
    assert "tok-123456" not in raw
    meta = read_meta(lake, key)
    headers: Any = meta["headers"]
    assert headers["Authorization"] == "***"
    assert headers["Accept"] == "application/json"
    assert meta["bytes"] == 8
    assert meta["when"] == "2026-03-29"
    assert meta["key"] == key


def test_land_is_idempotent(lake: Lake) -> None:
    kwargs: dict[str, Any] = {
        "source": "open_meteo",
        "dataset": "forecast",
        "run_id": "r1",
        "part": "c0",
        "ext": "json",
        "payload": b"{}",
        "meta": {},
        "day": date(2026, 1, 1),
    }
    first = land(lake, **kwargs)
    second = land(lake, **kwargs)
    assert first == second
    assert list(lake.list("bronze")) == [first, meta_key(first)]


@pytest.mark.parametrize(
    ("field", "value"),
    [("source", "../x"), ("dataset", "a/b"), ("run_id", ""), ("part", "p.1"), ("ext", "js/on")],
)
def test_bad_segments_are_refused_by_name(field: str, value: str) -> None:
    kwargs: dict[str, Any] = {
        "source": "s",
        "dataset": "d",
        "run_id": "r",
        "part": "p",
        "ext": "json",
        "day": date(2026, 1, 1),
    }
    kwargs[field] = value
    with pytest.raises(ValueError, match=field):
        bronze_key(**kwargs)


class _FailingMetaLake:
    """A lake whose metadata writes fail, to prove no payload is left behind."""

    def __init__(self, inner: Lake) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write_bytes(self, key: str, data: bytes, **kwargs: Any) -> str:
        if key.endswith(".meta.json"):
            raise OSError("disk full")
        return self.inner.write_bytes(key, data, **kwargs)


def test_failed_meta_write_leaves_no_payload(lake: Lake) -> None:
    failing: Any = _FailingMetaLake(lake)
    with pytest.raises(LakeError, match="metadata"):
        land(
            failing,
            source="s",
            dataset="d",
            run_id="r",
            part="p",
            ext="json",
            payload=b"{}",
            meta={},
            day=date(2026, 1, 1),
        )
    assert list(lake.list("bronze")) == []


def test_unserialisable_meta_is_refused_before_writing(lake: Lake) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        land(
            lake,
            source="s",
            dataset="d",
            run_id="r",
            part="p",
            ext="json",
            payload=b"{}",
            meta={"x": float("nan"), "y": {1, 2}},
            day=date(2026, 1, 1),
        )
    assert list(lake.list("bronze")) == []


def test_land_on_s3(aws_resources: Any) -> None:
    from umwi_core import make_lake

    lake = make_lake(aws_resources.settings)
    key = land(
        lake,
        source="open_meteo",
        dataset="archive",
        run_id="r1",
        part="r00000",
        ext="json",
        payload=b"[1]",
        meta={"url": "https://x/?apikey=k3y-s3cret"},
        day=date(2026, 1, 1),
    )
    assert lake.read_bytes(key) == b"[1]"
    assert read_meta(lake, key)["url"] == "https://x/?apikey=***"
    assert lake.uri(key).startswith("s3://")
