"""The table contracts: one shape for silver and gold, checked when declared."""

from __future__ import annotations

import pytest
from umwi_core.contracts import (
    FUTURE_LIMIT,
    GOLD_COLUMNS,
    GOLD_CONTRACTS,
    GOLD_TABLES,
    SILVER_TABLES,
    Column,
    OneOf,
    Range,
    RowRule,
    TableContract,
)
from umwi_core.publication import GOLD_TABLES as PUBLISHED_TABLES


def test_gold_names_and_columns_come_from_the_contracts() -> None:
    assert GOLD_TABLES == (
        "punctuality_hourly",
        "mobility_weather_hourly",
        "weather_impact",
        "correlation",
        "line_sensitivity",
        "outlook_baseline",
        "outlook_class_effect",
        "outlook_hourly",
    )
    assert PUBLISHED_TABLES is GOLD_TABLES
    for name, contract in GOLD_CONTRACTS.items():
        assert contract.name == name
        assert GOLD_COLUMNS[name] == contract.column_names


def test_every_gold_column_is_described_and_every_table_ordered() -> None:
    """Mutation: drop the description of `cells` in WEATHER_IMPACT → red."""
    for contract in GOLD_CONTRACTS.values():
        assert contract.description, contract.name
        assert contract.order, contract.name
        assert [c.name for c in contract.columns if not c.description] == [], contract.name
    for contract in SILVER_TABLES.values():
        assert contract.description, contract.name


def test_api_filters_add_start_and_end_for_a_time_column() -> None:
    hourly = GOLD_CONTRACTS["punctuality_hourly"]
    assert hourly.api_filters == ("network", "line_id", "start", "end")
    assert GOLD_CONTRACTS["weather_impact"].api_filters == ("network", "line_id", "period")


@pytest.mark.parametrize(
    ("part", "values"),
    [
        ("key", {"key": ("nope",)}),
        ("filters", {"filters": ("nope",)}),
        ("time_column", {"time_column": "nope"}),
        ("order", {"order": ("a", "nope")}),
    ],
)
def test_a_contract_naming_an_unknown_column_is_refused(
    part: str, values: dict[str, object]
) -> None:
    """Mutation: drop the unknown-name loop in TableContract.__post_init__ → red."""
    arguments: dict[str, object] = {"key": ("a",), **values}
    with pytest.raises(ValueError, match=rf"^contract t: {part} names unknown columns \['nope'\]"):
        TableContract("t", (Column("a", "string"),), **arguments)


def test_a_repeated_column_is_refused() -> None:
    with pytest.raises(ValueError, match="a column name appears twice"):
        TableContract("t", (Column("a", "string"), Column("a", "int32")), key=("a",))


@pytest.mark.parametrize(
    ("rule", "name"),
    [
        (Range(0), "x not negative"),
        (Range(1), "x at least 1"),
        (Range(None, 5), "x at most 5"),
        (Range(-90.0, 60.0), "x within -90..60"),
        (Range(-1, 1, name="within ±1"), "x within ±1"),
        (OneOf(("a", "b"), "a or b"), "x is a or b"),
    ],
)
def test_value_rules_name_their_checks(rule: Range | OneOf, name: str) -> None:
    assert rule.check_name("x") == name


def test_row_rules_take_each_engines_future_limit() -> None:
    rule = RowRule("hour not in the future", f"hour > {FUTURE_LIMIT}")
    assert rule.sql("now()") == "hour > now()"
