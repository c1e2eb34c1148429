"""The public surface of umwi_quality, and that importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import umwi_quality


def test_public_names_are_pinned() -> None:
    assert umwi_quality.__all__ == [
        "CHECKED_VIEWS",
        "SUMMARY_COLUMNS",
        "CheckResult",
        "GateResult",
        # A check's status values, which the CLI counts per table.
        "Status",
        "check_tables",
        "contract_names",
        "docs_key",
        "results_key",
        "run_gate",
        # The outlook publishes through its own gate (issue 20).
        "run_outlook_gate",
        "summary_rows",
    ]


def test_import_does_not_load_great_expectations_or_soda() -> None:
    code = (
        "import sys, umwi_quality; "
        "print(sorted(m for m in ('great_expectations', 'soda_core') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_contracts_ship_inside_the_package() -> None:
    assert umwi_quality.contract_names() == [
        "gold_correlation",
        "gold_line_sensitivity",
        "gold_mobility_weather_hourly",
        "gold_outlook_baseline",
        "gold_outlook_class_effect",
        "gold_outlook_hourly",
        "gold_punctuality_hourly",
        "gold_weather_impact",
        "silver_departures",
        "silver_weather_forecast",
        "silver_weather_hourly",
    ]
