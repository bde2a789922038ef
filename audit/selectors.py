from django.db.models import QuerySet

from access.policy import visible
from access.scope import Scope
from audit.models import AuditEvent


def audit_event_list(*, scope: Scope, object_type: str = "", object_id: str = "") -> QuerySet[AuditEvent]:
    """Events whose scope node lies in the viewer's jurisdiction."""
    events = visible(scope, AuditEvent)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    return events
