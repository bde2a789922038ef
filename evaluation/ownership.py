"""Which division owns an instrument or a rubric the administrator makes: their own, or one below
it they may write (a city's 省直管县 are read-only to it). Both the service and the form's pick-list
ask the policy here, so the form never offers a division the service would refuse."""

from __future__ import annotations

from access.errors import Forbidden
from access.policy import Action, fetch, visible
from access.scope import Scope
from org.models import Division

CHOICES_MAX = 300


def owning_division(scope: Scope, division_id: int | None, *, refusal: str) -> Division:
    """The division named (one the viewer may write), or the viewer's own."""
    if not scope.is_division:
        raise Forbidden(refusal)
    if division_id:
        return fetch(scope, Division, division_id, Action.CHANGE)
    own = Division.objects.filter(path=scope.path).first()
    if own is None:
        raise Forbidden("账户未绑定区划")
    return own


def owning_division_choices(scope: Scope) -> list[Division]:
    """The divisions the viewer may make one for, their own first."""
    if not scope.is_division:
        return []
    return list(visible(scope, Division, Action.CHANGE).order_by("path")[:CHOICES_MAX])
