"""The API's routers, one job each; `create_app` includes them in this order.

`kpi` (the KPI tables, paged and conditional), `health` (liveness), `freshness` (the
published gold's age and gate), `coverage` (the hours the data spans, per network), `lines`
(networks and lines for selectors).
"""

from __future__ import annotations

from umwi_api.routes import coverage, freshness, health, kpi, lines

__all__ = ["coverage", "freshness", "health", "kpi", "lines"]
