"""Roster import: validate every row, upsert good rows by ID-number blind index
in committed chunks, report every bad row with its row number, column and a
Chinese reason. Re-importing the same file changes nothing.

The whole file is read once before anything is written, so a file that is
unreadable anywhere (bad encoding, broken sheet, over the row cap) commits
nothing. Rows exported with masked ID numbers are matched by 编号 instead:
the masked value must be that teacher's, and the stored number is kept.
A resumed import re-validates the rows already done (without writing), so
duplicates in the file are judged exactly as in an uninterrupted run."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from access.policy import Action as Can
from access.policy import can, visible
from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record, audit_record_many
from core.requests import object_id
from org.models import School
from people.id_lookup import id_lookup_charge
from people.identity import (
    id_blind_index,
    id_blind_indexes,
    id_decrypt,
    id_encrypt,
    id_mask,
    id_parse,
)
from people.models import ImportBatch, ImportRejection, Teacher, TeacherHonour, TeacherSubject
from people.roster import columns as cols
from people.roster.files import FORMULA_PREFIXES, RosterFileError, header_row, iter_rows
from people.services import ID_TAKEN_MESSAGE, TeacherData, teacher_data_problems, teacher_snapshot

CHUNK_ROWS = 1000
FIELD_COLUMN = {"name": "姓名", "id_number": "身份证号", "hire_date": "入职日期", "honours": "荣誉", "subjects": "任教学科"}


@dataclass
class Rejection:
    row_number: int
    column: str
    reason: str
    values: list = field(default_factory=list)


@dataclass
class ImportReport:
    batch_id: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "batch": self.batch_id,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejections": [r.__dict__ for r in self.rejections],
        }


def _sha256(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def _unescape(value):
    """Undo the export's formula guard ("'=..." back to "=..."), so a round trip is exact."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def _masked_values(row: list) -> list:
    values = ["" if value is None else str(value) for value in row]
    if len(values) > 2 and values[2]:
        values[2] = id_mask(values[2].strip())
    return values


def _parse_row(row: list, schools: dict[str, School]) -> TeacherData:
    padded = list(row) + [""] * (len(cols.COLUMNS) - len(row))
    _, name, id_number, school_code, stage, subjects, title, hire_date, status, honours = padded[: len(cols.COLUMNS)]
    school_code = str(school_code).strip()
    school = schools.get(school_code)
    if school is None:
        raise cols.CellError("学校代码", f"学校代码不存在：{school_code}" if school_code else "学校代码不能为空")
    return TeacherData(
        name=str(name).strip(),
        id_number=str(id_number).strip().upper(),
        school=school,
        stage=cols.code_from_label("stage", "学段", str(stage)),
        subjects=cols.parse_subjects(str(subjects)),
        title=cols.code_from_label("title", "职称", str(title)),
        hire_date=cols.parse_date("入职日期", hire_date),
        status=cols.code_from_label("status", "状态", str(status)),
        honours=cols.parse_honours(str(honours)),
    )


def _differs(teacher: Teacher, data: TeacherData) -> bool:
    subjects = [row.subject for row in sorted(teacher.subjects.all(), key=lambda r: (not r.is_main, r.subject))]
    wanted = list(dict.fromkeys(data.subjects))
    honours = {(h.title, h.level, h.awarded_on, h.expires_on) for h in teacher.honours.all()}
    return (
        teacher.name != data.name
        or teacher.school_id != data.school.pk
        or teacher.stage != data.stage
        or teacher.title != data.title
        or teacher.hire_date != data.hire_date
        or teacher.status != data.status
        or subjects[:1] != wanted[:1]
        or sorted(subjects) != sorted(wanted)
        or honours != {(h.title, h.level, h.awarded_on, h.expires_on) for h in data.honours}
    )


class RosterImporter:
    def __init__(self, *, scope: Scope, actor, ip: str | None = None, today: dt.date | None = None):
        self.scope, self.actor, self.ip = scope, actor, ip
        self.today = today or timezone.localdate()
        self.seen: dict[str, int] = {}  # blind index -> first row number, for duplicates in the file

    def run(self, handle: BinaryIO, name: str) -> ImportReport:
        sha = _sha256(handle)
        # An interrupted import of the same file by the same account resumes where it stopped.
        batch = (self._own_batches().filter(file_sha256=sha, state__in=[ImportBatch.State.RUNNING, ImportBatch.State.FAILED])
                 .order_by("-id").first())
        if batch is not None and batch.state == ImportBatch.State.FAILED:
            batch.state, batch.error = ImportBatch.State.RUNNING, ""
            batch.save(update_fields=["state", "error"])
        if batch is None:
            batch = ImportBatch.objects.create(
                file_name=name[:255], file_sha256=sha, actor=self.actor if self.actor and self.actor.pk else None, scope_path=self.scope.path or ""
            )
        chunk: list[tuple[int, list]] = []
        replay: list[tuple[int, list]] = []
        try:
            self._check_file(handle, name)
            for row_number, row in self._data_rows(handle, name):
                if row_number - 1 <= batch.rows_done:
                    # Resumed: judge earlier rows again (no writes) so duplicates match a clean run.
                    replay.append((row_number, row))
                    if len(replay) >= CHUNK_ROWS:
                        self._validate(batch, replay)
                        replay = []
                    continue
                if replay:
                    self._validate(batch, replay)
                    replay = []
                chunk.append((row_number, row))
                if len(chunk) >= CHUNK_ROWS:
                    self._commit_chunk(batch, chunk)
                    chunk = []
            if chunk:
                self._commit_chunk(batch, chunk)
        except RosterFileError as error:
            self._fail(batch, str(error))
            raise
        except BaseException:
            # Whatever went wrong, the batch must not look "running" forever; a re-run resumes it.
            self._fail(batch, "导入中断，请重新上传同一文件继续导入")
            raise
        batch.refresh_from_db()
        with transaction.atomic():
            batch.state, batch.finished_at = ImportBatch.State.DONE, timezone.now()
            batch.save(update_fields=["state", "finished_at"])
            audit_record(
                action=Action.ROSTER_IMPORT, actor=self.actor, ip=self.ip, scope_path=self.scope.path or "",
                object_type="import_batch", object_id=batch.pk,
                detail={"file": batch.file_name, "sha256": sha, "created": batch.created, "updated": batch.updated,
                        "unchanged": batch.unchanged, "rejected": batch.rejected},
            )
        return ImportReport(
            batch_id=batch.pk, created=batch.created, updated=batch.updated, unchanged=batch.unchanged, rejected=batch.rejected,
            rejections=[Rejection(r.row_number, r.column, r.reason, r.values) for r in batch.rejections.all()],
        )

    def _charge_guess(self) -> None:
        """A row naming a teacher (编号) with a number that is not theirs answers "is this their
        number?" like a search by number: it counts against the same per-account limit, so a
        file of guesses stops (429) instead of rebuilding a full number."""
        id_lookup_charge(scope=self.scope, actor=self.actor, channel="roster_import", ip=self.ip)

    def _own_batches(self):
        if self.actor is not None and self.actor.pk:
            return visible(self.scope, ImportBatch)
        # An operator's import from the command line has no account: its batches have none either.
        return ImportBatch.objects.dangerously_unscoped().filter(actor__isnull=True)

    @staticmethod
    def _fail(batch: ImportBatch, error: str) -> None:
        batch.state, batch.error = ImportBatch.State.FAILED, error[:1000]
        batch.save(update_fields=["state", "error"])

    @staticmethod
    def _data_rows(handle: BinaryIO, name: str):
        rows = iter_rows(handle, name)
        first, at = header_row(rows, lambda row: [str(cell).strip() for cell in row[: len(cols.COLUMNS)]] == cols.COLUMNS)
        if first is None:
            raise RosterFileError("文件为空")
        header = [str(cell).strip() for cell in first]
        if header[: len(cols.COLUMNS)] != cols.COLUMNS:
            raise RosterFileError("表头与模板不一致，应为：" + "，".join(cols.COLUMNS))
        for row_number, row in enumerate(rows, start=at + 1):
            if any(str(cell).strip() for cell in row):
                yield row_number, [_unescape(cell) for cell in row]

    def _check_file(self, handle: BinaryIO, name: str) -> None:
        """Read the whole file once (header, encoding, row cap, sheet XML) before writing."""
        for _ in self._data_rows(handle, name):
            pass

    def _masked_teachers(self, chunk: list[tuple[int, list]]) -> dict[int, Teacher]:
        ids = {
            int(number)
            for _, row in chunk
            if len(row) > 2 and "*" in str(row[2]) and (number := str(row[0]).strip()).isascii() and number.isdigit()
            and len(number) < 12
        }
        if not ids:
            return {}
        return {t.pk: t for t in visible(self.scope, Teacher).filter(pk__in=ids).only("id", "id_cipher")}

    def _unmask(self, row: list, known: dict[int, Teacher]) -> list:
        """A row exported with a masked ID: take the number of the teacher its 编号 names."""
        number_cell, masked = str(row[0]).strip(), str(row[2]).strip().upper()
        if not number_cell:
            raise cols.CellError("编号", "身份证号为脱敏值时，须填写编号")
        teacher = known.get(object_id(number_cell))
        if teacher is None:
            raise cols.CellError("编号", f"编号 {number_cell} 不存在或不在本辖区")
        full = id_decrypt(teacher.id_cipher)
        if id_mask(full) != id_mask(masked):  # files exported under an earlier mask still match
            raise cols.CellError("身份证号", f"脱敏身份证号与编号 {number_cell} 的教师不一致")
        return [*row[:2], full, *row[3:]]

    def _validate(self, batch: ImportBatch, chunk: list[tuple[int, list]]):
        """Parse and check each row; good rows are remembered for duplicate detection."""
        codes = {str(row[3]).strip() for _, row in chunk if len(row) > 3}
        schools = {s.code: s for s in visible(self.scope, School).filter(code__in=codes)}
        known = self._masked_teachers(chunk)
        parsed: list[tuple[int, list, TeacherData, str]] = []
        rejections: list[ImportRejection] = []

        def reject(row_number: int, row: list, column: str, reason: str) -> None:
            rejections.append(ImportRejection(batch=batch, row_number=row_number, column=column, reason=reason[:200], values=_masked_values(row)))

        for row_number, row in chunk:
            try:
                if len(row) > 2 and "*" in str(row[2]):
                    row = self._unmask(row, known)
                data = _parse_row(row, schools)
            except cols.CellError as error:
                reject(row_number, row, error.column, error.reason)
                continue
            problems = teacher_data_problems(data, today=self.today)
            if problems:
                field_name, reason = next(iter(problems.items()))
                reject(row_number, row, FIELD_COLUMN.get(field_name, field_name), reason)
                continue
            if not can(self.scope, Can.CHANGE, data.school):
                reject(row_number, row, "学校代码", "本级对该学校只有查看权限，不能导入")
                continue
            index = id_blind_index(data.id_number)
            if index in self.seen:
                first = self.seen[index]
                reject(row_number, row, "身份证号", f"与第 {first} 行身份证号重复" if first else "与文件中前面的行身份证号重复")
                continue
            self.seen[index] = row_number
            parsed.append((row_number, row, data, index))
        return parsed, rejections, reject

    def _commit_chunk(self, batch: ImportBatch, chunk: list[tuple[int, list]]) -> None:
        parsed, rejections, reject = self._validate(batch, chunk)
        with transaction.atomic():
            # ID numbers are unique across the province: a number registered anywhere is found
            # (and refused below without saying where), so this lookup is unscoped on purpose.
            # While the blind-index key rotates a teacher may still be indexed under a retired key.
            current_of = {candidate: index for _, _, data, index in parsed for candidate in id_blind_indexes(data.id_number)}
            existing = {
                current_of[t.id_index]: t
                for t in Teacher.objects.dangerously_unscoped().select_related("school")
                .filter(id_index__in=list(current_of))
                .prefetch_related(Prefetch("subjects"), Prefetch("honours"))
            }
            to_create: list[tuple[Teacher, TeacherData]] = []
            to_update: list[tuple[Teacher, TeacherData]] = []
            audits: list[dict] = []
            unchanged = 0
            for row_number, row, data, index in parsed:
                teacher = existing.get(index)
                number_cell = str(row[0]).strip() if row else ""
                if teacher is None:
                    if number_cell:
                        self._charge_guess()
                        reject(row_number, row, "编号", f"编号 {number_cell} 与身份证号不对应")
                        continue
                    teacher = Teacher(id_index=index, id_cipher=id_encrypt(data.id_number))
                    self._fill(teacher, data)
                    to_create.append((teacher, data))
                    continue
                if not can(self.scope, Can.CHANGE, teacher):
                    reject(row_number, row, "身份证号", ID_TAKEN_MESSAGE)
                elif number_cell and number_cell != str(teacher.pk):
                    self._charge_guess()
                    reject(row_number, row, "编号", f"编号 {number_cell} 与身份证号不对应")
                elif _differs(teacher, data):
                    before = teacher_snapshot(teacher)
                    self._fill(teacher, data)
                    to_update.append((teacher, data))
                    audits.append(self._audit_entry(batch, teacher, before, data))
                else:
                    unchanged += 1
            Teacher.objects.bulk_create([teacher for teacher, _ in to_create], batch_size=1000)
            if to_update:
                Teacher.objects.bulk_update(
                    [teacher for teacher, _ in to_update],
                    ["name", "school", "division_path", "stage", "title", "hire_date", "status", "birth_date", "sex", "updated_at"],
                    batch_size=1000,
                )
                ids = [teacher.pk for teacher, _ in to_update]
                TeacherSubject.objects.visible_to(self.scope, Can.CHANGE).filter(teacher_id__in=ids).delete()
                TeacherHonour.objects.visible_to(self.scope, Can.CHANGE).filter(teacher_id__in=ids).delete()
            pairs = to_create + to_update
            TeacherSubject.objects.bulk_create(
                [TeacherSubject(teacher=t, subject=code, is_main=i == 0) for t, d in pairs for i, code in enumerate(dict.fromkeys(d.subjects))],
                batch_size=2000,
            )
            TeacherHonour.objects.bulk_create(
                [TeacherHonour(teacher=t, title=h.title, level=h.level, awarded_on=h.awarded_on, expires_on=h.expires_on) for t, d in pairs for h in dict.fromkeys(d.honours)],
                batch_size=2000,
            )
            ImportRejection.objects.bulk_create(rejections, batch_size=1000)
            audit_record_many(audits)
            batch.rows_done = chunk[-1][0] - 1
            batch.created += len(to_create)
            batch.updated += len(to_update)
            batch.unchanged += unchanged
            batch.rejected += len(rejections)
            batch.save(update_fields=["rows_done", "created", "updated", "unchanged", "rejected"])

    def _audit_entry(self, batch: ImportBatch, teacher: Teacher, before: dict, data: TeacherData) -> dict:
        """One row per changed teacher, like an edit on the page (the history shows it)."""
        after = {
            **before, "name": teacher.name, "school": data.school.code, "stage": teacher.stage, "title": teacher.title,
            "hire_date": teacher.hire_date.isoformat(), "status": teacher.status,
            "subjects": sorted(set(data.subjects)),
            "honours": sorted({f"{h.level}:{h.title}:{h.awarded_on}:{h.expires_on or ''}" for h in data.honours}),
        }
        changed = {key: {"before": before[key], "after": after[key]} for key in after if before[key] != after[key]}
        return {
            "action": Action.TEACHER_UPDATE, "actor": self.actor, "ip": self.ip, "scope_path": teacher.division_path,
            "object_type": "teacher", "object_id": teacher.pk, "detail": {"changed": changed, "import_batch": batch.pk},
        }

    def _fill(self, teacher: Teacher, data: TeacherData) -> None:
        parsed = id_parse(data.id_number, today=self.today)
        teacher.name = data.name
        teacher.birth_date, teacher.sex = parsed.birth_date, parsed.sex
        teacher.school = data.school
        teacher.division_path = data.school.division_path
        teacher.stage, teacher.title, teacher.hire_date, teacher.status = data.stage, data.title, data.hire_date, data.status
        teacher.updated_at = timezone.now()


def roster_import(*, scope: Scope, actor, handle: BinaryIO, name: str, ip: str | None = None) -> ImportReport:
    return RosterImporter(scope=scope, actor=actor, ip=ip).run(handle, name)
