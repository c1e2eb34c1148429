"""umwi_flows."""

__all__: list[str] = []
