"""Rows for the performance tests, made directly with the models (the other parts' services are
not needed): finished projects with supervision visits, outcome reviews, stakeholder ratings and
closed anonymous rating windows, an institution with an accreditation in force and its staff."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from accounts.models import Role
from catalog.models import Project
from evaluation import models as ev
from org.models import Institution

YEAR = 2025


def institution(province, code="410222-PX", name="通许县教师培训中心", division=None) -> Institution:
    from institutions.tests.helpers import accredit

    row = Institution.objects.create(code=code, name=name, kind="county_centre", division=division or province.sibling)
    accredit(row)
    return row


def staff(make_user, inst: Institution, username: str | None = None):
    return make_user(username or f"staff-{inst.code}", Role.INSTITUTION_STAFF, institution=inst)


def project(organiser, code: str, *, title: str | None = None, level="county", category="backbone", inst=None,
            ends=dt.date(YEAR, 6, 30), state="finished", school=None) -> Project:
    return Project.objects.create(
        code=code, title=title or f"骨干教师研修{code}", level=level, category=category, mode="blended",
        organiser=organiser, organiser_school=school, division_path=school.division_path if school else organiser.path,
        institution=inst, seats=50, hours=Decimal(24), hour_category="centralised",
        starts_on=ends - dt.timedelta(days=10), ends_on=ends, state=state)


def _rubric(kind: str, province) -> ev.Rubric:
    row = ev.Rubric.objects.dangerously_unscoped().filter(code=f"T-{kind}").first()
    return row or ev.Rubric.objects.create(code=f"T-{kind}", kind=kind, title=kind, division=province.province,
                                           state="published", criteria=[{"code": "a", "label": "总体", "max": 100}])


def scored(province, user, target: Project, *, supervision=None, outcome=None, stakeholder=None) -> None:
    """One record per value given (a list gives several), with that total."""
    for total in _many(supervision):
        ev.SupervisionVisit.objects.create(project=target, rubric=_rubric("visit", province), visitor=user,
                                           visited_on=target.ends_on, scores={"a": total}, total=Decimal(str(total)))
    for total in _many(outcome):
        ev.OutcomeReview.objects.create(project=target, rubric=_rubric("outcome", province), title="教学设计",
                                        kind="lesson_plan", reviewer=user, scores={"a": total},
                                        total=Decimal(str(total)))
    for total in _many(stakeholder):
        ev.StakeholderRating.objects.create(project=target, rubric=_rubric("stakeholder", province), unit_kind="school",
                                            unit_key=f"school:{uuid.uuid4().hex[:8]}", unit_label="学校", rater=user,
                                            scores={"a": total}, total=Decimal(str(total)))


def _many(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def questionnaire(province) -> ev.Instrument:
    row = ev.Instrument.objects.dangerously_unscoped().filter(code="T-R").first()
    if row is None:
        row = ev.Instrument.objects.create(code="T-R", kind="rating", title="满意度", division=province.province,
                                           state="published", scale_min=1, scale_max=5)
        ev.InstrumentItem.objects.create(instrument=row, number=1, text="内容实用", dimension="content")
        ev.InstrumentItem.objects.create(instrument=row, number=2, text="组织混乱", dimension="organisation",
                                         reverse=True)
    return row


def rated(province, target: Project, answers: list[dict], *, closes=dt.date(YEAR, 7, 10), eligible=None):
    window = ev.RatingWindow.objects.create(project=target, instrument=questionnaire(province),
                                            opens_on=closes - dt.timedelta(days=7), closes_on=closes)
    if eligible is not None:
        ev.RatingWindow.objects.dangerously_unscoped().filter(pk=window.pk).update(eligible=eligible)
    ev.RatingResponse.objects.bulk_create([ev.RatingResponse(window=window, answers=a) for a in answers])
    return window


def weights(user, *, year=YEAR, supervision="0.4", rating="0.2", outcome="0.2", stakeholder="0.2", share="0.1",
            min_group=5) -> ev.ScoreWeights:
    from access.scope import scope_for_user
    from evaluation.performance import weights_set

    return weights_set(scope=scope_for_user(user), actor=user, year=year, supervision=supervision, rating=rating,
                       outcome=outcome, stakeholder=stakeholder, bottom_share=share, min_group=min_group)


def five_projects(province, users, inst, *, organiser=None):
    """Five finished 2025 county backbone projects of 通许县 with two sources each; the last is
    the worst on both (it is the one flagged with a bottom share of 0.1)."""
    organiser = organiser or province.sibling
    expert = users["sibling_admin"]
    made = []
    for n, (sup, out) in enumerate(((90, 85), (80, 80), (75, 70), (70, 75), (50, 40)), start=1):
        row = project(organiser, f"TX-P{n}", inst=inst)
        scored(province, expert, row, supervision=sup, outcome=out)
        made.append(row)
    return made
