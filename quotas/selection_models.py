"""Priority rules and ranked nomination lists for high-end projects."""

__all__: list[str] = []
