"""umwi_stacks."""

__all__: list[str] = []
