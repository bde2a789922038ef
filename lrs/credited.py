"""Registering credited activities: which activity IRIs (or IRI prefixes) earn how many hours
in which ledger category. A division administrator registers them for their division; the
course library will register its courses here too."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from access.policy import Action, fetch, require
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from credits.constants import Category
from lrs.keys import value_hash
from lrs.models import CreditedActivity
from org.models import Division

ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
MAX_HOURS = Decimal("100")


def _hours(value) -> Decimal:
    try:
        hours = Decimal(str(value).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"hours": "学时应为数字"}) from None
    if not hours.is_finite() or not Decimal("0") < hours <= MAX_HOURS:
        raise ValidationError({"hours": f"学时应大于 0 且不超过 {MAX_HOURS}"})
    return hours


def _clean(*, activity_iri: str, title: str, hours, category: str) -> dict:
    problems: dict[str, str] = {}
    activity_iri = (activity_iri or "").strip()
    if not ABSOLUTE_IRI.match(activity_iri) or len(activity_iri) > 1000:
        problems["activity_iri"] = "活动 IRI 应为完整的 IRI（如 https://…）"
    title = (title or "").strip()
    if not title or len(title) > 200:
        problems["title"] = "名称不能为空且不超过200字"
    if category not in Category.values:
        problems["category"] = f"未知的学时类别：{category}"
    try:
        clean_hours = _hours(hours)
    except ValidationError as error:
        problems.update({name: messages[0] for name, messages in error.message_dict.items()})
    if problems:
        raise ValidationError(problems)
    return {"activity_iri": activity_iri, "title": title, "hours": clean_hours, "category": category}


@transaction.atomic
def credited_activity_create(*, scope: Scope, actor, division: Division, activity_iri: str, title: str, hours,
                             category: str = Category.ONLINE, is_prefix: bool = False,
                             ip: str | None = None) -> CreditedActivity:
    values = _clean(activity_iri=activity_iri, title=title, hours=hours, category=category)
    row = CreditedActivity(**values, is_prefix=is_prefix, activity_hash=value_hash(values["activity_iri"]),
                           division=division, division_path=division.path,
                           created_by=actor if actor is not None and actor.pk else None)
    require(scope, Action.CHANGE, row)
    duplicate = CreditedActivity.objects.visible_to(scope).filter(
        activity_hash=row.activity_hash, is_prefix=is_prefix, active=True).exists()
    if duplicate:
        raise ValidationError({"activity_iri": "该活动已登记（可停用原登记后重新登记）"})
    row.save(force_insert=True)
    audit_record(action=Audit.LRS_CREDITED_SAVE, actor=actor, ip=ip, scope_path=row.division_path,
                 object_type="credited_activity", object_id=row.pk,
                 detail={"iri": row.activity_iri, "prefix": is_prefix, "hours": str(row.hours), "category": category})
    return row


@transaction.atomic
def credited_activity_set_active(*, scope: Scope, actor, credited_id: int, active: bool,
                                 ip: str | None = None) -> CreditedActivity:
    """Stop (or resume) crediting an activity. Hours already written stay."""
    row = fetch(scope, CreditedActivity, credited_id, Action.CHANGE, lock=True)
    if row.active != active:
        row.active = active
        row.save(update_fields=["active"])
        audit_record(action=Audit.LRS_CREDITED_SAVE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="credited_activity", object_id=row.pk, detail={"active": active})
    return row
