"""Common problems (共性问题): a period's questions of one division, stage and subject grouped by
topic (guidance.clustering), stored so the administrator sees each group's size, keywords and
examples, and can turn one into an offline training project draft in the project library —
个性问题线上即时解决、共性问题线下整体解决."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, can, fetch, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.constants import Level, Mode, ProjectCategory
from catalog.models import Project
from catalog.services import project_create
from credits.constants import Category
from guidance.clustering import cluster_questions
from guidance.models import ProblemCluster, Question
from org.constants import STAGE_LABELS, Stage
from org.models import Division
from people.constants import SUBJECT_LABELS, Subject

MAX_QUESTIONS = 50_000  # a city's month is about 20,000
EXAMPLES = 3


def clusters_refresh(*, scope: Scope, division: Division, stage: str, subject: str, start: dt.date, end: dt.date,
                     min_cluster_size: int = 5) -> list[ProblemCluster]:
    """Group the period's questions asked by teachers of `division` (the viewer's jurisdiction) and
    replace that division's stored groups for the stage and subject."""
    probe = ProblemCluster(division=division, division_path=division.path, stage=stage, subject=subject,
                           period_start=start, period_end=end, size=0)
    if not can(scope, Action.CHANGE, probe):
        raise Forbidden("只能分析本辖区的问题")
    if stage not in Stage.values or subject not in Subject.values:
        raise ValidationError({"subject": "请选择学段和学科"})
    if end < start or (end - start).days > 366 or start < dt.date(2000, 1, 1) or end.year > 2100:
        raise ValidationError({"end": "时间段须在一年以内，且结束不早于开始"})
    tz = timezone.get_current_timezone()
    rows = list(visible(scope, Question)
                .filter(division_path__startswith=division.path, stage=stage, subject=subject,
                        created_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=tz),
                        created_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
                .order_by("id").values_list("id", "text")[:MAX_QUESTIONS])
    found = cluster_questions([text for _, text in rows], min_cluster_size=min_cluster_size) if rows else []
    made = [
        ProblemCluster(division=division, division_path=division.path, stage=stage, subject=subject,
                       period_start=start, period_end=end, size=cluster.size, keywords=list(cluster.keywords),
                       examples=[{"id": rows[i][0], "text": rows[i][1][:300]} for i in cluster.examples[:EXAMPLES]],
                       question_ids=[rows[i][0] for i in cluster.members])
        for cluster in found
    ]
    with transaction.atomic():
        visible(scope, ProblemCluster, Action.CHANGE).filter(division=division, stage=stage, subject=subject,
                                                              project__isnull=True).delete()
        ProblemCluster.objects.bulk_create(made)
    return made


def cluster_to_project(*, scope: Scope, actor, cluster_id: int, ip: str | None = None) -> Project:
    """An offline project draft for a common problem, for the division that found it."""
    with transaction.atomic():
        cluster = fetch(scope, ProblemCluster, cluster_id, Action.CHANGE, lock=True, select_related=("division",))
        if cluster.project_id is not None:
            raise ValidationError({"cluster": "该共性问题已转为培训项目草稿"})
        division = cluster.division
        topic = "、".join(cluster.keywords[:3]) or "共性问题"
        label = f"{STAGE_LABELS.get(cluster.stage, '')}{SUBJECT_LABELS.get(cluster.subject, '')}"
        examples = "\n".join(f"- {example['text']}" for example in cluster.examples)
        starts = timezone.localdate() + dt.timedelta(days=30)
        project = project_create(
            scope=scope, actor=actor, code=f"GX-{cluster.pk}", title=f"{label}共性问题专题研修：{topic}"[:100],
            level=Level.CITY if division.level == "city" else Level.COUNTY, category=ProjectCategory.TOPIC,
            mode=Mode.CENTRALISED, organiser=division, starts_on=starts, ends_on=starts + dt.timedelta(days=1),
            seats=max(20, min(cluster.size, 200)), hours=8, hour_category=Category.CENTRALISED,
            outline=(f"来自专家指导问答的共性问题（{cluster.period_start:%Y-%m-%d} 至 {cluster.period_end:%Y-%m-%d}，"
                     f"{cluster.size} 个问题，关键词：{topic}）。代表性问题：\n{examples}")[:4000],
            audience={"stages": [cluster.stage], "subjects": [cluster.subject]}, ip=ip)
        cluster.project = project
        cluster.save(update_fields=["project"])
        audit_record(action=Audit.GUIDANCE_CLUSTER_PROJECT, actor=actor, ip=ip, scope_path=division.path,
                     object_type="guidance_cluster", object_id=cluster.pk, detail={"project": project.pk})
    return project


def clusters(scope: Scope, *, stage: str = "", subject: str = ""):
    rows = visible(scope, ProblemCluster).select_related("division", "project")
    if stage:
        rows = rows.filter(stage=stage)
    if subject:
        rows = rows.filter(subject=subject)
    return rows.order_by("division_path", "stage", "subject", "-size", "id")
