from __future__ import annotations

import threading
from pathlib import Path

import pytest
from umwi_core.errors import ConflictError, LakeError
from umwi_core.lake import Lake
from umwi_core.resources import make_lake
from umwi_core.settings import Settings


@pytest.fixture
def any_lake(mode_settings: Settings) -> Lake:
    return make_lake(mode_settings)


def test_write_read_list_delete(any_lake: Lake) -> None:
    any_lake.write_bytes("bronze/x/a.json", b"1")
    any_lake.write_bytes("bronze/x/b/c.json", b"22")
    any_lake.write_bytes("silver/other.json", b"3")
    assert any_lake.read_bytes("bronze/x/b/c.json") == b"22"
    assert list(any_lake.list("bronze/x")) == ["bronze/x/a.json", "bronze/x/b/c.json"]
    assert any_lake.exists("bronze/x/a.json")
    any_lake.delete("bronze/x/a.json")
    assert not any_lake.exists("bronze/x/a.json")
    any_lake.delete("bronze/x/a.json")  # absent is fine
    with pytest.raises(FileNotFoundError):
        any_lake.read_bytes("bronze/x/a.json")
    assert any_lake.read_versioned("nothing/here.json") is None


def test_overwrite_replaces_whole_object(any_lake: Lake) -> None:
    any_lake.write_bytes("k.json", b"a" * 1000)
    any_lake.write_bytes("k.json", b"b")
    assert any_lake.read_bytes("k.json") == b"b"


def test_conditional_writes(any_lake: Lake) -> None:
    token = any_lake.write_bytes("gold/_published.json", b"v1", if_absent=True)
    with pytest.raises(ConflictError):
        any_lake.write_bytes("gold/_published.json", b"other", if_absent=True)
    found = any_lake.read_versioned("gold/_published.json")
    assert found is not None
    assert found == (b"v1", token)
    new_token = any_lake.write_bytes("gold/_published.json", b"v2", if_match=token)
    with pytest.raises(ConflictError):
        any_lake.write_bytes("gold/_published.json", b"v3", if_match=token)
    assert any_lake.read_bytes("gold/_published.json") == b"v2"
    assert new_token != token


def test_concurrent_conditional_writers_exactly_one_wins(any_lake: Lake) -> None:
    token = any_lake.write_bytes("p.json", b"base")
    wins: list[int] = []
    losses: list[int] = []

    def writer(number: int) -> None:
        try:
            any_lake.write_bytes("p.json", str(number).encode(), if_match=token)
            wins.append(number)
        except ConflictError:
            losses.append(number)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert len(losses) == 5
    assert any_lake.read_bytes("p.json") == str(wins[0]).encode()


def test_keys_cannot_escape_the_lake(any_lake: Lake) -> None:
    with pytest.raises(LakeError, match="outside the lake"):
        any_lake.write_bytes("../escape.json", b"x")


def test_uris_and_storage_options(mode_settings: Settings) -> None:
    lake = make_lake(mode_settings)
    uri = lake.uri("silver/departures")
    if mode_settings.env == "aws":
        assert uri == f"{mode_settings.resolved_lake_uri}/silver/departures"
        options = lake.storage_options()
        assert options["AWS_ENDPOINT_URL"] == mode_settings.endpoint_url
        assert options["AWS_ALLOW_HTTP"] == "true"
    else:
        assert uri.endswith("/lake/silver/departures")
        assert lake.storage_options() == {}


def test_write_file_streams_a_local_file(any_lake: Lake, tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    source.write_bytes(b"x" * (3 << 20) + b"end")
    any_lake.write_file("bronze/file/departures/big.csv", source)
    assert any_lake.read_bytes("bronze/file/departures/big.csv") == source.read_bytes()
    source.write_bytes(b"second")
    any_lake.write_file("bronze/file/departures/big.csv", source)
    assert any_lake.read_bytes("bronze/file/departures/big.csv") == b"second"
    assert list(any_lake.list("bronze/file")) == ["bronze/file/departures/big.csv"]
