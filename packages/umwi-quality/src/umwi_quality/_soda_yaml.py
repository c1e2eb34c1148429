"""The Soda Core v4 contract files (`umwi_quality/contracts/<view>.yml`), generated from
the table contracts in `umwi_core.contracts`.

The files stay in the package (the gate verifies them as before, and a reviewer reads the
exact YAML Soda runs); a test asserts they equal what the contracts generate. After
changing a contract, regenerate them with `uv run python -m umwi_quality._soda_yaml`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml
from umwi_core.contracts import FUTURE_LIMIT, Column, TableContract

from umwi_quality._sqltypes import CONTRACT_TO_DUCKDB
from umwi_quality._views import VIEW_CONTRACTS

FOLDER = Path(__file__).parent / "contracts"
#: Soda's spelling of the gate's future limit, a variable the gate sets per run.
SODA_FUTURE_LIMIT = "${var.FUTURE_LIMIT}"
_QUALIFIER_LENGTH = 40


def _qualifier(name: str) -> str:
    """Soda tells checks of one type apart by qualifier: the name as an identifier."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:_QUALIFIER_LENGTH]


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _invalid(column: Column) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if column.one_of is not None:
        values = list(column.one_of.values)
        ints = [value for value in values if isinstance(value, int)]
        if len(ints) == len(values) and ints == list(range(min(ints), max(ints) + 1)):
            # A run of whole numbers reads better, and checks the same, as its bounds.
            rule |= {"valid_min": ints[0], "valid_max": ints[-1]}
        else:
            rule["valid_values"] = values
    if column.range is not None:
        if column.range.low is not None:
            rule["valid_min"] = _number(column.range.low)
        if column.range.high is not None:
            rule["valid_max"] = _number(column.range.high)
    return rule


def _column(column: Column) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": column.name,
        "data_type": CONTRACT_TO_DUCKDB[column.type].lower(),
    }
    checks: list[dict[str, Any]] = []
    if not column.nullable:
        checks.append({"missing": None})
    invalid = _invalid(column)
    if invalid:
        checks.append({"invalid": invalid})
    if checks:
        entry["checks"] = checks
    return entry


def soda_contract(view: str, contract: TableContract) -> dict[str, Any]:
    """The Soda contract of `view` as data: schema, key, row rules, column rules."""
    document: dict[str, Any] = {"dataset": f"umwi/main/{view}"}
    if any(FUTURE_LIMIT in rule.failing for rule in contract.rules):
        document["variables"] = {"FUTURE_LIMIT": {"default": "now()"}}
    checks: list[dict[str, Any]] = [
        {"schema": None},
        {
            "duplicate": {
                "name": "key unique",
                "qualifier": "key_unique",
                "columns": list(contract.key),
            }
        },
    ]
    qualifiers = {"key_unique"}
    for rule in contract.rules:
        qualifier = _qualifier(rule.name)
        if qualifier in qualifiers:
            raise ValueError(f"{view}: rule {rule.name!r} repeats the Soda qualifier {qualifier}")
        qualifiers.add(qualifier)
        failing = rule.sql(SODA_FUTURE_LIMIT)
        checks.append(
            {"failed_rows": {"name": rule.name, "qualifier": qualifier, "expression": failing}}
        )
    document["checks"] = checks
    document["columns"] = [_column(column) for column in contract.columns]
    return document


class _Dumper(yaml.SafeDumper):
    """Soda's own style: `- missing:` for an empty check, `[a, b]` for a list of names,
    sequences indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _none(dumper: yaml.SafeDumper, _: None) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:null", "")


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = not any(isinstance(item, (dict, list)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(type(None), _none)
_Dumper.add_representer(list, _list)


def render(view: str, contract: TableContract) -> str:
    """The file text of `view`'s Soda contract."""
    header = (
        f"# Soda Core v4 data contract of {view}.\n"
        f"# {contract.description}\n"
        "# Generated from umwi_core.contracts by `uv run python -m umwi_quality._soda_yaml`:\n"
        "# edit the contract, not this file. The gate verifies it in-process on its DuckDB\n"
        "# workspace and sets ${var.FUTURE_LIMIT} from UMWI_QUALITY_FUTURE_TOLERANCE_S.\n"
    )
    body = yaml.dump(
        soda_contract(view, contract),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=1000,
    )
    return header + body


def write_all(folder: Path = FOLDER) -> list[str]:
    """Write every view's contract file into `folder`; returns the views whose file changed."""
    changed = []
    for view, contract in VIEW_CONTRACTS.items():
        path = folder / f"{view}.yml"
        text = render(view, contract)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(view)
    return changed


if __name__ == "__main__":
    updated = write_all()
    sys.stdout.write("".join(f"wrote {FOLDER / view}.yml\n" for view in updated) or "up to date\n")
