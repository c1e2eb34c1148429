"""umwi_api."""

__all__: list[str] = []
