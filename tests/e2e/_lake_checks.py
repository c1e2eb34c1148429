"""What a reader of the lake may rely on, checked from outside the pipeline.

`check_readable` is what any reader sees at any moment (also right after a SIGKILL):
the published pointer names Delta versions and serving copies that exist, open and agree;
every silver and quarantine Delta table opens; neither silver nor published gold has a
duplicate key. `api_publication` is what the API serves at that moment.
`snapshot` / `assert_same_data` compare two lakes' silver and published gold on every
column but the ones that record when and by which run a row was written.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from umwi_core.contracts import GOLD_CONTRACTS, SILVER_TABLES
from umwi_core.lake import Lake
from umwi_core.publication import GOLD_TABLES, read_publication
from umwi_core.resources import build_resources
from umwi_core.settings import Settings
from umwi_transform import open_delta

#: Columns that say when and by which run a row was written: they differ between runs.
RUN_COLUMNS = ("as_of", "ingested_at", "run_id")
FLOAT_TOLERANCE = 1e-9


@dataclass
class Readable:
    """What `check_readable` found: the published id (None before the first) and row counts."""

    publication_id: str | None
    silver_rows: dict[str, int] = field(default_factory=dict)
    gold_rows: dict[str, int] = field(default_factory=dict)


def _delta_rows(lake: Lake, layer: str, table: str, version: int | None = None) -> pa.Table | None:
    delta = open_delta(lake, layer, table, version=version)
    if delta is None:
        return None
    if version is not None and delta.version() != version:
        raise AssertionError(f"{layer}/{table}: asked for version {version}, got {delta.version()}")
    return delta.to_pyarrow_dataset().to_table()


def check_readable(lake: Lake) -> Readable:
    """Raise AssertionError naming the first thing a reader would find broken."""
    found = read_publication(lake)
    result = Readable(publication_id=None if found is None else found[0].publication_id)
    if found is not None:
        publication, _ = found
        missing = set(GOLD_TABLES) - set(publication.tables)
        assert not missing, f"{publication.publication_id} lacks tables {sorted(missing)}"
        for name, entry in publication.tables.items():
            assert lake.exists(entry.serving), (
                f"{publication.publication_id}: serving copy {entry.serving} of {name} is missing"
            )
            serving = pq.read_table(io.BytesIO(lake.read_bytes(entry.serving)))
            delta = _delta_rows(lake, "gold", name, entry.version)
            assert delta is not None, f"{publication.publication_id}: gold/{name} is missing"
            assert serving.num_rows == delta.num_rows == entry.rows, (
                f"{publication.publication_id}: {name} rows: pointer {entry.rows}, "
                f"serving {serving.num_rows}, Delta v{entry.version} {delta.num_rows}"
            )
            _assert_unique(delta, GOLD_CONTRACTS[name].key, f"gold/{name} v{entry.version}")
            result.gold_rows[name] = entry.rows
    for layer in ("silver", "quarantine"):
        for name, contract in SILVER_TABLES.items():
            rows = _delta_rows(lake, layer, name)
            if rows is None or layer == "quarantine":
                continue
            _assert_unique(rows, contract.key, f"silver/{name}")
            result.silver_rows[name] = rows.num_rows
    return result


def _assert_unique(rows: pa.Table, key: tuple[str, ...], what: str) -> None:
    # Arrow's group_by puts nulls in one group, as a key with a nullable part needs.
    distinct = rows.select(list(key)).group_by(list(key)).aggregate([]).num_rows
    assert distinct == rows.num_rows, f"{what}: {rows.num_rows - distinct} duplicate keys {key}"


def api_publication(settings: Settings) -> str | None:
    """The publication the API serves now (its ETag); None when it answers that nothing is
    published yet. Any other answer (an error a reader would see) fails the check."""
    from fastapi.testclient import TestClient
    from umwi_api import create_app

    with TestClient(create_app(build_resources(settings), serve_web=False)) as client:
        response = client.get("/kpi/weather-impact", params={"line_id": "*", "period": "all"})
    if response.status_code == 503 and "retry-after" in response.headers:
        return None
    assert response.status_code == 200, f"the API answered {response.status_code}: {response.text}"
    return str(response.headers["etag"]).strip('"')


def _comparable(table: pa.Table) -> pa.Table:
    kept = [name for name in table.column_names if name not in RUN_COLUMNS]
    table = table.select(kept)
    # Exact columns first: a float off in its last bit must not reorder the rows.
    order = sorted(kept, key=lambda name: pa.types.is_floating(table.schema.field(name).type))
    return table.sort_by([(name, "ascending") for name in order])


def snapshot(lake: Lake) -> dict[str, pa.Table]:
    """Silver tables and published gold tables, without the run columns, in a stable order."""
    tables: dict[str, pa.Table] = {}
    for name in SILVER_TABLES:
        rows = _delta_rows(lake, "silver", name)
        assert rows is not None, f"silver/{name} does not exist"
        tables[f"silver/{name}"] = _comparable(rows)
    found = read_publication(lake)
    assert found is not None, "nothing is published"
    for name, entry in found[0].tables.items():
        rows = _delta_rows(lake, "gold", name, entry.version)
        assert rows is not None, f"gold/{name} does not exist"
        tables[f"gold/{name}"] = _comparable(rows)
    return tables


def _same_value(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return math.isclose(left, right, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return left == right


def assert_same_data(actual: dict[str, pa.Table], expected: dict[str, pa.Table]) -> int:
    """Equal tables (floats within 1e-9); returns the number of rows compared."""
    assert sorted(actual) == sorted(expected), f"tables {sorted(actual)} != {sorted(expected)}"
    compared = 0
    for name, want in expected.items():
        got = actual[name]
        assert got.schema == want.schema, f"{name}: schema {got.schema} != {want.schema}"
        assert got.num_rows == want.num_rows, f"{name}: {got.num_rows} rows != {want.num_rows}"
        floats = {f.name for f in want.schema if pa.types.is_floating(f.type)}
        exact = [n for n in want.column_names if n not in floats]
        for column in exact:
            if not got.column(column).equals(want.column(column)):
                differ = pc.sum(pc.invert(pc.equal(got.column(column), want.column(column))))
                raise AssertionError(f"{name}.{column}: {differ} rows differ")
        for column in floats:
            for index, (a, b) in enumerate(
                zip(got.column(column).to_pylist(), want.column(column).to_pylist(), strict=True)
            ):
                if not _same_value(a, b):
                    raise AssertionError(f"{name}.{column} row {index}: {a!r} != {b!r}")
        compared += want.num_rows
    return compared


__all__ = [
    "FLOAT_TOLERANCE",
    "RUN_COLUMNS",
    "Readable",
    "api_publication",
    "assert_same_data",
    "check_readable",
    "snapshot",
]
