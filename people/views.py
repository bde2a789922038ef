"""Teacher registry pages. Every view resolves the viewer's Scope first and
reads through people.selectors; anything outside the scope is a 404."""

import dataclasses
import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import Action, can, fetch, visible
from accounts.decorators import admin_required, scoped_view
from accounts.throttle import rate_limited
from core.dbrouting import replica_view
from core.excel import write_table
from core.lists import paginate
from core.requests import client_ip, object_id
from org.models import School
from org.selectors import division_list
from people import selectors
from people.export_requests import (
    export_needs_approval,
    export_request_create,
    export_request_decide,
    export_request_download,
    export_requests_to_decide,
)
from people.forms import ExportForm, RosterUploadForm, TeacherFilterForm, TeacherForm
from people.id_lookup import teacher_id_lookup
from people.identity import id_mask
from people.models import ExportRequest, ImportBatch
from people.roster.columns import COLUMNS, format_honours
from people.roster.exporter import roster_export
from people.roster.files import RosterFileError, store_upload, write_rows
from people.roster.importer import roster_import
from people.services import teacher_may_reveal_id, teacher_reveal_id, teacher_update
from people.tasks import roster_import_task


def _division_choices(scope):
    return division_list(scope=scope).select_related(None).only("code", "name", "level")


def _filters_from(form: TeacherFilterForm) -> selectors.TeacherFilters:
    """Filters from a bound form. Invalid values (say, a division outside the
    viewer's scope) raise rather than being dropped, which would widen the list."""
    if form.is_bound and not form.is_valid():
        raise ValidationError("筛选条件无效：" + "；".join(f"{form.fields[name].label}" for name in form.errors if name in form.fields))
    data = form.cleaned_data if form.is_bound else {}
    return selectors.TeacherFilters(
        division=data.get("division") or "", school=data.get("school") or "", stage=data.get("stage") or "",
        subject=data.get("subject") or "", title=data.get("title") or "", honour=data.get("honour") or "",
        status=data.get("status") or "", new_teacher=bool(data.get("new_teacher")), q=data.get("q") or "",
    )


def _searched(request, scope, filters: selectors.TeacherFilters, *, channel: str) -> selectors.TeacherFilters:
    """The filters with the audited lookup a search by ID number needs (Throttled past the
    account's limit); a name search passes unchanged and uncounted."""
    lookup = teacher_id_lookup(scope=scope, actor=request.user, q=filters.q, channel=channel, ip=client_ip(request))
    return dataclasses.replace(filters, id_lookup=lookup)


@replica_view
@admin_required
@require_GET
def teacher_list(request, scope):
    form = TeacherFilterForm(request.GET or None, divisions=_division_choices(scope))
    partial = bool(request.headers.get("HX-Request"))
    limits = {"hour": settings.ID_LOOKUP_MAX_PER_HOUR, "day": settings.ID_LOOKUP_MAX_PER_DAY}
    try:
        filters = _filters_from(form)
    except ValidationError as error:
        context = {"form": form, "page": selectors.TeacherPage(teachers=[]), "query": {}, "scope": scope,
                   "filter_error": error.messages[0], "id_lookup_limits": limits}
    else:
        filters = _searched(request, scope, filters, channel="partial" if partial else "page")
        data = form.cleaned_data if form.is_bound else {}
        page = selectors.teacher_page(scope=scope, filters=filters, after=data.get("after"), before=data.get("before"))
        context = {"form": form, "page": page, "query": filters.as_query(), "scope": scope, "id_lookup_limits": limits}
    template = "people/partials/teacher_table.html" if partial else "people/teacher_list.html"
    return render(request, template, context)


@scoped_view
@require_GET
def teacher_detail(request, scope, teacher_id: int):
    teacher = selectors.teacher_get(scope=scope, teacher_id=teacher_id)
    if teacher is None:
        raise Http404("教师不存在或不在本辖区")
    history = selectors.teacher_history(scope=scope, teacher=teacher) if scope.teacher_id is None else []
    from learning.push.selectors import push_for

    return render(request, "people/teacher_detail.html", {
        "teacher": teacher, "may_reveal": teacher_may_reveal_id(scope=scope, teacher=teacher),
        "may_edit": can(scope, Action.CHANGE, teacher),
        "history": history,
        # The teacher's own pushed courses, for the administrators over them (the teacher sees them at home).
        "push": push_for(scope, teacher) if scope.teacher_id is None else None,
    })


@scoped_view
@require_POST
def teacher_reveal(request, scope, teacher_id: int):
    teacher = selectors.teacher_get(scope=scope, teacher_id=teacher_id)
    if teacher is None:
        raise Http404("教师不存在或不在本辖区")
    number = teacher_reveal_id(scope=scope, actor=request.user, teacher=teacher, ip=client_ip(request))
    return HttpResponse(f'<code id="id-number">{number}</code>', content_type="text/html; charset=utf-8")


@admin_required
@require_http_methods(["GET", "POST"])
def teacher_edit(request, scope, teacher_id: int):
    teacher = selectors.teacher_fetch(scope=scope, teacher_id=teacher_id, action=Action.CHANGE)
    initial = {
        "name": teacher.name, "school_code": teacher.school.code, "stage": teacher.stage,
        "main_subject": teacher.subject_codes[0] if teacher.subject_codes else "",
        "other_subjects": teacher.subject_codes[1:], "title": teacher.title, "hire_date": teacher.hire_date,
        "status": teacher.status, "honours": format_honours(teacher.honours.all()),
    }
    form = TeacherForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        school = visible(scope, School).filter(code=form.cleaned_data["school_code"].strip()).first()
        if school is None:
            form.add_error("school_code", "学校代码不存在或不在本辖区")
        else:
            try:
                teacher_update(scope=scope, actor=request.user, teacher=teacher, ip=client_ip(request),
                               data=form.to_data(school=school, current_id_number=teacher.id_number))
            except ValidationError as error:
                for field, reasons in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, reasons)
            except PermissionDenied as error:
                form.add_error("school_code", str(error))
            else:
                messages.success(request, "已保存。")
                return redirect("people:teacher_detail", teacher_id=teacher.pk)
    return render(request, "people/teacher_edit.html", {"form": form, "teacher": teacher})


@admin_required
@require_http_methods(["GET", "POST"])
def roster_import_view(request, scope):
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > settings.ROSTER_INLINE_MAX_BYTES:
            _enqueue_import(request, upload)
            messages.success(request, "文件较大，已转入后台导入；完成后在“最近导入”中查看结果。")
            return redirect("people:roster_import")
        try:
            report = roster_import(scope=scope, actor=request.user, handle=upload.file, name=upload.name, ip=client_ip(request))
        except RosterFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect("people:roster_batch", batch_id=report.batch_id)
    batches = visible(scope, ImportBatch)[:10]
    context = {"form": form, "batches": batches, "columns": COLUMNS,
               "running": any(batch.state == ImportBatch.State.RUNNING for batch in batches)}
    if request.headers.get("HX-Request"):
        return render(request, "people/partials/import_batches.html", context)
    return render(request, "people/roster_import.html", context)


def _enqueue_import(request, upload) -> None:
    """Store the upload outside the web root and import it after this request commits."""
    target = store_upload(upload)
    kwargs = {"upload_path": str(target), "file_name": upload.name[:255], "actor_id": request.user.pk, "ip": client_ip(request)}
    transaction.on_commit(lambda: roster_import_task.delay(**kwargs))


@admin_required
@require_GET
def roster_batch_detail(request, scope, batch_id: int):
    batch = fetch(scope, ImportBatch, batch_id)
    page = paginate(request, batch.rejections.all())
    return render(request, "people/roster_batch.html", {"batch": batch, "rejections": page, "page": page})


def _masked_again(values: list) -> list:
    """Rows stored before the mask narrowed hold the former 3 + 4: mask them as today's rule
    does (id_mask keeps only characters those showed)."""
    position = COLUMNS.index("身份证号")
    if len(values) > position and values[position]:
        values = [*values[:position], id_mask(str(values[position])), *values[position + 1:]]
    return values


@admin_required
@require_GET
def roster_rejections_download(request, scope, batch_id: int):
    batch = fetch(scope, ImportBatch, batch_id)
    rows = ([r.row_number, r.column, r.reason, *_masked_again(r.values)] for r in batch.rejections.all())
    handle = tempfile.TemporaryFile()
    write_table(handle, sheet="导入错误", title=f"教师名册导入错误（第 {batch.pk} 批）", jurisdiction=scope.label,
                header=["行号", "列", "原因", *COLUMNS], rows=rows)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"导入错误-{batch.pk}.xlsx")


@admin_required
@require_GET
def roster_template_download(request, scope):
    handle = tempfile.TemporaryFile()
    write_rows(handle, "xlsx", COLUMNS, [])
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename="教师名册模板.xlsx")


@replica_view
@admin_required
@require_GET
def roster_export_view(request, scope):
    if rate_limited("export", str(request.user.pk), limit=settings.EXPORT_MAX_PER_HOUR, seconds=3600):
        return HttpResponse("导出过于频繁，请稍后再试。", status=429, content_type="text/plain; charset=utf-8")
    export_form = ExportForm(request.GET)
    kind = export_form.cleaned_data["format"] if export_form.is_valid() else "xlsx"
    handle = tempfile.TemporaryFile(mode="w+b") if kind == "xlsx" else tempfile.TemporaryFile(mode="w+", encoding="utf-8-sig", newline="")
    if request.GET.get("request"):
        # Full-ID and bulk exports only through a request approved by a second administrator.
        export_request_download(scope=scope, actor=request.user, request_id=object_id(request.GET.get("request")),
                                destination=handle, kind=kind, ip=client_ip(request))
    else:
        try:
            filters = _filters_from(TeacherFilterForm(request.GET, divisions=_division_choices(scope)))
        except ValidationError as error:
            return HttpResponse(error.messages[0], status=400, content_type="text/plain; charset=utf-8")
        refusal = f"导出完整身份证号或超过 {settings.EXPORT_BULK_ROWS} 行的名册，须先提交申请并经另一位管理员批准"
        if request.GET.get("full_ids"):
            raise PermissionDenied(refusal)
        filters = _searched(request, scope, filters, channel="export")
        if export_needs_approval(scope=scope, filters=filters):
            raise PermissionDenied(refusal)
        roster_export(scope=scope, actor=request.user, destination=handle, kind=kind, filters=filters, ip=client_ip(request))
    handle.seek(0)
    if kind == "csv":
        return HttpResponse(handle.read().encode("utf-8-sig"), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": "attachment; filename*=UTF-8''roster.csv"})
    return FileResponse(handle, as_attachment=True, filename="教师名册.xlsx")


@admin_required
@require_http_methods(["GET", "POST"])
def export_requests(request, scope):
    """Ask for a full-ID export, decide others' requests, download approved ones."""
    if request.method == "POST":
        try:
            if "decide" in request.POST:
                export_request_decide(scope=scope, actor=request.user, request_id=object_id(request.POST.get("decide")),
                                      approve=request.POST.get("approve") == "1", ip=client_ip(request))
                messages.success(request, "已处理。")
            else:
                filters = _filters_from(TeacherFilterForm(request.POST, divisions=_division_choices(scope)))
                export_request_create(scope=scope, actor=request.user, filters=filters,
                                      reason=request.POST.get("reason", ""), full_ids=request.POST.get("full_ids") == "1",
                                      ip=client_ip(request))
                messages.success(request, "申请已提交，需由本辖区另一位管理员或上级管理员批准。")
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        return redirect("people:export_requests")
    mine = visible(scope, ExportRequest).filter(requested_by=request.user).select_related("decided_by")[:20]
    to_decide = export_requests_to_decide(scope=scope)[:50]
    return render(request, "people/export_requests.html", {
        "mine": mine, "to_decide": to_decide, "query": request.GET, "now": timezone.now(),
        "bulk_rows": settings.EXPORT_BULK_ROWS,
    })
