"""Teacher API. ID numbers are always masked here; the full number is only
available through the audited reveal on the page. A search by a whole ID number (`q`)
is an audited lookup, limited per account like the pages (people.id_lookup)."""

import dataclasses
import datetime as dt

from django.http import Http404
from ninja import Field, Path, Query, Router, Schema

from access.scope import scope_for_user
from core.requests import client_ip
from people import selectors
from people.id_lookup import teacher_id_lookup

router = Router(tags=["教师"])


class HonourOut(Schema):
    title: str
    level: str
    label: str
    awarded_on: dt.date
    expires_on: dt.date | None


class TeacherOut(Schema):
    """A teacher as the API gives it: nothing that narrows the masked number further than
    the mask's own arithmetic assumes (people.identity.id_mask).

    - No birth date, nor year. It is 8 of the hidden digits: the year alone cuts a search
      over some 40 years of teachers' births to one, forty times fewer numbers to try, and
      here it would come for a whole jurisdiction at once. Pages show the birth year of one
      teacher at a time; the API has no use that needs it.
    - `sex` stays. It is the parity of the 17th digit, so it halves the sequence numbers,
      but the mask's count (about 16,600 candidates) already takes it as known: whoever
      could aim at a teacher's number knows whether that teacher is a man or a woman. The
      registry's gender statistics read it.
    - `hire_date` stays. It bounds the birth date on one side only (16 or older when hired);
      given the birth year it rules out no number, and it decides new-teacher status and
      the pro-rated hours of a cycle.
    """

    id: int
    name: str
    id_number_masked: str
    sex: str
    stage: str
    subjects: list[str]
    title: str
    hire_date: dt.date
    is_new_teacher: bool
    status: str
    school_code: str
    school_name: str
    division_path: str
    honours: list[HonourOut]


class TeacherPageOut(Schema):
    items: list[TeacherOut]
    next_after: int | None


class TeacherQuery(Schema):
    division: str = ""
    school: str = ""
    stage: str = ""
    subject: str = ""
    title: str = ""
    honour: str = ""
    status: str = ""
    new_teacher: bool = False
    q: str = ""
    after: int | None = Field(None, ge=0, le=2**62)
    limit: int = Field(50, ge=1, le=200)


def teacher_out(teacher) -> TeacherOut:
    return TeacherOut(
        id=teacher.pk, name=teacher.name, id_number_masked=teacher.id_number_masked, sex=teacher.sex,
        stage=teacher.stage, subjects=teacher.subject_codes, title=teacher.title,
        hire_date=teacher.hire_date, is_new_teacher=teacher.is_new_teacher, status=teacher.status,
        school_code=teacher.school.code, school_name=teacher.school.name, division_path=teacher.division_path,
        honours=[
            HonourOut(title=h.title, level=h.level, label=str(h), awarded_on=h.awarded_on, expires_on=h.expires_on)
            for h in teacher.honours.all()
        ],
    )


@router.get("/teachers", response=TeacherPageOut, summary="管辖范围内的教师（按编号游标翻页）")
def teachers(request, query: Query[TeacherQuery]):
    scope = scope_for_user(request.auth)
    filters = selectors.TeacherFilters(
        division=query.division[:6], school=query.school[:10], stage=query.stage[:20], subject=query.subject[:20],
        title=query.title[:20], honour=query.honour[:40], status=query.status[:10], new_teacher=query.new_teacher,
        q=query.q[:50],
    )
    lookup = teacher_id_lookup(scope=scope, actor=request.auth, q=filters.q, channel="api", ip=client_ip(request))
    filters = dataclasses.replace(filters, id_lookup=lookup)
    page = selectors.teacher_page(scope=scope, filters=filters, after=query.after, size=query.limit)
    return TeacherPageOut(items=[teacher_out(t) for t in page.teachers], next_after=page.next_after)


@router.get("/teachers/{teacher_id}", response=TeacherOut, summary="一位教师")
def teacher(request, teacher_id: int = Path(..., ge=1, le=2**62)):
    found = selectors.teacher_get(scope=scope_for_user(request.auth), teacher_id=teacher_id)
    if found is None:
        raise Http404
    return teacher_out(found)
