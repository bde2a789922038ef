"""Accredited institutions for tests of other apps: a project that is not school-based research
needs an implementing institution with an accreditation in force (the 准入 gate), so the tests
that publish, enrol or record attendance make one here. The row is written directly in the state
the workflow would leave it (approved by a reviewer who did not apply); the workflow itself is
tested in test_accreditation.py."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import Role, User
from institutions.constants import SCOPE_CATEGORIES, SCOPE_LEVELS, SCOPE_MODES
from institutions.models import Accreditation
from org.models import Division, Institution


def _account(username: str, role: str, **bindings) -> User:
    user = User.objects.filter(username=username).first()
    return user or User.objects.create(username=username, role=role, **bindings)


def accredit(institution: Institution, *, levels=SCOPE_LEVELS, categories=SCOPE_CATEGORIES, modes=SCOPE_MODES,
             valid_from: dt.date | None = None, valid_until: dt.date | None = None,
             state: str = "approved") -> Accreditation:
    """An accreditation of `institution` in `state` (approved: in force), by default for every
    level, category and mode, from four years ago to four years ahead."""
    today = timezone.localdate()
    province = Division.objects.get(level="province")
    applicant = _account(f"applicant-{institution.code}", Role.INSTITUTION_STAFF, institution=institution)
    reviewer = _account("accreditation-reviewer", Role.PROVINCE_ADMIN, division=province)
    holds_term = state in ("approved", "renewal_submitted", "suspended", "revoked", "expired")
    return Accreditation.objects.create(
        institution=institution, accrediting_division=province, levels=list(levels), categories=list(categories),
        modes=list(modes), state=state, applied_by=applicant,
        decided_by=reviewer if holds_term else None,
        valid_from=(valid_from or today - dt.timedelta(days=4 * 365)) if holds_term else None,
        valid_until=(valid_until or today + dt.timedelta(days=4 * 365)) if holds_term else None)


def accredited_institution(division: Division | None = None, code: str = "TEST-ACCREDITED",
                           name: str = "省示范教师培训中心") -> Institution:
    """An institution (made once per code) accredited for everything."""
    existing = Institution.objects.dangerously_unscoped().filter(code=code).first()
    if existing is not None:
        return existing
    institution = Institution.objects.create(code=code, name=name, kind="training_institution",
                                             division=division or Division.objects.get(level="province"))
    accredit(institution)
    return institution
