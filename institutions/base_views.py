"""Pages of the training-base registry (培训基地): the list with filters and this term's 跟岗
seats, one base's page (what it offers, its coming terms and the projects holding seats), and
the designation and edit form for the division that keeps it. Views parse, call one selector or
service, and redirect; refusals come back as Chinese messages and write nothing."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from access.policy import Action, can, visible
from accounts.decorators import DIVISION_ADMIN_ROLES, roles_required
from accounts.models import ADMIN_ROLES, Role
from core.lists import paginate
from core.requests import client_ip, error_text
from institutions import bases, selectors
from institutions.constants import INSTITUTION_BASES, BaseKind
from institutions.models import TrainingBase
from institutions.views import _int
from org.constants import STAGE_LABELS
from org.models import Institution, School
from people.constants import SUBJECT_LABELS

base_page = roles_required(ADMIN_ROLES | {Role.INSTITUTION_STAFF})
LEVELS = (("province", "省级"), ("city", "市级"), ("county", "县级"))


def _choices(scope) -> dict:
    return {"kinds": BaseKind.choices, "stages": list(STAGE_LABELS.items()), "subjects": list(SUBJECT_LABELS.items()),
            "levels": LEVELS}


@base_page
@require_GET
def base_list(request, scope):
    filters = {name: request.GET.get(name, "").strip()[:50] for name in ("level", "kind", "stage", "subject", "q")}
    page = paginate(request, selectors.training_bases(scope, **filters))
    rows = list(page)
    term = bases.term_of(timezone.localdate())
    used = selectors.term_usage(rows, term)
    return render(request, "institutions/base_list.html", {
        "page": page, "rows": [(base, used[base.pk], max(0, base.seats_per_term - used[base.pk])) for base in rows],
        "filters": filters, "term": bases.term_label(term), "may_add": request.user.role in DIVISION_ADMIN_ROLES, **_choices(scope)})


@base_page
@require_GET
def base_detail(request, scope, base_id: int):
    base = selectors.training_base_get(scope, base_id)
    if base is None:
        raise Http404("培训基地不存在")
    return render(request, "institutions/base_detail.html", {
        "base": base, "schedule": selectors.base_schedule(base, today=timezone.localdate()),
        "may_edit": can(scope, Action.CHANGE, base),
        "stage_names": [STAGE_LABELS.get(s, s) for s in base.stages],
        "subject_names": [SUBJECT_LABELS.get(s, s) for s in base.subjects]})


def _values(request, scope) -> dict:
    post = request.POST
    kind = post.get("kind", "")
    institution = school = None
    if kind in INSTITUTION_BASES:
        institution = visible(scope, Institution).filter(pk=_int(post.get("institution"))).first()
    elif kind:
        school = visible(scope, School).filter(code=post.get("school_code", "").strip()[:20]).first()
    try:
        designated_on = dt.date.fromisoformat(post.get("designated_on", ""))
    except ValueError:
        designated_on = None
    return {"name": post.get("name", ""), "kind": kind, "institution": institution, "school": school,
            "stages": post.getlist("stages"), "subjects": post.getlist("subjects"),
            "seats_per_term": _int(post.get("seats_per_term")), "designated_on": designated_on,
            "active": post.get("active") == "on", "note": post.get("note", "")}


@roles_required(DIVISION_ADMIN_ROLES)
@require_http_methods(["GET", "POST"])
def base_form(request, scope, base_id: int | None = None):
    base = None
    if base_id is not None:
        base = visible(scope, TrainingBase, Action.CHANGE).select_related("school", "institution").filter(
            pk=base_id).first()
        if base is None:
            raise Http404("培训基地不存在或不由本单位认定")
    if request.method == "POST":
        values = _values(request, scope)
        try:
            if base is None:
                base = bases.base_create(scope=scope, actor=request.user, division=request.user.division,
                                         ip=client_ip(request), **values)
            else:
                base = bases.base_update(scope=scope, actor=request.user, base_id=base.pk, changes=values,
                                         ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
            return render(request, "institutions/base_form.html",
                          {"base": base, "values": values, "school_code": request.POST.get("school_code", ""),
                           "institutions": visible(scope, Institution).order_by("code")[:500], **_choices(scope)},
                          status=400)
        messages.success(request, "已保存")
        return redirect("institutions:base_detail", base_id=base.pk)
    values = ({name: getattr(base, name) for name in bases.FIELDS} if base is not None else
              {"kind": BaseKind.SCHOOL, "stages": [], "subjects": [], "active": True,
               "designated_on": timezone.localdate(), "seats_per_term": 20})
    return render(request, "institutions/base_form.html", {
        "base": base, "values": values, "school_code": base.school.code if base is not None and base.school else "",
        "institutions": visible(scope, Institution).order_by("code")[:500], **_choices(scope)})
