"""umwi — Urban Mobility & Weather Insights: the `umwi` command."""

__all__: list[str] = []
