"""The checked views (`<layer>_<table>`) and the contract each one follows."""

from __future__ import annotations

from umwi_core.contracts import GOLD_CONTRACTS, SILVER_TABLES, WEATHER_FORECAST, TableContract

VIEW_CONTRACTS: dict[str, TableContract] = {
    **{f"silver_{name}": contract for name, contract in SILVER_TABLES.items()},
    # Judged by the outlook's own gate only (`run_outlook_gate`).
    f"silver_{WEATHER_FORECAST.name}": WEATHER_FORECAST,
    **{f"gold_{name}": contract for name, contract in GOLD_CONTRACTS.items()},
}
