"""Helpers for the instrument, assessment, comparison and outcome tests: projects of a division
with given dates, published instruments, enrolments and answered assessments."""

from __future__ import annotations

import datetime as dt

from access.scope import Scope, scope_for_user
from catalog.models import Enrolment, Project
from evaluation import instruments as services
from evaluation.models import AssessmentResponse, DimensionScore, Instrument, ProjectInstrument
from people.tests.factories import TeacherFactory

STARTS, ENDS = dt.date(2027, 3, 10), dt.date(2027, 3, 20)
ITEMS = [{"text": "我能设计分层作业", "dimension": "homework"},
         {"text": "我能布置有梯度的作业", "dimension": "homework"},
         {"text": "我组织课堂时常常顾此失彼", "dimension": "classroom", "reverse": True},
         {"text": "我能根据学情调整教学", "dimension": "classroom"}]


def project(code: str, organiser, *, institution=None, school=None, starts_on=STARTS, ends_on=ENDS,
            state="open") -> Project:
    return Project.objects.create(
        code=code, title=f"项目{code}", level=organiser.level if school is None else "school",
        category="backbone" if school is None else "school_based", mode="centralised", organiser=organiser,
        organiser_school=school, division_path=school.division_path if school else organiser.path,
        institution=institution, seats=50, hours=12, hour_category="centralised", starts_on=starts_on,
        ends_on=ends_on, state=state)


def instrument(user, *, code="QX-ABL", items=None, publish=True, kind="assessment", scale=(1, 5)) -> Instrument:
    scope = scope_for_user(user)
    row = services.instrument_create(scope=scope, actor=user, kind=kind, code=code, title="能力自评",
                                     scale_min=scale[0], scale_max=scale[1], items=ITEMS if items is None else items)
    if publish:
        row = services.instrument_publish(scope=scope, actor=user, instrument_id=row.pk)
    return row


def enrol(project: Project, teacher, state: str = "enrolled") -> Enrolment:
    return Enrolment.objects.create(project=project, teacher=teacher, state=state)


def attach(user, project: Project, instrument: Instrument, point: str, opens_on: dt.date,
           closes_on: dt.date) -> ProjectInstrument:
    return services.attachment_create(scope=scope_for_user(user), actor=user, project_id=project.pk,
                                      instrument_id=instrument.pk, point=point, opens_on=opens_on, closes_on=closes_on)


def teacher_scope(teacher) -> Scope:
    return Scope(teacher_id=teacher.pk, role="teacher", label="本人", home_path=teacher.division_path)


def scored(attachment: ProjectInstrument, teacher, scores: dict[str, float]) -> AssessmentResponse:
    """A response written directly with the given dimension scores (for the statistics)."""
    response = AssessmentResponse.objects.create(attachment=attachment, teacher=teacher, answers={})
    DimensionScore.objects.bulk_create([
        DimensionScore(response=response, project=attachment.project, teacher=teacher, point=attachment.point,
                       dimension=dimension, score=score) for dimension, score in scores.items()])
    return response


def teachers(school, n: int, **values) -> list:
    return [TeacherFactory(school=school, **values) for _ in range(n)]
