"""umwi-quality: the gate that guards publication of gold.

`run_gate` runs the Great Expectations suites, the Soda contracts and the batch-level
checks on silver (the batch since the last publication) and on the gold candidates,
records every result under `<lake>/quality/<run_id>/`, publishes on pass and sends one
alert on fail. `check_tables` runs the same checks alone (`umwi quality`);
`run_outlook_gate` judges and publishes the outlook alone (DESIGN.md §8).
"""

from umwi_quality._gate import CHECKED_VIEWS, check_tables, run_gate, run_outlook_gate
from umwi_quality._model import SUMMARY_COLUMNS, CheckResult, GateResult, Status, summary_rows
from umwi_quality._report import docs_key, results_key
from umwi_quality._soda import contract_names

__all__ = [
    "CHECKED_VIEWS",
    "SUMMARY_COLUMNS",
    "CheckResult",
    "GateResult",
    "Status",
    "check_tables",
    "contract_names",
    "docs_key",
    "results_key",
    "run_gate",
    "run_outlook_gate",
    "summary_rows",
]
