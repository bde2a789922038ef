"""Pages of self-selected study: the player (/learning/courses/<id>/study/), its two JSON
endpoints (start, beat: POST with the CSRF token, bound to the Django session), choosing a
course (选学), rating it, and 我的学习. Only teachers study; the services ask the policy
whether the course is open to them."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from access.scope import Scope
from accounts.decorators import scoped_view
from core.requests import error_text
from learning import selectors, study_selectors
from learning.constants import CourseFormat
from learning.study import course_enrol, course_rate, playable, study_beat, study_start

MAX_BEAT_BYTES = 8192


def _teacher(scope: Scope) -> None:
    if scope.teacher_id is None:
        raise PermissionDenied("只有教师可以在线学习课程")


def _session_key(request) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


@scoped_view
@require_POST
def course_enrol_view(request, scope, course_id: int):
    _teacher(scope)
    try:
        course_enrol(scope=scope, course_id=course_id)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("courses:course_detail", course_id=course_id)
    return redirect("courses:course_study", course_id=course_id)


@scoped_view
@require_GET
def course_study(request, scope, course_id: int):
    _teacher(scope)
    course = selectors.course_get(scope, course_id)
    if course is None:
        raise Http404("课程不存在或未向您开放")
    problem = playable(course) or ("" if course.state == "published" else "课程未发布，不能学习")
    enrolment = study_selectors.enrolment_for(scope, course_id)
    return render(request, "learning/study.html", {
        "course": course, "problem": problem, "enrolment": enrolment, "reading": course.format == CourseFormat.READING,
        "beat_seconds": settings.LEARNING_BEAT_SECONDS, "idle_seconds": settings.LEARNING_IDLE_SECONDS,
    }, status=400 if problem else 200)


def _progress(enrolment) -> dict:
    return {"state": enrolment.state, "state_label": enrolment.get_state_display(), "percent": enrolment.percent,
            "verified_seconds": enrolment.verified_seconds, "position": enrolment.position_seconds}


def _refused(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail, "credited_seconds": 0}, status=status,
                        json_dumps_params={"ensure_ascii": False})


@scoped_view
@require_POST
def study_start_view(request, scope, course_id: int):
    _teacher(scope)
    try:
        started = study_start(scope=scope, user=request.user, course_id=course_id, session_key=_session_key(request))
    except ValidationError as error:
        return _refused(422, "invalid", error_text(error))
    return JsonResponse({"token": started.token, "session": started.session.pk, **_progress(started.enrolment)},
                        json_dumps_params={"ensure_ascii": False})


@scoped_view
@require_POST
def study_beat_view(request, scope, course_id: int):
    _teacher(scope)
    if len(request.body) > MAX_BEAT_BYTES:
        return _refused(413, "too_large", "学习记录过大")
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _refused(400, "bad_input", "学习记录不是有效的 JSON")
    if not isinstance(payload, dict):
        return _refused(400, "bad_input", "学习记录格式有误")
    result = study_beat(scope=scope, user=request.user, course_id=course_id, session_key=_session_key(request),
                        payload=payload)
    if not result.accepted:
        return _refused(409, result.reason, result.message)
    assert result.enrolment is not None  # noqa: S101 - an accepted beat always has its enrolment
    return JsonResponse({"code": "accepted", "credited_seconds": result.credited_seconds,
                         "completed_now": result.just_completed, **_progress(result.enrolment)},
                        json_dumps_params={"ensure_ascii": False})


@scoped_view
@require_POST
def course_rate_view(request, scope, course_id: int):
    _teacher(scope)
    try:
        stars = int(request.POST.get("rating", ""))
    except ValueError:
        stars = 0
    try:
        course_rate(scope=scope, course_id=course_id, stars=stars)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, "感谢评分。")
    return redirect("courses:course_detail", course_id=course_id)


@scoped_view
@require_GET
def my_study(request, scope):
    _teacher(scope)
    return render(request, "learning/my_study.html", {"enrolments": study_selectors.enrolments_of(scope)})
