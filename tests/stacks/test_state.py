"""DynamoDB: the ledger and the API cache, as umwi_core and umwi_api use them."""

from __future__ import annotations

from umwi_core.naming import resource_names

from tests.stacks.stack import Stack
from tests.stacks.synth import ACCOUNT_ID


def test_ledger_key_schema_matches_the_dynamodb_ledger(each_stack: Stack) -> None:
    ledger = each_stack.inputs("dynamodb/table:Table", "ledger")
    assert ledger["name"] == resource_names(each_stack.env, ACCOUNT_ID).ledger_table
    assert ledger["hashKey"] == "pk"
    assert ledger["rangeKey"] == "window"
    assert sorted((a["name"], a["type"]) for a in ledger["attributes"]) == [
        ("pk", "S"),
        ("window", "S"),
    ]
    assert "ttl" not in ledger


def test_cache_has_hash_key_and_ttl(each_stack: Stack) -> None:
    cache = each_stack.inputs("dynamodb/table:Table", "api-cache")
    assert cache["name"] == resource_names(each_stack.env, ACCOUNT_ID).cache_table
    assert cache["hashKey"] == "pk"
    assert "rangeKey" not in cache
    assert cache["attributes"] == [{"name": "pk", "type": "S"}]
    assert cache["ttl"] == {"attributeName": "expires_at", "enabled": True}


def test_tables_are_on_demand_recoverable_and_encrypted(each_stack: Stack) -> None:
    for table in each_stack.all("dynamodb/table:Table"):
        inputs = table["inputs"]
        assert inputs["billingMode"] == "PAY_PER_REQUEST", table["name"]
        assert "readCapacity" not in inputs
        assert inputs["pointInTimeRecovery"] == {"enabled": True}, table["name"]
        assert inputs["serverSideEncryption"]["enabled"] is True, table["name"]


def test_prod_tables_have_deletion_protection_dev_not(dev: Stack, prod: Stack) -> None:
    for table in prod.all("dynamodb/table:Table"):
        assert table["inputs"]["deletionProtectionEnabled"] is True
        assert table["retainOnDelete"] is True
    for table in dev.all("dynamodb/table:Table"):
        assert table["inputs"]["deletionProtectionEnabled"] is False
        assert table["retainOnDelete"] is False
