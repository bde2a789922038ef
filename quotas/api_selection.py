"""/api/v1/ operations for quotas: selection."""

from ninja import Router

router = Router(tags=["高端培训名额"])
