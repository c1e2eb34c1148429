"""Arrow schemas of the gold tables, derived from `umwi_core.contracts.GOLD_CONTRACTS`."""

from __future__ import annotations

import pyarrow as pa
from umwi_core.arrow import arrow_type
from umwi_core.contracts import GOLD_CONTRACTS

# Every gold field stays nullable in Delta, whatever the contract says: the existing tables
# were created that way (a stricter schema would refuse to append to them), and the gate,
# not the writer, enforces the contract's non-null columns before anything is published.
GOLD_SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([pa.field(column.name, arrow_type(column.type)) for column in contract.columns])
    for name, contract in GOLD_CONTRACTS.items()
}


def conform(table: pa.Table, name: str) -> pa.Table:
    """Select and cast to the gold schema; a naive timestamp from an engine means UTC."""
    schema = GOLD_SCHEMAS[name]
    return pa.Table.from_arrays(
        [table.column(field.name).cast(field.type) for field in schema], schema=schema
    )
