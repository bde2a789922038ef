from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.decorators import admin_required, division_admin_required
from core.lists import division_choices, paginate
from org import selectors
from org.constants import DivisionLevel, InstitutionKind, Stage


@division_admin_required
@require_GET
def division_list(request, scope):
    level = request.GET.get("level", "") if request.GET.get("level", "") in DivisionLevel.values else ""
    parent = request.GET.get("parent", "").strip()[:6]
    page = paginate(request, selectors.division_list(scope=scope, parent_code=parent, level=level))
    parents = [(code, label) for code, label in division_choices(scope) if not label.startswith("　")]
    return render(request, "org/division_list.html", {
        "page": page, "scope": scope, "level": level, "levels": DivisionLevel.choices, "parent": parent,
        "parents": parents})


@division_admin_required
@require_GET
def institution_list(request, scope):
    kind = request.GET.get("kind", "") if request.GET.get("kind", "") in InstitutionKind.values else ""
    page = paginate(request, selectors.institution_list(scope=scope, kind=kind))
    return render(request, "org/institution_list.html", {"page": page, "kind": kind, "kinds": InstitutionKind.choices})


@division_admin_required
@require_GET
def community_list(request, scope):
    page = paginate(request, selectors.community_list(scope=scope))
    return render(request, "org/community_list.html", {"page": page})


@admin_required
@require_GET
def school_list(request, scope):
    q = request.GET.get("q", "").strip()[:50]
    division_code = request.GET.get("division", "").strip()[:6]
    stage = request.GET.get("stage", "") if request.GET.get("stage", "") in Stage.values else ""
    schools = selectors.school_list(scope=scope, division_code=division_code, q=q, stage=stage)
    page = paginate(request, schools)
    counts = selectors.school_teacher_counts(scope=scope, school_ids=[s.pk for s in page])
    rows = [(school, counts.get(school.pk, 0)) for school in page]
    return render(request, "org/school_list.html", {
        "page": page, "rows": rows, "q": q, "division": division_code, "stage": stage, "stages": Stage.choices,
        "divisions": division_choices(scope),
    })
