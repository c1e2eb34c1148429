"""umwi_connectors."""

__all__: list[str] = []
