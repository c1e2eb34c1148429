"""Contract types as DuckDB spells them in information_schema."""

from __future__ import annotations

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


def contract_columns(contract: TableContract) -> list[tuple[str, str]]:
    return [(column.name, CONTRACT_TO_DUCKDB[column.type]) for column in contract.columns]
