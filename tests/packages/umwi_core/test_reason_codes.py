"""The quarantine reason codes: one vocabulary in the contract, the code and DESIGN.md.

Every code a connector or a silver rule can emit is written as a literal where the record is
rejected (`Rejection(code=...)`, `_Bad(..., code=...)`, `reasons.add(..., code=...)`); this
test reads them all from the source and holds them to the documented vocabulary.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

from umwi_core.contracts import REASON_CODES, ReasonCode

ROOT = Path(__file__).resolve().parents[3]
EMITTERS = [
    *sorted((ROOT / "packages/umwi-connectors/src/umwi_connectors").glob("*.py")),
    *sorted((ROOT / "packages/umwi-transform/src/umwi_transform").glob("*.py")),
]
#: Only `umwi maintain` assigns it, to old rows whose text matches no known pattern.
LEGACY_ONLY = {"other"}


def _emitted(path: Path) -> set[str]:
    """Every string literal passed as a reason code in one module."""
    codes: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                codes.add(str(keyword.value.value))
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name == "Rejection" and node.args and isinstance(node.args[0], ast.Constant):
            codes.add(str(node.args[0].value))
    return codes


def test_every_emitted_code_is_documented_and_every_documented_code_is_emitted() -> None:
    """Mutation: write `code="unknown_trips"` at one rejection site and this fails (mypy
    too); drop `"incomplete_hour"` from the Open-Meteo parser and it fails the other way."""
    emitted = set().union(*(_emitted(path) for path in EMITTERS))
    assert emitted - set(REASON_CODES) == set()
    assert set(REASON_CODES) - emitted == LEGACY_ONLY


def test_the_type_the_table_and_the_design_agree() -> None:
    """Mutation: add a code to `ReasonCode` only, or to DESIGN.md only, and this fails."""
    assert list(get_args(ReasonCode)) == list(REASON_CODES)
    design = (ROOT / "docs/DESIGN.md").read_text()
    section = design.split("| reason_code | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", section, re.MULTILINE)
    assert dict(rows) == REASON_CODES
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in REASON_CODES)
