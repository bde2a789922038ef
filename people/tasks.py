"""Background roster imports: large uploads are stored outside the web root and
imported by a worker (in-process and eager on the embedded default)."""

from pathlib import Path

from celery import shared_task

from access.scope import scope_for_user
from accounts.models import User
from people.roster.files import RosterFileError
from people.roster.importer import roster_import


@shared_task(acks_late=True)
def roster_import_task(*, upload_path: str, file_name: str, actor_id: int, ip: str | None = None) -> dict:
    """Idempotent: a re-delivered task re-imports the same file, which upserts to the same state."""
    path = Path(upload_path)
    actor = User.objects.get(pk=actor_id)
    try:
        with path.open("rb") as handle:
            report = roster_import(scope=scope_for_user(actor), actor=actor, handle=handle, name=file_name, ip=ip)
    except RosterFileError as error:
        return {"error": str(error)}
    finally:
        path.unlink(missing_ok=True)
    return {key: value for key, value in report.as_dict().items() if key != "rejections"}
