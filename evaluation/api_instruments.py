"""/api/v1/ operations for evaluation: instruments."""

from ninja import Router

router = Router(tags=["培训评价"])
