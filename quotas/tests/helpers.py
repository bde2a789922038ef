"""Shared set-up for the selection tests: high-end projects and teachers with a history."""

from __future__ import annotations

import datetime as dt

from catalog.models import Enrolment, Project
from institutions.tests.helpers import accredited_institution
from quotas.progress import completions_record

TODAY = dt.date(2026, 11, 28)


def high_end(organiser, *, code="HE-1", level="city", seats=5, state="open", audience=None, is_high_end=True,
             ends_on=dt.date(2027, 3, 10), starts_on=None):
    return Project.objects.create(
        code=code, title=f"高端研修{code}", level=level, category="master_teacher", mode="centralised",
        organiser=organiser, division_path=organiser.path, institution=accredited_institution(),
        audience=audience or {}, self_enrolment=False, needs_approval=False, seats=seats, hours=60,
        hour_category="centralised", starts_on=starts_on or min(dt.date(2027, 3, 1), ends_on), ends_on=ends_on, state=state,
        is_high_end=is_high_end)


def completed(teacher, organiser, *, level, ends_on, code):
    """A finished high-end project of `level` that the teacher completed."""
    project = high_end(organiser, code=code, level=level, state="finished", ends_on=ends_on,
                       starts_on=ends_on - dt.timedelta(days=5))
    enrolment = Enrolment.objects.create(project=project, teacher=teacher, state="completed")
    completions_record([enrolment.pk])  # as judging completion records it
    return project
