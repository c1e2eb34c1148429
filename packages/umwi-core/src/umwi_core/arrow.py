"""Arrow schemas of the contracts and the staged batch that connectors hand to transform.

Only the packages that hold data import this module (it needs pyarrow, the `arrow` extra);
the API does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from umwi_core.contracts import GOLD_COLUMNS, TableContract

_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "timestamp_us_utc": pa.timestamp("us", tz="UTC"),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
}

#: Extra columns of a staged batch, beside the contract's own.
STAGING_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("_raw", pa.string()),  # the source record as read, JSON
    ("_reason", pa.string()),  # why the connector already rejects it, else null
    ("_reason_code", pa.string()),  # its `contracts.ReasonCode` when `_reason` is set
    ("_input", pa.string()),  # bronze key or file path it came from
    ("_seq", pa.int64()),  # position in its input: on equal as_of the later wins
)


def arrow_type(name: str) -> pa.DataType:
    return _TYPES[name]


def arrow_schema(contract: TableContract) -> pa.Schema:
    """The silver schema of a contract (non-null where the contract says so)."""
    return pa.schema(
        [pa.field(c.name, _TYPES[c.type], nullable=c.nullable) for c in contract.columns]
    )


def staging_schema(contract: TableContract) -> pa.Schema:
    """Every contract column (nullable: bad records are staged too) plus the staging ones."""
    fields = [pa.field(c.name, _TYPES[c.type], nullable=True) for c in contract.columns]
    fields += [
        pa.field(name, kind, nullable=name in ("_reason", "_reason_code"))
        for name, kind in STAGING_COLUMNS
    ]
    return pa.schema(fields)


@dataclass(frozen=True)
class StagedBatch:
    """Canonical records of one table from one source, not yet validated against silver.

    `records` follows `staging_schema(contract)`: times already UTC; rows the connector
    could not parse carry a `_reason`, its `_reason_code`, and whatever columns it could
    fill.
    """

    table: str
    source: str
    records: pa.Table
    inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from umwi_core.contracts import SILVER_TABLES

        contract = SILVER_TABLES.get(self.table)
        if contract is None:
            raise ValueError(f"unknown silver table {self.table!r}")
        expected = staging_schema(contract)
        if not self.records.schema.equals(expected, check_metadata=False):
            missing = set(expected.names) - set(self.records.schema.names)
            raise ValueError(
                f"staged {self.table} batch does not follow the staging schema"
                + (f": missing {sorted(missing)}" if missing else f": got {self.records.schema}")
            )


def gold_column_names(table: str) -> tuple[str, ...]:
    return GOLD_COLUMNS[table]
