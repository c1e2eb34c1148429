"""umwi-transform: bronze → silver → gold on Ibis/DuckDB, stored as Delta tables."""

from umwi_transform.catalog import open_delta, open_read_only_catalog, register_lake_views

__all__ = ["open_delta", "open_read_only_catalog", "register_lake_views"]
