"""/api/v1/ operations for evaluation: performance."""

from ninja import Router

router = Router(tags=["培训评价"])
