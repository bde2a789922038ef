"""/api/v1/ operations for funding."""

from ninja import Router

router = Router(tags=["培训经费"])
