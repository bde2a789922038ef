"""Writes to the organisation hierarchy."""

from django.db import transaction

from audit.actions import Action
from audit.services import audit_record
from org.models import Division


@transaction.atomic
def direct_counties_set(*, codes: set[str], actor=None) -> list[str]:
    """Make exactly these county-level units 省直管县 (the list is policy, not law)."""
    found = set(Division.objects.filter(code__in=codes, level="county").values_list("code", flat=True))
    unknown = codes - found
    if unknown:
        raise ValueError("不是县级区划代码：" + "，".join(sorted(unknown)))
    before = sorted(Division.objects.filter(is_direct_county=True).values_list("code", flat=True))
    Division.objects.filter(is_direct_county=True).exclude(code__in=codes).update(is_direct_county=False)
    Division.objects.filter(code__in=codes).update(is_direct_county=True)
    audit_record(action=Action.ACCOUNT_CHANGE, actor=actor, scope_path="410000.", object_type="direct_counties",
                 detail={"before": before, "after": sorted(codes)})
    return sorted(codes)
