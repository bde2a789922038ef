"""Audit events: append-only (database triggers refuse UPDATE and DELETE) and
chained with a keyed hash (HMAC under a key kept outside the database), so a row
changed or removed behind the application's back is found by `yanxiu audit verify`.
Events form AUDIT_CHAINS independent chains (so concurrent writers need not queue on
one lock); each chain's head carries a MAC of its own and may only move forward."""

from django.db import models

from access.managers import ScopedManager
from audit.actions import ACTION_LABELS


class AuditEvent(models.Model):
    at = models.DateTimeField("时间 (UTC)", db_index=True)
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_username = models.CharField("操作人", max_length=150, blank=True)
    # Names from audit.actions.Action; not `choices`, so a new action needs no migration.
    action = models.CharField("操作", max_length=50, db_index=True)
    scope_path = models.CharField("数据范围", max_length=100, blank=True, db_index=True)
    object_type = models.CharField("对象类型", max_length=50, blank=True)
    object_id = models.CharField("对象", max_length=64, blank=True)
    result = models.CharField("结果", max_length=20, default="success")
    ip = models.GenericIPAddressField("IP", null=True, blank=True)
    detail = models.JSONField("详情", default=dict, blank=True)
    # Which chain the event extends; not hashed (moving an event to another chain breaks
    # the prev_hash links of both chains, which verify reports).
    chain = models.PositiveSmallIntegerField(default=0)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "审计事件"
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["chain", "id"], name="audit_chain_idx"),  # a chain walked on from a point
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)


class AuditChainHead(models.Model):
    """One row per chain, locked while appending to it, so each chain stays linear. It
    states how far its chain reached (last event id, number of events, last hash) under a
    keyed MAC that names the chain, so winding it back after deleting the newest rows, or
    passing one chain's head off as another's, needs the key."""

    chain = models.PositiveSmallIntegerField(default=0, unique=True)
    last_id = models.BigIntegerField(default=0)
    event_count = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    mac = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.chain}: #{self.last_id} ({self.event_count}) {self.last_hash}"
