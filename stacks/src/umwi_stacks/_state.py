"""DynamoDB tables: the ingestion ledger and the API result cache."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from umwi_core.naming import ResourceNames

from umwi_stacks._config import StackConfig

# Must match umwi_core's DynamoDB ledger and umwi_api's cache.
LEDGER_KEYS = ("pk", "window")
CACHE_KEY = "pk"
CACHE_TTL_ATTRIBUTE = "expires_at"


class StateTables(pulumi.ComponentResource):
    ledger: aws.dynamodb.Table
    cache: aws.dynamodb.Table

    def __init__(
        self,
        name: str,
        *,
        names: ResourceNames,
        config: StackConfig,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:StateTables", name, None, opts)
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=config.retain_data)
        self.ledger = aws.dynamodb.Table(
            "ledger",
            name=names.ledger_table,
            hash_key=LEDGER_KEYS[0],
            range_key=LEDGER_KEYS[1],
            attributes=[{"name": key, "type": "S"} for key in LEDGER_KEYS],
            tags={**config.tags, "Name": names.ledger_table},
            opts=keep,
            billing_mode="PAY_PER_REQUEST",
            point_in_time_recovery={"enabled": True},
            # AWS-managed KMS key: encrypted and auditable without a key to pay for.
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=config.retain_data,
        )
        self.cache = aws.dynamodb.Table(
            "api-cache",
            name=names.cache_table,
            hash_key=CACHE_KEY,
            attributes=[{"name": CACHE_KEY, "type": "S"}],
            ttl={"attribute_name": CACHE_TTL_ATTRIBUTE, "enabled": True},
            tags={**config.tags, "Name": names.cache_table},
            opts=keep,
            billing_mode="PAY_PER_REQUEST",
            point_in_time_recovery={"enabled": True},
            # AWS-managed KMS key: encrypted and auditable without a key to pay for.
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=config.retain_data,
        )
        self.register_outputs({"ledger": self.ledger.name, "cache": self.cache.name})
