"""umwi_quality."""

__all__: list[str] = []
