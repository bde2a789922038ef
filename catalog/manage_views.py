"""Running a project: create it, publish it, its enrolments (approve, reject),
sessions, attendance, assessment and completion — for administrators of the
organising jurisdiction and staff of the implementing institution. Enrolees
are shown by name and school; never by ID number."""

import datetime as dt
import tempfile

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from access.policy import Action as Can
from access.policy import can, fetch, visible
from accounts.decorators import division_admin_required, scoped_view
from accounts.throttle import export_throttle
from audit.actions import Action
from audit.services import audit_record
from catalog.attendance import (
    STALE_PREVIEW,
    assessment_record,
    attendance_record,
    completion_preview,
    project_complete,
    session_add,
)
from catalog.constants import EnrolmentState
from catalog.forms import AUDIENCE_FIELDS, ProjectEditForm, ProjectForm
from catalog.models import Attendance, Project
from catalog.selectors import audience_region_choices, blocked_reasons, institutions_in_force
from catalog.services import (
    LEVEL_OF_DIVISION,
    enrolment_decide,
    project_create,
    project_open,
    project_update,
)
from core.excel import exporter_name, write_table
from core.requests import client_ip, error_text, object_id
from institutions.models import TrainingBase
from org.models import Division, Institution


def _choosable(scope, organiser: Division) -> dict:
    """The form's pick-lists: the institutions and active training bases this organiser may name
    (access policy ASSIGN), which of them hold an accreditation in force, and the audience regions."""
    institutions = visible(scope, Institution, Can.ASSIGN)
    bases = visible(scope, TrainingBase, Can.ASSIGN).filter(active=True)
    ids = {*institutions.values_list("pk", flat=True), *bases.exclude(institution=None).values_list("institution_id", flat=True)}
    return {"institutions": institutions, "bases": bases, "in_force": institutions_in_force(ids),
            "regions": audience_region_choices(scope=scope, organiser=organiser)}


def _refused(form, problem: ValidationError) -> str:
    """Put the service's Chinese messages next to their fields; returns what belongs to no field."""
    if not hasattr(problem, "error_dict"):
        return error_text(problem)
    rest = []
    for name, errors in problem.message_dict.items():
        target = "divisions" if name == "audience" and "divisions" in form.fields else name
        if target in form.fields:
            for message in errors:
                form.add_error(target, message)
        else:
            rest.extend(errors)
    return "；".join(rest) or "请按提示修改后再保存"


@division_admin_required
@require_http_methods(["GET", "POST"])
def project_new(request, scope):
    level = LEVEL_OF_DIVISION.get(request.user.division.level, "") if request.user.division_id else ""
    organiser = Division.objects.get(pk=request.user.division_id)
    form = ProjectForm(request.POST or None, initial={"level": level}, **_choosable(scope, organiser))
    form.fields["starts_on"].widget.attrs["min"] = timezone.localdate().isoformat()  # the browser helps; the service decides
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create(
                scope=scope, actor=request.user, organiser=organiser, audience=form.audience(), code="",
                ip=client_ip(request), today=timezone.localdate(), **form.values())
        except ValidationError as problem:
            error = _refused(form, problem)
        else:
            messages.success(request, f"项目已保存为草稿，编号 {project.code}；核对后点“发布报名”。")
            return redirect("catalog:project_manage", project_id=project.pk)
    elif request.method == "POST":
        error = "请按提示修改后再保存"
    return render(request, "catalog/project_new.html", {"form": form, "error": error}, status=422 if error else 200)


def _edit_initial(project: Project) -> dict:
    initial = {name: getattr(project, name) for name in ProjectEditForm.base_fields if hasattr(project, name)}
    audience = project.audience or {}
    return {**initial, **{name: audience.get(name) or [] for name in AUDIENCE_FIELDS},
            "new_teachers": bool(audience.get("new_teachers"))}


@division_admin_required
@require_http_methods(["GET", "POST"])
def project_edit(request, scope, project_id: int):
    project = fetch(scope, Project, project_id, Can.CHANGE, select_related=("organiser",))
    choosable = _choosable(scope, project.organiser)
    if project.organiser_school_id is not None:
        choosable["regions"] = []  # a school's project serves its school, never a region
    form = ProjectEditForm(request.POST or None, initial=_edit_initial(project), **choosable)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            project, changed = project_update(scope=scope, actor=request.user, ip=client_ip(request), project_id=project.pk,
                                              changes={**form.values(), "audience": form.audience(project.audience)})
        except ValidationError as problem:
            error = _refused(form, problem)
        except PermissionDenied as problem:
            error = str(problem)
        else:
            messages.success(request, f"已保存（修改 {len(changed)} 项）。" if changed else "没有修改。")
            return redirect("catalog:project_manage", project_id=project.pk)
    elif request.method == "POST":
        error = "请按提示修改后再保存"
    return render(request, "catalog/project_edit.html", {"form": form, "project": project, "error": error},
                  status=422 if error else 200)


def _managed(request, scope, project_id: int) -> Project:
    # Runners only: 404 for a project the viewer does not see, 403 for a published one they do not run.
    return fetch(scope, Project, project_id, Can.RUN, select_related=("organiser", "institution", "base"))


@scoped_view
@require_http_methods(["GET", "POST"])
def project_manage(request, scope, project_id: int):
    project = _managed(request, scope, project_id)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            _act(request, scope, project, action)
        except ValidationError as problem:
            messages.error(request, error_text(problem))
        except PermissionDenied as problem:
            messages.error(request, str(problem) or "无权操作")
        return redirect("catalog:project_manage", project_id=project.pk)
    enrolments = list(project.enrolments.select_related("teacher__school").order_by("state", "created_at"))
    sessions = list(project.sessions.all())
    present = set(Attendance.objects.visible_to(scope, Can.RUN).filter(session__project=project)
                  .values_list("session_id", "enrolment_id"))
    admitted = [e for e in enrolments if e.state in ("enrolled", "completed")]
    grid = [(e, [(s, (s.pk, e.pk) in present) for s in sessions]) for e in admitted]
    admitted_ids = {e.pk for e in admitted}
    columns = [(s, sum(1 for session_id, enrolment_id in present if session_id == s.pk and enrolment_id in admitted_ids))
               for s in sessions]
    if request.GET.get("format") == "xlsx":
        return _export(request, scope, project, enrolments, sessions, present)
    return render(request, "catalog/project_manage.html", {
        "project": project, "enrolments": enrolments, "sessions": sessions, "grid": grid, "columns": columns,
        "admitted_count": len(admitted),
        "may_decide": can(scope, Can.CHANGE, project),
        "blocked": blocked_reasons([project]).get(project.pk, ""),
        "counts": {EnrolmentState(state).label: sum(1 for e in enrolments if e.state == state) for state in
                   ("pending", "enrolled", "waiting", "completed", "withdrawn", "rejected")},
    })


def _act(request, scope, project: Project, action: str) -> None:
    if action == "open":
        project_open(scope=scope, actor=request.user, project_id=project.pk, ip=client_ip(request))
        messages.success(request, "已发布，开始报名。")
    elif action in ("approve", "reject"):
        enrolment_decide(scope=scope, enrolment_id=object_id(request.POST.get("enrolment")), approve=action == "approve",
                         project_id=project.pk, actor=request.user, ip=client_ip(request))
        messages.success(request, "已处理。")
    elif action == "session":
        try:
            held_on = dt.date.fromisoformat(request.POST.get("held_on", ""))
        except ValueError:
            raise ValidationError({"held_on": "日期格式应为 YYYY-MM-DD"}) from None
        session_add(scope=scope, project=project, title=request.POST.get("title", ""), held_on=held_on)
        messages.success(request, "已添加场次。")
    elif action == "attendance":
        recorded = already = 0
        for session_id, enrolment_ids in _marked(request.POST, project).items():
            report = attendance_record(user=request.user, scope=scope, session_id=session_id,
                                       enrolment_ids=enrolment_ids, project_id=project.pk)
            recorded, already = recorded + report.recorded, already + report.already
        messages.success(request, f"已记录 {recorded} 人次，此前已记录 {already} 人次。")
    elif action == "upload":
        from catalog.attendance_upload import attendance_upload

        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "请选择考勤表文件"})
        uploaded = attendance_upload(user=request.user, scope=scope, project=project, handle=upload.file,
                                     name=upload.name or "upload", ip=client_ip(request))
        messages.success(request, f"考勤表 {uploaded.rows} 行：新记录出勤 {uploaded.recorded} 人次，"
                                  f"此前已记录 {uploaded.already} 人次，未记录 {len(uploaded.refused)} 处。")
        for refusal in uploaded.refused[:20]:
            messages.error(request, f"第{refusal['row']}行 {refusal['column']}：{refusal['reason']}")
    elif action == "assessment":
        assessment_record(scope=scope, enrolment_id=object_id(request.POST.get("enrolment")),
                          passed=request.POST.get("passed") == "1", project_id=project.pk)
    else:
        raise ValidationError({"action": "未知操作"})


@scoped_view
@require_http_methods(["GET", "POST"])
def project_completion(request, scope, project_id: int):
    """判定结业并记入学时: the preview of exactly what will be written; only the confirmation
    (posting the preview's digest back) writes, and only if nothing changed meanwhile."""
    project = _managed(request, scope, project_id)
    if request.method == "POST":
        digest = request.POST.get("digest", "")[:64]
        if not digest:
            messages.error(request, "请先核对预览，再确认结业")
            return redirect("catalog:project_completion", project_id=project.pk)
        try:
            completion = project_complete(user=request.user, scope=scope, project=project, digest=digest,
                                          ip=client_ip(request))
        except ValidationError as problem:
            messages.error(request, error_text(problem))
            if STALE_PREVIEW in error_text(problem):
                return redirect("catalog:project_completion", project_id=project.pk)
            return redirect("catalog:project_manage", project_id=project.pk)
        messages.success(request, f"结业 {completion.completed} 人（学时已记入账本），此前已结业 {completion.already} 人，"
                                  f"未达结业条件 {len(completion.not_met)} 人。")
        return redirect("catalog:project_manage", project_id=project.pk)
    preview = completion_preview(scope=scope, project=project)
    return render(request, "catalog/project_completion.html", {"project": project, "preview": preview})

def _marked(post, project: Project) -> dict[int, list[int]]:
    """Who to mark present, by session: one session's `present` enrolments, the grid's
    `mark` boxes ("<session>-<enrolment>"), or a whole column (`all_present`: every admitted)."""
    if post.get("session"):
        return {object_id(post.get("session")): [object_id(v) for v in post.getlist("present")]}
    if post.get("all_present"):
        admitted = project.enrolments.filter(state__in=("enrolled", "completed")).values_list("pk", flat=True)
        return {object_id(post.get("all_present")): list(admitted)}
    marked: dict[int, list[int]] = {}
    for value in post.getlist("mark")[:20_000]:
        session, _, enrolment = str(value).partition("-")
        marked.setdefault(object_id(session), []).append(object_id(enrolment))
    if not marked:
        raise ValidationError({"mark": "请先勾选出勤的学员"})
    return marked


def _export(request, scope, project, enrolments, sessions, present):
    export_throttle(request.user)
    handle = tempfile.TemporaryFile()
    # 报名编号 lets the sheet come back as an attendance upload (catalog/attendance_upload.py).
    header = ["报名编号", "姓名", "学校", "状态", *[f"第{s.number}场 {s.held_on:%m-%d}" for s in sessions], "考核"]
    rows = ([e.pk, e.teacher.name, e.teacher.school.name, e.get_state_display(),
             *["出勤" if (s.pk, e.pk) in present else "" for s in sessions],
             {True: "合格", False: "不合格"}.get(e.assessment_passed, "")] for e in enrolments)
    count = write_table(handle, sheet="报名与考勤", title=f"{project.title}（{project.code}）报名与考勤",
                        jurisdiction=scope.label, exported_by=exporter_name(request.user), header=header, rows=rows)
    audit_record(action=Action.PROJECT_EXPORT, actor=request.user, ip=client_ip(request), scope_path=project.division_path,
                 object_type="project", object_id=project.pk, detail={"rows": count})
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"报名与考勤-{project.code}.xlsx")


@scoped_view
@require_POST
def check_in_view(request, scope):
    from catalog.attendance import check_in
    from people.selectors import teacher_get

    teacher = teacher_get(scope=scope, teacher_id=request.user.teacher_id) if request.user.teacher_id else None
    if teacher is None:
        raise PermissionDenied("只有教师本人可以签到")
    try:
        session = check_in(scope=scope, teacher=teacher, code=request.POST.get("code", "")[:12])
    except ValidationError as problem:
        messages.error(request, error_text(problem))
    else:
        messages.success(request, f"签到成功：{session.project.title} 第{session.number}场。")
    return redirect("catalog:my_enrolments")
