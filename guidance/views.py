"""Pages of expert guidance: asking (with instant answers while typing), one question's thread,
the teacher's and the expert's lists; for administrators the teams, coverage, question list,
dashboard (and its Excel export), common problems and the hours rule. Views parse the form,
call one service or selector and render; refusals come back as Chinese messages."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import Action, can, fetch, visible
from accounts.decorators import (
    admin_required,
    division_admin_required,
    division_of,
    scoped_view,
)
from audit.actions import Action as Audit
from audit.services import audit_record
from core.excel import exporter_name
from core.lists import division_choices, division_filter, paginate
from core.requests import client_ip, error_text
from guidance import bank, clusters, hours, questions, selectors, teams
from guidance.constants import MEMBER_ROLE_LABELS, MemberRole, QuestionState
from guidance.dashboard import clean_period, dashboard
from guidance.export import dashboard_workbook
from guidance.models import GuidanceTeam, HoursRule, Question
from org.constants import Stage
from org.models import Division
from people.constants import SUBJECT_LABELS, Subject
from people.models import Teacher

STARS = (5, 4, 3, 2, 1)


def _teacher(scope) -> Teacher:
    if scope.teacher_id is None:
        raise PermissionDenied("只有教师可以向专家指导团队提问")
    return fetch(scope, Teacher, scope.teacher_id)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _date(value: str | None, default):
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


# --- teachers: asking --------------------------------------------------------------------------

@scoped_view
@require_http_methods(["GET", "POST"])
def ask(request, scope):
    teacher = _teacher(scope)
    subjects = [(code, SUBJECT_LABELS.get(code, code)) for code in questions.subjects_of(teacher)]
    values = {"subject": request.POST.get("subject") or (subjects[0][0] if subjects else ""),
              "text": request.POST.get("text", ""), "shareable": request.POST.get("shareable", "1") == "1"}
    similar: list = []
    if request.method == "POST":
        accept = _int(request.POST.get("accept"))
        confirmed = request.POST.get("confirm") == "1"
        if accept is None and not confirmed and len(values["text"].strip()) >= 10:
            # Before troubling an expert, show what was already answered (即时解答).
            similar = bank.similar_questions(scope, stage=teacher.stage, subject=values["subject"], text=values["text"])
        if not similar:
            try:
                question = questions.question_ask(scope=scope, user=request.user, subject=values["subject"],
                                                  text=values["text"], attachment=request.FILES.get("attachment"),
                                                  shareable=values["shareable"], accept_id=accept)
            except ValidationError as error:
                messages.error(request, error_text(error))
                return render(request, "guidance/ask.html", {
                    "subjects": subjects, "values": values,
                    "first_answer_hours": settings.GUIDANCE_FIRST_ANSWER_HOURS}, status=400)
            if question.matched_id:
                messages.success(request, "已采纳已有解答，问题已解决")
            else:
                messages.success(request, f"问题已提交给{question.team.name}，请留意站内信")
            return redirect("guidance:question_detail", question_id=question.pk)
    return render(request, "guidance/ask.html", {"subjects": subjects, "values": values, "similar": similar,
                                                 "confirm_step": bool(similar),
                                                 "first_answer_hours": settings.GUIDANCE_FIRST_ANSWER_HOURS})


@scoped_view
@require_GET
def similar(request, scope):
    """The instant answers while typing (an htmx fragment)."""
    teacher = _teacher(scope)
    subject = request.GET.get("subject", "")
    text = request.GET.get("text", "")[:2000]
    found = []
    if subject in questions.subjects_of(teacher) and len(text.strip()) >= 6:
        found = bank.similar_questions(scope, stage=teacher.stage, subject=subject, text=text)
    return render(request, "guidance/similar.html", {"similar": found, "typing": True})


@scoped_view
@require_GET
def consult(request, scope, question_id: int):
    """An answered question shown as an instant answer: its text and answers, never its asker."""
    question = visible(scope, Question, Action.CONSULT).filter(pk=question_id).first()
    if question is None:
        raise Http404("该问题不可查看")
    answers = [m for m in question.messages.select_related("member__teacher").order_by("created_at") if m.is_answer]
    return render(request, "guidance/consult.html", {"question": question, "answers": answers})


@scoped_view
@require_GET
def my_questions(request, scope):
    _teacher(scope)
    page = paginate(request, selectors.my_questions(scope))
    return render(request, "guidance/my_questions.html", {"questions": page, "page": page})


# --- one question ------------------------------------------------------------------------------

@scoped_view
@require_GET
def question_detail(request, scope, question_id: int):
    question = selectors.question_get(scope, question_id)
    if question is None:
        raise Http404("问题不存在或不在您的范围内")
    is_asker = scope.teacher_id is not None and question.teacher_id == scope.teacher_id
    may_answer = can(scope, Action.ANSWER, question) and question.state != QuestionState.RESOLVED
    may_assign = (question.team_id is not None and question.state != QuestionState.RESOLVED
                  and can(scope, Action.ASSIGN, question))
    return render(request, "guidance/question_detail.html", {
        "question": question, "thread": selectors.thread(question), "is_asker": is_asker, "may_answer": may_answer,
        "may_assign": may_assign,
        "members": question.team.members.select_related("teacher") if may_assign and question.team else [],
        "stars": STARS, "overdue": (question.state == QuestionState.WAITING and question.first_answered_at is None
                                    and question.due_at is not None and question.due_at < timezone.now()),
        # Administrators and experts see the asker's name; it is the asker's own record otherwise.
        "show_asker": not is_asker,
    })


def _back(question_id: int):
    return redirect("guidance:question_detail", question_id=question_id)


@scoped_view
@require_POST
def question_answer(request, scope, question_id: int):
    try:
        questions.question_answer(scope=scope, user=request.user, question_id=question_id,
                                  body=request.POST.get("body", ""))
        messages.success(request, "已回复")
    except ValidationError as error:
        messages.error(request, error_text(error))
    return _back(question_id)


@scoped_view
@require_POST
def question_follow_up(request, scope, question_id: int):
    try:
        questions.question_follow_up(scope=scope, user=request.user, question_id=question_id,
                                     body=request.POST.get("body", ""))
        messages.success(request, "已追问，专家会收到提醒")
    except ValidationError as error:
        messages.error(request, error_text(error))
    return _back(question_id)


@scoped_view
@require_POST
def question_resolve(request, scope, question_id: int):
    try:
        questions.question_resolve(scope=scope, user=request.user, question_id=question_id,
                                   rating=_int(request.POST.get("rating")))
        messages.success(request, "问题已标为解决，谢谢评价")
    except ValidationError as error:
        messages.error(request, error_text(error))
    return _back(question_id)


@scoped_view
@require_POST
def question_rate(request, scope, question_id: int):
    try:
        questions.question_rate(scope=scope, question_id=question_id, rating=_int(request.POST.get("rating"), 0))
        messages.success(request, "已评价")
    except ValidationError as error:
        messages.error(request, error_text(error))
    return _back(question_id)


@scoped_view
@require_POST
def question_reassign(request, scope, question_id: int):
    try:
        questions.question_reassign(scope=scope, actor=request.user, question_id=question_id,
                                    member_id=_int(request.POST.get("member"), 0), ip=client_ip(request))
        messages.success(request, "已改派")
    except ValidationError as error:
        messages.error(request, error_text(error))
    return _back(question_id)


@scoped_view
@require_GET
def question_attachment(request, scope, question_id: int):
    question = fetch(scope, Question, question_id)
    if not question.attachment:
        raise Http404("没有附件")
    return FileResponse(question.attachment.open("rb"), as_attachment=True,
                        filename=f"question-{question.pk}{question.attachment.name[-4:]}")


# --- experts -------------------------------------------------------------------------------------

@scoped_view
@require_GET
def expert_inbox(request, scope):
    if scope.teacher_id is None:
        raise PermissionDenied("只有指导团队成员可以查看")
    mine = selectors.questions(scope, mine_to_answer=True).exclude(state=QuestionState.RESOLVED)
    team_rows = selectors.questions(scope).filter(team__members__teacher_id=scope.teacher_id).exclude(
        state=QuestionState.RESOLVED)
    return render(request, "guidance/expert_inbox.html", {
        "mine": mine[:100], "team_questions": team_rows[:100], "my_teams": selectors.teams(scope), "now": timezone.now()})


# --- administrators: teams -----------------------------------------------------------------------

@division_admin_required
@require_http_methods(["GET", "POST"])
def team_list(request, scope):
    if request.method == "POST":
        division = fetch(scope, Division, _int(request.POST.get("division"), 0)) if request.POST.get("division") \
            else division_of(request.user)
        try:
            team = teams.team_create(scope=scope, actor=request.user, division=division,
                                     name=request.POST.get("name", ""), stage=request.POST.get("stage", ""),
                                     subject=request.POST.get("subject", ""), ip=client_ip(request))
            messages.success(request, f"已组建团队：{team.name}")
            return redirect("guidance:team_detail", team_id=team.pk)
        except ValidationError as error:
            messages.error(request, error_text(error))
    # The divisions whose teams this administrator may build (the policy's, a city's 省直管县 left out).
    divisions = visible(scope, Division, Action.CHANGE).filter(level__in=("city", "county")).order_by("path")
    stage = request.GET.get("stage", "") if request.GET.get("stage", "") in Stage.values else ""
    subject = request.GET.get("subject", "") if request.GET.get("subject", "") in Subject.values else ""
    code = request.GET.get("division", "").strip()[:6]
    try:
        division_path = division_filter(scope, code)
    except ValueError:
        messages.error(request, "所选区划不在本辖区")
        code, division_path = "", ""
    return render(request, "guidance/team_list.html", {
        "page": paginate(request, selectors.teams(scope, stage=stage, subject=subject, division_path=division_path)),
        "stages": Stage.choices, "subjects": Subject.choices, "divisions": divisions,
        "filters": {"stage": stage, "subject": subject, "division": code}, "division_options": division_choices(scope)})


@division_admin_required
@require_GET
def team_detail(request, scope, team_id: int):
    team = selectors.team_get(scope, team_id)
    if team is None:
        raise Http404("团队不存在或不在您的管辖范围内")
    may_change = can(scope, Action.CHANGE, team)
    members = list(selectors.team_members(team))
    member_ids = {m.teacher_id for m in members}
    candidates = []
    if may_change:
        candidates = [t for t in visible(scope, Teacher).filter(
            division_path__startswith=team.division_path, stage=team.stage, subjects__subject=team.subject,
            status="active").filter(honours__isnull=False).select_related("school").distinct().order_by("name")[:60]
            if t.pk not in member_ids]
    return render(request, "guidance/team_detail.html", {
        "team": team, "may_change": may_change, "members": members, "pairings": selectors.team_schools(team),
        "roles": MemberRole.choices, "role_labels": MEMBER_ROLE_LABELS, "candidates": candidates,
        "uncovered": selectors.uncovered_school_ids(scope, team) if may_change else []})


@division_admin_required
@require_POST
def team_update(request, scope, team_id: int):
    try:
        teams.team_update(scope=scope, actor=request.user, team_id=team_id, name=request.POST.get("name", ""),
                          is_active=request.POST.get("is_active") == "1", ip=client_ip(request))
        messages.success(request, "已保存")
    except ValidationError as error:
        messages.error(request, error_text(error))
    return redirect("guidance:team_detail", team_id=team_id)


@division_admin_required
@require_POST
def member_save(request, scope, team_id: int):
    try:
        teams.member_save(scope=scope, actor=request.user, team_id=team_id,
                          teacher_id=_int(request.POST.get("teacher"), 0), role=request.POST.get("role", ""),
                          is_lead=request.POST.get("is_lead") == "1",
                          is_available=request.POST.get("is_available", "1") == "1", ip=client_ip(request))
        messages.success(request, "成员已保存")
    except ValidationError as error:
        messages.error(request, error_text(error))
    return redirect("guidance:team_detail", team_id=team_id)


@division_admin_required
@require_POST
def member_remove(request, scope, team_id: int, member_id: int):
    try:
        teams.member_remove(scope=scope, actor=request.user, member_id=member_id, ip=client_ip(request))
        messages.success(request, "已移出团队")
    except ValidationError as error:
        messages.error(request, error_text(error))
    return redirect("guidance:team_detail", team_id=team_id)


@division_admin_required
@require_POST
def schools_pair(request, scope, team_id: int):
    team = fetch(scope, GuidanceTeam, team_id, Action.CHANGE)
    ids = ([int(v) for v in request.POST.getlist("school") if v.isdigit()] if request.POST.get("all") != "1"
           else selectors.uncovered_school_ids(scope, team))
    if not ids:
        messages.error(request, "请选择要结对的学校")
        return redirect("guidance:team_detail", team_id=team_id)
    try:
        made = teams.schools_pair(scope=scope, actor=request.user, team_id=team_id, school_ids=ids,
                                  replace=request.POST.get("replace") == "1", ip=client_ip(request))
        messages.success(request, f"已结对 {made} 所学校")
    except ValidationError as error:
        messages.error(request, error_text(error))
    return redirect("guidance:team_detail", team_id=team_id)


@division_admin_required
@require_POST
def school_unpair(request, scope, team_id: int, school_id: int):
    teams.school_unpair(scope=scope, actor=request.user, team_id=team_id, school_id=school_id, ip=client_ip(request))
    messages.success(request, "已解除结对")
    return redirect("guidance:team_detail", team_id=team_id)


@admin_required
@require_GET
def coverage(request, scope):
    return render(request, "guidance/coverage.html", {"coverage": selectors.coverage(scope)})


# --- administrators: questions, dashboard, common problems, rule ---------------------------------

@admin_required
@require_GET
def question_list(request, scope):
    state = request.GET.get("state", "")
    overdue = request.GET.get("overdue") == "1"
    stage = request.GET.get("stage", "") if request.GET.get("stage", "") in Stage.values else ""
    subject = request.GET.get("subject", "") if request.GET.get("subject", "") in Subject.values else ""
    rows = selectors.questions(scope, state=state, overdue=overdue, now=timezone.now(), stage=stage, subject=subject)
    return render(request, "guidance/question_list.html", {
        "page": paginate(request, rows), "state": state, "overdue": overdue, "states": QuestionState.choices,
        "stage": stage, "subject": subject, "stages": Stage.choices, "subjects": Subject.choices})


@admin_required
@require_GET
def dashboard_view(request, scope):
    today = timezone.localdate()
    try:
        start, end = clean_period(_date(request.GET.get("start"), None), _date(request.GET.get("end"), None), today)
    except ValidationError as error:
        messages.error(request, error_text(error))
        start, end = clean_period(None, None, today)
    board = dashboard(scope, start=start, end=end)
    if request.GET.get("format") == "xlsx":
        audit_record(action=Audit.GUIDANCE_EXPORT, actor=request.user, ip=client_ip(request),
                     scope_path=scope.path or "", object_type="guidance_dashboard",
                     detail={"start": start.isoformat(), "end": end.isoformat()})
        response = HttpResponse(dashboard_workbook(board, title=f"{scope.label} 专家指导统计", jurisdiction=scope.label,
                                                   exported_by=exporter_name(request.user)),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="guidance-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"'
        return response
    chart = {"tooltip": {}, "grid": {"left": 40, "right": 10, "bottom": 30, "top": 10},
             "xAxis": {"type": "category", "data": [label for label, _ in board.buckets]},
             "yAxis": {"type": "value", "minInterval": 1},
             "series": [{"type": "bar", "name": "问题数", "data": [count for _, count in board.buckets]}]}
    return render(request, "guidance/dashboard.html", {"board": board, "chart": chart})


@division_admin_required
@require_http_methods(["GET", "POST"])
def problems(request, scope):
    home = division_of(request.user)
    if request.method == "POST":
        division = fetch(scope, Division, _int(request.POST.get("division"), home.pk))
        today = timezone.localdate()
        try:
            found = clusters.clusters_refresh(
                scope=scope, division=division, stage=request.POST.get("stage", ""),
                subject=request.POST.get("subject", ""), start=_date(request.POST.get("start"), today - dt.timedelta(days=30)),
                end=_date(request.POST.get("end"), today))
            messages.success(request, f"找到 {len(found)} 个共性问题")
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, error_text(error))
        return redirect("guidance:problems")
    today = timezone.localdate()
    stage = request.GET.get("stage", "") if request.GET.get("stage", "") in Stage.values else ""
    subject = request.GET.get("subject", "") if request.GET.get("subject", "") in Subject.values else ""
    page = paginate(request, clusters.clusters(scope, stage=stage, subject=subject))
    return render(request, "guidance/problems.html", {
        "page": page, "clusters": page, "stages": Stage.choices, "subjects": Subject.choices,
        "filters": {"stage": stage, "subject": subject},
        "home": home, "start": today - dt.timedelta(days=30), "end": today})


@division_admin_required
@require_POST
def problem_to_project(request, scope, cluster_id: int):
    try:
        project = clusters.cluster_to_project(scope=scope, actor=request.user, cluster_id=cluster_id,
                                              ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("guidance:problems")
    messages.success(request, "已生成线下培训项目草稿，请完善后发布")
    return redirect("catalog:project_detail", project_id=project.pk)


@division_admin_required
@require_http_methods(["GET", "POST"])
def hours_rule(request, scope):
    if request.method == "POST":
        try:
            hours.rule_revise(scope=scope, actor=request.user,
                              effective_from=_date(request.POST.get("effective_from"), timezone.localdate()),
                              expert_hours=request.POST.get("expert_hours", ""), expert_cap=request.POST.get("expert_cap", ""),
                              asker_hours=request.POST.get("asker_hours", ""), asker_cap=request.POST.get("asker_cap", ""),
                              ip=client_ip(request))
            messages.success(request, "已发布新版学时规则")
        except ValidationError as error:
            messages.error(request, error_text(error))
        return redirect("guidance:hours_rule")
    return render(request, "guidance/hours_rule.html", {
        "rule": hours.rule_in_force(timezone.localdate()), "versions": HoursRule.objects.all()[:20],
        "may_change": request.user.role == "province_admin", "today": timezone.localdate()})
