"""Targets per division, level and cycle, and seat allocations."""

__all__: list[str] = []
