from django.db.models import QuerySet

from audit.models import AuditEvent
from org.scope import Scope


def audit_event_list(*, scope: Scope, object_type: str = "", object_id: str = "") -> QuerySet[AuditEvent]:
    """Events whose scope node lies in the viewer's jurisdiction."""
    events = scope.apply(AuditEvent.objects.all(), path_field="scope_path")
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    return events
