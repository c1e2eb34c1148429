"""Contract types as DuckDB spells them in information_schema."""

from __future__ import annotations

import pyarrow as pa
from umwi_core.contracts import TableContract

CONTRACT_TO_DUCKDB = {
    "string": "VARCHAR",
    "timestamp_us_utc": "TIMESTAMP WITH TIME ZONE",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
}

_ARROW_TO_DUCKDB = {
    pa.string(): "VARCHAR",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP WITH TIME ZONE",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}


def contract_columns(contract: TableContract) -> list[tuple[str, str]]:
    return [(column.name, CONTRACT_TO_DUCKDB[column.type]) for column in contract.columns]


def schema_columns(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(field.name, _ARROW_TO_DUCKDB[field.type]) for field in schema]
