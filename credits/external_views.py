"""External hours: upload a file from another platform, see what it added,
skipped and rejected, and map organiser names to institutions."""

import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from access.policy import Action, fetch, visible
from accounts.decorators import division_admin_required
from accounts.models import Role
from core.excel import write_table
from core.lists import paginate
from core.requests import client_ip, object_id
from credits.external_import import COLUMNS, external_hours_import, organiser_map
from credits.models import ExternalImport, OrganiserAlias
from credits.tasks import external_import_task
from org.models import Institution
from people.roster.files import RosterFileError, store_upload


@division_admin_required
@require_http_methods(["GET", "POST"])
def external_import(request, scope):
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "请选择文件"
        elif upload.size > settings.ROSTER_INLINE_MAX_BYTES:
            kwargs = {"upload_path": str(store_upload(upload)), "file_name": upload.name[:255],
                      "actor_id": request.user.pk, "ip": client_ip(request)}
            transaction.on_commit(lambda: external_import_task.delay(**kwargs))
            messages.success(request, "文件较大，已转入后台导入；完成后在“我的导入记录”中查看结果。")
            return redirect("credits:external_import")
        else:
            try:
                result = external_hours_import(scope=scope, actor=request.user, handle=upload.file, name=upload.name,
                                               ip=client_ip(request))
            except RosterFileError as problem:
                error = str(problem)
            else:
                return redirect("credits:external_import_detail", batch_id=result.batch.pk)
    recent = visible(scope, ExternalImport).filter(actor=request.user)[:20]
    return render(request, "credits/external_import.html", {"columns": COLUMNS, "error": error, "recent": recent},
                  status=400 if error else 200)


@division_admin_required
@require_GET
def external_import_detail(request, scope, batch_id: int):
    batch = fetch(scope, ExternalImport, batch_id)
    if request.GET.get("format") == "xlsx":
        handle = tempfile.TemporaryFile()
        write_table(handle, sheet="导入错误", title=f"外部学时导入错误（第 {batch.pk} 批）", jurisdiction=scope.label,
                    header=["行号", "列", "原因", *COLUMNS],
                    rows=([r["row"], r["column"], r["reason"], *r["values"]] for r in batch.rejections))
        handle.seek(0)
        return FileResponse(handle, as_attachment=True, filename=f"学时导入错误-{batch.pk}.xlsx")
    return render(request, "credits/external_import_detail.html", {"batch": batch})


@division_admin_required
@require_http_methods(["GET", "POST"])
def organisers(request, scope):
    """Organiser names seen in imports but not yet mapped, and the mappings made so far."""
    if request.method == "POST":
        try:
            organiser_map(scope=scope, actor=request.user, name=request.POST.get("name", ""),
                          institution_id=object_id(request.POST.get("institution")),
                          may_replace=request.user.role == Role.PROVINCE_ADMIN, ip=client_ip(request))
        except (ValidationError, PermissionDenied) as problem:
            messages.error(request, "；".join(problem.messages) if isinstance(problem, ValidationError) else str(problem))
        else:
            messages.success(request, "已对应。重新导入原文件即可导入这些记录（已导入的不会重复计入）。")
        return redirect("credits:organisers")
    mapped = set(OrganiserAlias.objects.values_list("name", flat=True))
    seen: list[str] = []
    imports = visible(scope, ExternalImport).exclude(unmapped_organisers=[])
    for names in imports.values_list("unmapped_organisers", flat=True)[:200]:
        seen.extend(name for name in names if name not in mapped and name not in seen)
    return render(request, "credits/organisers.html", {
        "unmapped": seen, "aliases": paginate(request, OrganiserAlias.objects.select_related("institution").order_by("name", "pk")),
        "institutions": visible(scope, Institution, Action.ASSIGN).order_by("division_path", "code").only("pk", "name", "code"),
        "may_replace": request.user.role == Role.PROVINCE_ADMIN,
    })
