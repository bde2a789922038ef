from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.decorators import division_admin_required
from audit.actions import Action
from audit.selectors import audit_event_list, audit_log_rows


@division_admin_required
@require_GET
def event_list(request, scope):
    action = request.GET.get("action", "")
    events = audit_event_list(scope=scope)
    if action in Action.values:
        events = events.filter(action=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    rows = audit_log_rows(scope=scope, events=list(page))
    return render(request, "audit/event_list.html", {"page": page, "rows": rows, "actions": Action.choices,
                                                     "action": action})
