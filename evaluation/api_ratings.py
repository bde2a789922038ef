"""/api/v1/ operations for evaluation: ratings."""

from ninja import Router

router = Router(tags=["培训评价"])
