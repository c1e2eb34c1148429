"""The Soda contract files are what the table contracts generate."""

from __future__ import annotations

from pathlib import Path

import yaml
from umwi_core.contracts import GOLD_CONTRACTS, Column, OneOf, Range, TableContract
from umwi_quality import contract_names
from umwi_quality._soda_yaml import FOLDER, render, soda_contract, write_all
from umwi_quality._views import VIEW_CONTRACTS


def test_shipped_files_equal_what_the_contracts_generate() -> None:
    """Mutation: change `Range(1)` of `departures` in umwi_core.contracts (or hand-edit a
    .yml) without `python -m umwi_quality._soda_yaml` → red."""
    assert set(contract_names()) == set(VIEW_CONTRACTS)
    stale = [
        view
        for view, contract in VIEW_CONTRACTS.items()
        if (FOLDER / f"{view}.yml").read_text(encoding="utf-8") != render(view, contract)
    ]
    assert not stale, f"regenerate with `uv run python -m umwi_quality._soda_yaml`: {stale}"


def test_rendered_text_parses_back_to_the_contract_data() -> None:
    for view, contract in VIEW_CONTRACTS.items():
        assert yaml.safe_load(render(view, contract)) == soda_contract(view, contract)


def test_columns_rules_and_variables_follow_the_contract() -> None:
    document = soda_contract("gold_correlation", GOLD_CONTRACTS["correlation"])
    assert "variables" not in document
    columns = {entry["name"]: entry for entry in document["columns"]}
    assert columns["lag_h"] == {
        "name": "lag_h",
        "data_type": "integer",
        "checks": [{"missing": None}, {"invalid": {"valid_min": 0, "valid_max": 3}}],
    }
    assert columns["slope"] == {"name": "slope", "data_type": "double"}
    assert document["checks"][1]["duplicate"]["columns"] == list(GOLD_CONTRACTS["correlation"].key)
    hourly = soda_contract("gold_punctuality_hourly", GOLD_CONTRACTS["punctuality_hourly"])
    assert hourly["variables"] == {"FUTURE_LIMIT": {"default": "now()"}}
    rules = {c["failed_rows"]["name"]: c["failed_rows"] for c in hourly["checks"][2:]}
    assert rules["hour not in the future"]["expression"] == "hour > ${var.FUTURE_LIMIT}"


def test_a_whole_number_run_is_spelled_as_bounds() -> None:
    contract = TableContract(
        "t",
        (
            Column("code", "int16", one_of=OneOf((0, 1, 2, 3), "a code")),
            Column("kind", "string", one_of=OneOf(("a", "b"), "a kind")),
            Column("odd", "int16", one_of=OneOf((1, 3), "odd")),
            Column("share", "float64", range=Range(0, 0.5)),
        ),
        key=("code",),
    )
    rules = [entry["checks"][0]["invalid"] for entry in soda_contract("v", contract)["columns"]]
    assert rules == [
        {"valid_min": 0, "valid_max": 3},
        {"valid_values": ["a", "b"]},
        {"valid_values": [1, 3]},
        {"valid_min": 0, "valid_max": 0.5},
    ]


def test_regenerating_writes_only_changed_files(tmp_path: Path) -> None:
    assert set(write_all(tmp_path)) == set(VIEW_CONTRACTS)
    (tmp_path / "gold_correlation.yml").write_text("stale", encoding="utf-8")
    assert write_all(tmp_path) == ["gold_correlation"]
    assert write_all(tmp_path) == []
