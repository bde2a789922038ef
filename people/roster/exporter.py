"""Roster export in the import format. Masked unless the caller is the
operator's command line; every export is audited with its row count."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch

from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from core.excel import exporter_name, write_table
from people.identity import id_decrypt, id_mask
from people.roster.columns import COLUMNS, teacher_row
from people.roster.files import write_rows
from people.selectors import TeacherFilters, teacher_queryset

EXPORT_CHUNK = 2000


def _rows(scope: Scope, filters: TeacherFilters, *, full_ids: bool):
    teachers = (
        teacher_queryset(scope=scope, filters=filters)
        .select_related("school")
        .prefetch_related(
            Prefetch("subjects"), Prefetch("honours"),  # ordered by their Meta.ordering
        )
        .order_by("id")
    )
    for teacher in teachers.iterator(chunk_size=EXPORT_CHUNK):
        number = id_decrypt(teacher.id_cipher)
        yield teacher_row(teacher, id_number=number if full_ids else id_mask(number))


def roster_export(
    *, scope: Scope, actor, destination, kind: str, filters: TeacherFilters | None = None,
    full_ids: bool = False, ip: str | None = None, channel: str = "page",
) -> int:
    """Write the roster; the audit row is written in the same transaction, so an
    export that cannot be audited does not happen."""
    filters = filters or TeacherFilters()
    with transaction.atomic():
        if kind == "xlsx":
            count = write_table(destination, sheet="名册", title=f"{scope.label or '全省'}教师名册",
                                jurisdiction=scope.label, header=COLUMNS, exported_by=exporter_name(actor),
                                rows=_rows(scope, filters, full_ids=full_ids))
        else:
            count = write_rows(destination, kind, COLUMNS, _rows(scope, filters, full_ids=full_ids))
        audit_record(
            action=Action.ROSTER_EXPORT, actor=actor, ip=ip, scope_path=scope.path or "",
            object_type="roster", detail={"rows": count, "format": kind, "full_ids": full_ids,
                                          "filters": filters.as_record(), "channel": channel},
        )
    return count
