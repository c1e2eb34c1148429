"""The checked views (`<layer>_<table>`) and the contract each one follows."""

from __future__ import annotations

from umwi_core.contracts import GOLD_CONTRACTS, SILVER_TABLES, TableContract

VIEW_CONTRACTS: dict[str, TableContract] = {
    **{f"silver_{name}": contract for name, contract in SILVER_TABLES.items()},
    **{f"gold_{name}": contract for name, contract in GOLD_CONTRACTS.items()},
}
