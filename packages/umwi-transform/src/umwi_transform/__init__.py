"""umwi-transform: bronze → silver → gold on Ibis/DuckDB, stored as Delta tables.

`SilverLoader` (and `commit_batch` / `ingest_batches` on top of it) lands staged batches
in silver and quarantine;
`build_gold` writes gold candidates; `publish_gold` makes them visible; `maintain` keeps
the Delta tables compact. `land_forecast` and `build_outlook` feed the punctuality outlook
(DESIGN.md §8) without rebuilding historical gold. The Ibis builders themselves are in
`gold_expressions` and `outlook_expressions`, so another Ibis backend can run them unchanged.
"""

from umwi_transform import _gold_exprs as gold_expressions
from umwi_transform import _outlook as outlook_expressions
from umwi_transform._backtest import backtest
from umwi_transform._gold import GoldCandidate, build_gold, read_state
from umwi_transform._loader import SilverLoader, commit_batch, ingest_batches
from umwi_transform._maintain import maintain
from umwi_transform._outlook_alerts import outlook_alerts
from umwi_transform._outlook_build import build_outlook, land_forecast
from umwi_transform._publish import publish_gold, read_gold
from umwi_transform._rules import record_hash
from umwi_transform._schemas import GOLD_SCHEMAS
from umwi_transform._silver import read_quarantine, read_silver
from umwi_transform._stats import correlation_table, finish_correlation
from umwi_transform.catalog import open_delta, open_read_only_catalog, register_lake_views

__all__ = [
    "GOLD_SCHEMAS",
    "GoldCandidate",
    "SilverLoader",
    "backtest",
    "build_gold",
    "build_outlook",
    "commit_batch",
    "correlation_table",
    "finish_correlation",
    "gold_expressions",
    "ingest_batches",
    "land_forecast",
    "maintain",
    "open_delta",
    "open_read_only_catalog",
    "outlook_alerts",
    "outlook_expressions",
    "publish_gold",
    "read_gold",
    "read_quarantine",
    "read_silver",
    "read_state",
    "record_hash",
    "register_lake_views",
]
