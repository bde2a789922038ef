"""Files people upload (evidence, outcomes, attachments): a file is accepted only when its
extension is one of the kinds allowed and its first bytes are what that kind starts with, within
the evidence size limit. One check, so no upload path trusts a name alone."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from django.conf import settings

PDF, JPEG, PNG, ZIP = (b"%PDF",), (b"\xff\xd8\xff",), (b"\x89PNG\r\n\x1a\n",), (b"PK\x03\x04",)
# Evidence (a claim's proof, a spend's receipt): a PDF or a photo of the paper.
EVIDENCE_KINDS = {".pdf": PDF, ".jpg": JPEG, ".jpeg": JPEG, ".png": PNG}


def upload_problem(upload, *, kinds: Mapping[str, tuple[bytes, ...]], label: str, accepted: str) -> str | None:
    """Why the upload is refused, in Chinese (None: accepted). `label` names the file in the message
    (证明材料, 成果文件 …), `accepted` lists the kinds as the user reads them."""
    suffix = Path(str(upload.name or "")).suffix.lower()
    if suffix not in kinds:
        return f"{label}只接受 {accepted}"
    if upload.size > settings.EVIDENCE_MAX_BYTES:
        return f"{label}不能超过 {settings.EVIDENCE_MAX_BYTES // (1024 * 1024)} MB"
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(kinds[suffix]):
        return f"{label}的内容与扩展名不符"
    return None


def evidence_problem(upload, *, label: str) -> str | None:
    """Why an evidence file is refused (None: accepted): missing, or not a PDF, JPG or PNG by its
    name and first bytes, or over the size limit. `label` names it on the message (证明材料, 支出凭证)."""
    if upload is None:
        return f"请上传{label}（PDF、JPG 或 PNG）"
    return upload_problem(upload, kinds=EVIDENCE_KINDS, label=label, accepted="PDF、JPG 或 PNG")
