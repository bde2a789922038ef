from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from access.policy import visible
from access.scope import Scope
from accounts.models import User
from audit.models import AuditEvent
from catalog.constants import EnrolmentState
from credits.constants import CATEGORY_LABELS, EntryState, SourceType
from org.constants import STAGE_LABELS
from people.constants import STATUS_LABELS, SUBJECT_LABELS, TITLE_LABELS


def audit_event_list(*, scope: Scope, object_type: str = "", object_id: str = "") -> QuerySet[AuditEvent]:
    """Events whose scope node lies in the viewer's jurisdiction."""
    events = visible(scope, AuditEvent)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    return events


# --- the log page in words ---------------------------------------------------------------------

RESULT_LABELS = {"success": "成功", "refused": "拒绝", "denied": "拒绝", "failure": "失败", "failed": "失败",
                 "error": "失败"}
OBJECT_TYPE_LABELS = {
    "project": "培训项目", "catalog.plan": "年度培训计划", "enrolment": "报名", "session": "培训场次",
    "teacher": "教师", "user": "账户", "api_token": "API 令牌", "trainer": "培训专家", "training_base": "培训基地",
    "accreditation": "培训机构准入", "institution_registry": "培训机构名录", "ledger_entry": "学时记录",
    "rule_set": "学时规则", "compliance": "学时达标统计", "guidance_team": "专家指导团队",
    "guidance_question": "指导问题", "guidance_hours_rule": "专家指导学时规则", "guidance_cluster": "共性问题",
    "guidance_dashboard": "专家指导统计", "course": "课程", "catalogue": "课程目录", "provider": "课程提供方",
    "lrs_client": "学习记录接入方", "credited_activity": "计学时活动", "statement_credit": "学习记录计学时",
    "export_request": "导出申请", "roster": "教师名册", "import_batch": "导入批次", "external_import": "外部学时导入",
    "organiser_alias": "主办单位对应", "division": "行政区划", "direct_counties": "省直管县", "overview": "项目统计",
}
# Keys that audited details use, in words; a model field's own verbose name serves the rest.
DETAIL_LABELS = {
    "name": "名称", "title": "名称", "code": "编号", "reason": "原因", "note": "说明", "before": "修改前",
    "after": "修改后", "teacher": "教师", "project": "项目", "rows": "行数", "n": "数量", "total": "合计",
    "matched": "匹配", "kind": "类型", "hours": "学时", "evidence": "证明材料", "channel": "渠道", "changed": "修改项",
    "from": "自", "to": "至", "start": "开始", "end": "结束", "starts_on": "开始日期", "ends_on": "结束日期",
    "stage": "学段", "subject": "学科", "role": "角色", "approved": "通过", "approve": "通过", "year": "年度",
    "username": "用户名", "conflicts": "疑似重复", "category": "类别", "change": "变更", "projects": "项目数",
    "trainers": "专家数", "schools": "学校数", "entries": "条数", "created": "新建", "removed": "删除",
    "moved": "移动", "days": "天数", "limit": "上限", "filters": "筛选条件", "failures": "失败次数",
    "expires_at": "失效时间", "effective_from": "生效日期", "decisions": "决定", "credited": "计学时",
    "is_active": "有效", "active": "有效", "held_on": "日期", "full_ids": "完整证件号", "correction": "更正",
    "source": "来源", "source_type": "来源类型", "source_id": "来源编号", "occurred_on": "发生日期",
    "school_checked": "学校已审核", "state": "状态", "nominated": "推荐报名", "held_seat": "占用名额", "promoted": "候补递补人数", "school": "学校", "hire_date": "入职日期", "status": "状态", "subjects": "任教学科",
    "honours": "荣誉称号", "id_number": "身份证号（脱敏）", "synthetic": "模拟数据", "scale": "规模", "seed": "随机种子", "keys": "标识数",
    "key": "标识", "prefix": "前缀", "unpaired": "未结对", "iri": "活动标识", "ip": "IP",
}


# Coded values that details of several kinds carry (a teacher's change: 学段 primary → junior).
CODED_VALUES: dict[str, dict[str, str]] = {
    "stage": STAGE_LABELS, "title": TITLE_LABELS, "status": STATUS_LABELS, "subjects": SUBJECT_LABELS,
    "subject": SUBJECT_LABELS,
}


# Coded values of other kinds of object's details (a project's come from its model's choices).
OBJECT_CODED: dict[str, dict[str, dict[str, str]]] = {
    "enrolment": {"state": dict(EnrolmentState.choices)},
    "ledger_entry": {"state": dict(EntryState.choices), "category": CATEGORY_LABELS,
                     "source_type": dict(SourceType.choices)},
}
# In a teacher's record, "title" is the professional title and "name" the person's name.
TEACHER_LABELS = {**DETAIL_LABELS, "title": "职称", "name": "姓名"}


@dataclass
class LogRow:
    event: AuditEvent
    actor: str
    action: str
    result: str
    object: str
    detail: list[tuple[str, str]]


def _value_text(value, words: dict | None = None, labels: dict | None = None) -> str:
    """A detail value in words; `words`: the labels of a coded field's values; `labels`: the
    names of the keys of a nested record."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or value in ("True", "False"):
        return "是" if value in (True, "True") else "否"
    if isinstance(value, list):
        if len(value) == 2 and not any(isinstance(v, (list, dict)) for v in value):
            return f"{_value_text(value[0], words)} → {_value_text(value[1], words)}"  # a change: [old, new]
        return "、".join(_value_text(v, words) for v in value) or "—"
    if isinstance(value, dict):
        if set(value) == {"before", "after"}:  # one field's change
            return f"{_value_text(value['before'], words)} → {_value_text(value['after'], words)}"
        return "；".join(f"{(labels or DETAIL_LABELS).get(k, k)}：{_value_text(v, CODED_VALUES.get(k))}"
                        for k, v in value.items()) or "—"
    return str((words or {}).get(value, value))


def _object_names(scope: Scope, events: list[AuditEvent]) -> dict[tuple[str, str], str]:
    """Readable names of the objects the events name: one query per kind of object on the page,
    each through the access policy (an object the viewer may not see keeps its number)."""
    from catalog.models import AnnualPlan, Project
    from institutions.models import TrainingBase
    from people.models import Teacher
    from trainers.models import Trainer

    kinds = {"project": (Project, "title"), "teacher": (Teacher, "name"), "trainer": (Trainer, "name"),
             "training_base": (TrainingBase, "name")}
    wanted: dict[str, set[int]] = {}
    for event in events:
        if (event.object_type in kinds or event.object_type in ("catalog.plan", "user")) and event.object_id.isdigit():
            wanted.setdefault(event.object_type, set()).add(int(event.object_id))
    names: dict[tuple[str, str], str] = {}
    for kind, ids in wanted.items():
        rows: Iterable[tuple[int, str]]
        if kind == "user":
            rows = User.objects.filter(pk__in=ids).values_list("pk", "username")
        elif kind == "catalog.plan":
            rows = [(plan.pk, str(plan)) for plan in visible(scope, AnnualPlan).filter(pk__in=ids)
                    .select_related("division", "school")]
        else:
            model, field = kinds[kind]
            rows = visible(scope, model).filter(pk__in=ids).values_list("pk", field)
        names.update({(kind, str(pk)): name for pk, name in rows})
    return names


def audit_log_rows(*, scope: Scope, events: list[AuditEvent]) -> list[LogRow]:
    """A page of events as people read them: the action, result and object in words, the actor
    by name and role, the detail as labelled values. A fixed number of queries per page."""
    from catalog.models import Project

    actors = {user.pk: user for user in User.objects.filter(pk__in={e.actor_id for e in events if e.actor_id})
              .only("pk", "username", "first_name", "last_name", "role")}
    names = _object_names(scope, events)
    fields = {f.name: str(f.verbose_name) for f in Project._meta.get_fields() if hasattr(f, "verbose_name")}
    # A project's coded fields (level, mode, category …) and their labels: a change reads 网络研修 → 混合式.
    coded = {f.name: {str(k): str(v) for k, v in f.flatchoices} for f in Project._meta.concrete_fields if f.choices}
    rows = []
    for event in events:
        user = actors.get(event.actor_id) if event.actor_id else None
        if user is not None:
            who = f"{user.last_name}{user.first_name}".strip() or user.username  # 姓 then 名
            actor = f"{who}（{user.get_role_display()}）" if who == user.username else \
                f"{who}（{user.username} · {user.get_role_display()}）"
        else:
            actor = event.actor_username or "系统"
        kind = OBJECT_TYPE_LABELS.get(event.object_type, event.object_type)
        name = names.get((event.object_type, event.object_id))
        obj = f"{kind}「{name}」" if name else (f"{kind} #{event.object_id}" if event.object_id else kind)
        detail = event.detail if isinstance(event.detail, dict) else {"detail": event.detail}
        rows.append(LogRow(event=event, actor=actor, action=event.action_label,
                           result=RESULT_LABELS.get(event.result, event.result), object=obj or "—",
                           detail=[(DETAIL_LABELS.get(key) or fields.get(key) or key,
                                    _value_text(value, coded.get(key) if event.object_type == "project"
                                                else OBJECT_CODED.get(event.object_type, {}).get(key),
                                                TEACHER_LABELS if event.object_type == "teacher" else None))
                                   for key, value in detail.items()]))
    return rows
