"""External hours import over the API: the same file, the same report as the page."""

from typing import BinaryIO, cast

from ninja import File, Router, Schema
from ninja.files import UploadedFile

from accounts.decorators import division_admin_scope
from core.requests import client_ip
from credits.external_import import external_hours_import
from people.roster.files import RosterFileError

router = Router(tags=["学时"])


class RejectionOut(Schema):
    row: int
    column: str
    reason: str


class ExternalImportOut(Schema):
    id: int
    rows: int
    created: int
    duplicates: int  # already recorded: skipped, not counted again
    rejected: int
    unmapped_organisers: list[str]
    rejections: list[RejectionOut]


class FileErrorOut(Schema):
    code: str
    detail: str


@router.post("/credits/external-imports", response={201: ExternalImportOut, 400: FileErrorOut},
             summary="导入外部平台学时文件（.xlsx/.csv；同一外部记录只计一次）")
def external_import(request, file: File[UploadedFile]):
    scope = division_admin_scope(request.auth, "只有县级及以上管理员可以导入外部学时")
    try:
        result = external_hours_import(scope=scope, actor=request.auth, handle=cast(BinaryIO, file.file),
                                       name=file.name or "upload", ip=client_ip(request))
    except RosterFileError as error:
        return 400, FileErrorOut(code="bad_file", detail=str(error))
    batch = result.batch
    return 201, ExternalImportOut(
        id=batch.pk, rows=batch.rows, created=batch.created, duplicates=batch.duplicates, rejected=batch.rejected,
        unmapped_organisers=batch.unmapped_organisers,
        rejections=[RejectionOut(row=r["row"], column=r["column"], reason=r["reason"]) for r in result.rejections[:1000]],
    )
