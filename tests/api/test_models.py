"""The API's gold row models are derived from the gold contracts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from umwi_api._daily import MOBILITY_WEATHER_DAILY
from umwi_api._models import ROW_MODELS, DailyRow, row_model
from umwi_core.contracts import GOLD_CONTRACTS

#: Every row model the API documents, with the contract it is derived from.
MODELS = [
    *((model, GOLD_CONTRACTS[table]) for table, model in ROW_MODELS.items()),
    (DailyRow, MOBILITY_WEATHER_DAILY),
]


def test_row_models_carry_the_contract_types_nullability_and_descriptions() -> None:
    """Mutation: make `location_id` of MOBILITY_WEATHER_HOURLY nullable → red."""
    for model, contract in MODELS:
        table = contract.name
        schema = model.model_json_schema()
        assert schema["description"] == contract.description
        assert schema["required"] == list(contract.column_names)
        for column in contract.columns:
            spec = schema["properties"][column.name]
            assert spec["description"] == column.description, (table, column.name)
            nullable = {"type": "null"} in spec.get("anyOf", [])
            assert nullable == column.nullable, (table, column.name)
    hourly = ROW_MODELS["mobility_weather_hourly"].model_json_schema()["properties"]
    assert hourly["location_id"]["type"] == "string"
    assert hourly["hour"]["format"] == "date-time"


def test_row_models_validate_their_examples_and_refuse_extra_fields() -> None:
    for model, _ in MODELS:
        example = model.model_json_schema()["example"]
        model.model_validate(example)
        with pytest.raises(ValidationError, match="extra"):
            model.model_validate({**example, "unexpected": 1})


def test_an_example_that_misses_a_column_is_refused() -> None:
    contract = GOLD_CONTRACTS["weather_impact"]
    with pytest.raises(ValueError, match="example row of ImpactRow does not list"):
        row_model(contract, "ImpactRow", {"network": "x"})
