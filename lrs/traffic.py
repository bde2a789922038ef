"""A client's traffic as its administrators see it: statements per day and refused requests,
counted as they happen so the client page never counts statements."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from lrs.models import LrsClient, LrsClientDay, LrsRejection

RESOURCE_MAX = 40


def client_day_count(client_id: int, *, statements: int = 0, rejected: int = 0,
                     day: dt.date | None = None) -> None:
    """Add to a client's counters of a day, today's unless `day` (an upsert; last in its
    transaction so the row lock is brief)."""
    day = day or timezone.localdate()
    # The client's own counters, written for the client that is sending.
    days = LrsClientDay.objects.dangerously_unscoped().filter(client_id=client_id, day=day)
    if days.update(statements=F("statements") + statements, rejected=F("rejected") + rejected):
        return
    try:
        with transaction.atomic():
            LrsClientDay.objects.create(client_id=client_id, day=day, statements=statements, rejected=rejected)
    except IntegrityError:  # created by a concurrent request meanwhile
        days.update(statements=F("statements") + statements, rejected=F("rejected") + rejected)


def rejection_record(client: LrsClient, *, method: str, resource: str, status: int, message: str) -> None:
    """Note a refused request of an authenticated client, and count it for the day."""
    with transaction.atomic():
        LrsRejection.objects.create(client=client, at=timezone.now(), method=method[:10],
                                    resource=resource[-RESOURCE_MAX:], status=status, message=message[:300])
        client_day_count(client.pk, rejected=1)
