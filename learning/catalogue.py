"""Importing a provider's course catalogue: rows from an .xlsx/.csv file (read by the
roster's safe reader, people.roster.files) or a JSON list from the API, one validation for
both, all or nothing.

Every row is checked first: its provider is known, its code and title are there, every tag
is a code or the Chinese name of the project's vocabularies (stages, subjects, topics and
capabilities, required content), hours are above 0 and at most 100 (the LRS credits no more
per activity), a code appears once per provider in the file, and a row does not rewrite a
course another division owns or the hours, category or IRI of a published one. If any row
is refused nothing is written and the report says why, row by row; otherwise every row is
created, updated or left unchanged in one transaction, keyed by (provider, code), so
importing the same file again changes nothing. The import is audited (counts, the file's
digest).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from django.db import transaction
from django.utils import timezone

from access.policy import Action, can, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.constants import Level, Topic
from credits.constants import Category
from learning.constants import CourseFormat, CourseState, RequiredContent
from learning.models import MAX_STUDY_SECONDS, Course, Provider
from learning.search import index_courses
from lrs.credited import ABSOLUTE_IRI, MAX_HOURS
from org.constants import Stage
from org.models import Division
from people.constants import Subject
from people.roster.files import RosterFileError, iter_rows

# File column -> row key (the API's JSON uses the keys).
COLUMNS = {
    "提供方": "provider", "课程编号": "code", "课程名称": "title", "学段": "stages", "学科": "subjects",
    "专题/能力": "topics", "必修内容": "required_content", "学时": "hours", "学时类别": "category", "形式": "format",
    "层级": "level", "精品资源共享课": "featured", "活动IRI": "activity_iri", "简介": "description",
    # What the platform's own player plays (optional): a video's address, the study time, a reading's text.
    "媒体地址": "media_url", "学习时长（分钟）": "duration_minutes", "阅读内容": "content",
}
REQUIRED_COLUMNS = ("提供方", "课程编号", "课程名称", "学时")
LIST_SEPARATORS = re.compile(r"[、,，;；/|\s]+")
QUOTES = str.maketrans("", "", "“”\"'‘’")
YES = {"是", "精品", "true", "1", "yes", "y"}
NO = {"", "否", "false", "0", "no", "n"}
# Fields compared to tell "updated" from "unchanged", and those a published course keeps.
FIELDS = ("title", "description", "stages", "subjects", "topics", "required_content", "hours", "category",
          "format", "level", "is_featured", "activity_iri", "media_url", "duration_seconds", "content")
CREDITED_FIELDS = {"hours": "学时", "category": "学时类别", "activity_iri": "活动 IRI"}


class Status:
    CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"


STATUS_LABELS = {"created": "新增", "updated": "更新", "unchanged": "未变", "refused": "拒绝"}


@dataclass
class RowResult:
    row: int  # the file's row number (header = 1), or the list index + 1 from the API
    code: str
    title: str
    status: str
    reason: str = ""
    course_id: int | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class ImportReport:
    rows: list[RowResult] = field(default_factory=list)
    applied: bool = False

    @property
    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(STATUS_LABELS, 0)
        for row in self.rows:
            found[row.status] += 1
        return found

    @property
    def refused(self) -> list[RowResult]:
        return [row for row in self.rows if row.status == Status.REFUSED]


class RowRefused(ValueError):
    pass


def _vocabulary(choices, *aliases: tuple[str, str]) -> dict[str, str]:
    """Code or Chinese name (either) -> code."""
    found = {}
    for value, label in choices:
        found[value.lower()] = value
        found[str(label).translate(QUOTES)] = value
    for alias, value in aliases:
        found[alias] = value
    return found


STAGES = _vocabulary(Stage.choices, ("幼儿园", Stage.KINDERGARTEN), ("高中", Stage.SENIOR))
SUBJECTS = _vocabulary(Subject.choices, ("生物", Subject.BIOLOGY), ("信息技术", Subject.IT))
# The five capabilities are named with or without 能力 (the policy writes 学科育德、课堂教学 …).
TOPICS = _vocabulary(Topic.choices, *((str(label).removesuffix("能力"), value) for value, label in Topic.choices))
REQUIRED = _vocabulary(RequiredContent.choices, ("四史", RequiredContent.FOUR_HISTORIES),
                       ("四史教育", RequiredContent.FOUR_HISTORIES),
                       ("习近平新时代中国特色社会主义思想教育", RequiredContent.XI_THOUGHT))
CATEGORIES = _vocabulary(Category.choices)
FORMATS = _vocabulary(CourseFormat.choices, ("视频", CourseFormat.VIDEO), ("直播", CourseFormat.LIVE),
                      ("阅读", CourseFormat.READING))
LEVELS = _vocabulary(Level.choices)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _codes(value: Any, vocabulary: dict[str, str], what: str) -> list[str]:
    items = value if isinstance(value, list) else LIST_SEPARATORS.split(_text(value))
    codes: list[str] = []
    for item in items:
        text = _text(item).translate(QUOTES)
        if not text:
            continue
        code = vocabulary.get(text) or vocabulary.get(text.lower())
        if code is None:
            raise RowRefused(f"未知的{what}：{text[:40]}")
        if code not in codes:
            codes.append(code)
    return codes


def _one(value: Any, vocabulary: dict[str, str], what: str, default: str) -> str:
    text = _text(value).translate(QUOTES)
    if not text:
        return default
    code = vocabulary.get(text) or vocabulary.get(text.lower())
    if code is None:
        raise RowRefused(f"未知的{what}：{text[:40]}")
    return code


def _hours(value: Any) -> Decimal:
    text = _text(value)
    try:
        hours = Decimal(text).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise RowRefused(f"学时应为数字：{text[:20] or '（空）'}") from None
    if not hours.is_finite() or hours <= 0:
        raise RowRefused(f"学时应大于 0：{text[:20]}")
    if hours > MAX_HOURS:
        raise RowRefused(f"学时 {text[:20]} 不合常理（一门课程不超过 {MAX_HOURS} 学时）")
    return hours


def _study_seconds(value: Any) -> int:
    text = _text(value)
    if not text:
        return 0
    try:
        minutes = Decimal(text)
    except (InvalidOperation, ValueError):
        raise RowRefused(f"学习时长应为分钟数：{text[:20]}") from None
    if not minutes.is_finite() or minutes < 0 or minutes * 60 > MAX_STUDY_SECONDS:
        raise RowRefused(f"学习时长 {text[:20]} 分钟不合常理（0 到 {MAX_STUDY_SECONDS // 60} 分钟）")
    return int(minutes * 60)


def _media_url(value: Any) -> str:
    url = _text(value)
    # A path on this platform: the pages' content policy plays media from the platform's own host only.
    if url and (len(url) > 500 or not url.startswith("/") or url.startswith("//") or any(c.isspace() for c in url)):
        raise RowRefused("媒体地址应为本平台上的路径（以 / 开头，如 /static/learning/…）")
    return url


def _featured(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise RowRefused(f"“精品资源共享课”应填 是 或 否：{text[:20]}")


def _clean(raw: dict, providers: dict[str, Provider], default_level: str) -> tuple[Provider, str, dict]:
    provider_text = _text(raw.get("provider"))
    provider = providers.get(provider_text) or providers.get(provider_text.lower())
    if provider is None:
        raise RowRefused(f"未知的提供方：{provider_text[:40] or '（空）'}（请先登记提供方）")
    code = _text(raw.get("code"))
    if not code or len(code) > 64 or any(character.isspace() for character in code):
        raise RowRefused("课程编号不能为空、不能含空白且不超过64字")
    title = _text(raw.get("title"))
    if not title or len(title) > 200:
        raise RowRefused("课程名称不能为空且不超过200字")
    description = _text(raw.get("description"))
    if len(description) > 5000:
        raise RowRefused("简介不超过5000字")
    activity_iri = _text(raw.get("activity_iri"))
    if not activity_iri:
        if not provider.iri_base:
            raise RowRefused("缺少活动 IRI（该提供方未登记 IRI 前缀）")
        activity_iri = provider.iri_base + code
    if not ABSOLUTE_IRI.match(activity_iri) or len(activity_iri) > 1000:
        raise RowRefused("活动 IRI 应为完整的 IRI（如 https://…）")
    values = {
        "title": title, "description": description,
        "stages": _codes(raw.get("stages"), STAGES, "学段"),
        "subjects": _codes(raw.get("subjects"), SUBJECTS, "学科"),
        "topics": _codes(raw.get("topics"), TOPICS, "专题/能力"),
        "required_content": _codes(raw.get("required_content"), REQUIRED, "必修内容"),
        "hours": _hours(raw.get("hours")),
        "category": _one(raw.get("category"), CATEGORIES, "学时类别", Category.ONLINE),
        "format": _one(raw.get("format"), FORMATS, "形式", CourseFormat.VIDEO),
        "level": _one(raw.get("level"), LEVELS, "层级", default_level),
        "is_featured": _featured(raw.get("featured")),
        "activity_iri": activity_iri,
        "media_url": _media_url(raw.get("media_url")),
        "duration_seconds": _study_seconds(raw.get("duration_minutes")),
        "content": _text(raw.get("content"))[:100_000],
    }
    return provider, code, values


def _provider_lookup(scope: Scope) -> dict[str, Provider]:
    found: dict[str, Provider] = {}
    for provider in visible(scope, Provider):
        found[provider.code] = found[provider.name] = provider
    return found


@transaction.atomic
def catalogue_import(*, scope: Scope, actor, division: Division, rows: Iterable[tuple[int, dict]], source: str,
                     digest: str = "", ip: str | None = None) -> ImportReport:
    """Check every row, then write all of them or none. `rows` are (row number, values by key)."""
    providers = _provider_lookup(scope)
    owner = Course(division=division, division_path=division.path)
    may_create = can(scope, Action.CHANGE, owner)
    default_level = division.level if division.level in Level.values else Level.PROVINCE
    report = ImportReport()
    cleaned: list[tuple[RowResult, Provider, str, dict]] = []
    first_row: dict[tuple[int, str], int] = {}
    for number, raw in rows:
        result = RowResult(row=number, code=_text(raw.get("code"))[:64], title=_text(raw.get("title"))[:200],
                           status=Status.REFUSED)
        report.rows.append(result)
        try:
            provider, code, values = _clean(raw, providers, default_level)
            key = (provider.pk, code)
            if key in first_row:
                raise RowRefused(f"课程编号与第 {first_row[key]} 行重复（同一提供方）")
            first_row[key] = number
        except RowRefused as problem:
            result.reason = str(problem)
            continue
        cleaned.append((result, provider, code, values))
    existing = _existing([(provider, code) for _, provider, code, _ in cleaned])
    for result, provider, code, values in cleaned:
        course = existing.get((provider.pk, code))
        result.status, result.reason = _judge(scope, course, values, may_create=may_create)
        result.course_id = course.pk if course is not None and result.status != Status.REFUSED else None
    if not report.rows:
        return report
    if not report.refused:
        _write(scope, actor, division, cleaned, existing)
        report.applied = True
    counts = report.counts
    audit_record(action=Audit.LEARNING_CATALOGUE_IMPORT, actor=actor, ip=ip, scope_path=division.path,
                 object_type="catalogue", object_id=digest[:16] or source[:40], result="success" if report.applied else "refused",
                 detail={"source": source[:100], "sha256": digest, **{k: v for k, v in counts.items() if v}})
    return report


def _existing(keys: list[tuple[Provider, str]]) -> dict[tuple[int, str], Course]:
    """The courses these rows name, whoever owns them: (provider, code) is unique
    province-wide, so a key another division holds is refused, never created twice.
    `_judge` asks the policy about each one found."""
    found: dict[tuple[int, str], Course] = {}
    codes_by_provider: dict[int, list[str]] = {}
    for provider, code in keys:
        codes_by_provider.setdefault(provider.pk, []).append(code)
    everyone = Course.objects.dangerously_unscoped().select_related("division", "credited_activity")
    for provider_id, codes in codes_by_provider.items():
        for start in range(0, len(codes), 500):
            for course in everyone.filter(provider_id=provider_id, code__in=codes[start:start + 500]):
                found[(provider_id, course.code)] = course
    return found


def _judge(scope: Scope, course: Course | None, values: dict, *, may_create: bool) -> tuple[str, str]:
    if course is None:
        return (Status.CREATED, "") if may_create else (Status.REFUSED, "无权向该区划导入课程")
    if not can(scope, Action.VIEW, course):
        return Status.REFUSED, "该提供方的这一课程编号已由其他区划导入"
    if not can(scope, Action.CHANGE, course):
        return Status.REFUSED, f"该课程由{course.division.name}管理，不能通过本次导入修改"
    if course.merged_into_id is not None:
        return Status.REFUSED, "该课程已合并到另一门课程"
    changed = [name for name in FIELDS if getattr(course, name) != values[name]]
    if not changed:
        return Status.UNCHANGED, ""
    locked = [CREDITED_FIELDS[name] for name in changed if name in CREDITED_FIELDS]
    if course.state == CourseState.PUBLISHED and locked:
        return Status.REFUSED, f"已发布课程的{'、'.join(locked)}不能通过导入修改（先下架再导入）"
    return Status.UPDATED, ""


def _write(scope: Scope, actor, division: Division, cleaned, existing) -> None:
    new, changed, now = [], [], timezone.now()
    for result, provider, code, values in cleaned:
        if result.status == Status.CREATED:
            new.append(Course(provider=provider, code=code, **values, division=division,
                              division_path=division.path, created_by=actor if actor is not None and actor.pk else None))
        elif result.status == Status.UPDATED:
            course = existing[(provider.pk, code)]
            for name, value in values.items():
                setattr(course, name, value)
            course.provider, course.updated_at = provider, now
            changed.append(course)
    created = Course.objects.bulk_create(new, batch_size=500)
    if changed:
        Course.objects.bulk_update(changed, [*FIELDS, "updated_at"], batch_size=500)
    # The search index follows in the same transaction, a batch per statement.
    index_courses([*created, *changed])
    made = iter(created)
    for result, *_ in cleaned:
        if result.status == Status.CREATED:
            result.course_id = next(made).pk


def file_rows(handle: BinaryIO, name: str) -> tuple[list[tuple[int, dict]], str]:
    """The rows of a catalogue file as (row number, values by key), and its SHA-256. Raises
    RosterFileError (Chinese) when the file as a whole cannot be read or lacks a column."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 16), b""):
        digest.update(chunk)
    handle.seek(0)
    reader = iter_rows(handle, name)
    header = [_text(cell).replace(" ", "") for cell in next(reader, [])]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise RosterFileError(f"缺少列：{'、'.join(missing)}（应有：{'、'.join(COLUMNS)}）")
    index = {COLUMNS[column]: position for position, column in enumerate(header) if column in COLUMNS}
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(_text(cell) for cell in cells):
            continue
        rows.append((number, {key: cells[position] if position < len(cells) else "" for key, position in index.items()}))
    return rows, digest.hexdigest()
