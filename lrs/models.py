"""The learning-record store (xAPI 1.0.3 at /xapi/).

- `LrsClient`: a course provider's credentials (HTTP Basic), owned by a division, scoped to
  activity IRI prefixes, read-only or read-write, rate-limited, revocable; the secret is
  stored only as a keyed digest.
- `Statement`: one stored statement, the full JSON as received and completed by the LRS
  (id, stored, authority, version, timestamp), with the columns queries order and page by.
  `seq` orders statements as they were stored: "stored" order, and the `more` cursor.
- `StatementIndex`: one row per value a filter can match (verb, activity, agent, registration,
  their "related" forms), including values inherited from a statement it targets through a
  StatementRef — so every filter is one indexed lookup, whatever the statement's shape. The
  value is kept as a 64-bit digest (lrs.keys.value_hash): IRIs may be long, the index stays
  small and fixed-width.
- `StatementAttachment`: attachment content by SHA-2, shared by the statements that carry it.
- `LrsDocument`: the State, Activity Profile and Agent Profile resources' documents.
- `LrsActivity`: the LRS's canonical definition of each activity (the Activities resource).
"""

import orjson
from django.db import models
from django.db.models.fields.json import KeyTransform

from access.managers import ScopedManager
from credits.constants import Category
from org.models import path_index


class StatementJSONField(models.JSONField):
    """JSON read back with orjson: a page of 100 statements decodes several times faster (the
    bodies were parsed and written by orjson too, lrs.views)."""

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str) and not isinstance(expression, KeyTransform):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)


class LrsClient(models.Model):
    name = models.CharField("名称", max_length=100)
    key = models.CharField("账号", max_length=40, unique=True)
    secret_digest = models.CharField(max_length=64, editable=False)
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+", verbose_name="所属区划")
    division_path = models.CharField(max_length=100, editable=False)
    # IRI prefixes of the activities the client writes (and reads documents) about; ["*"]: any.
    activity_prefixes = models.JSONField("活动 IRI 前缀", default=list)
    may_write = models.BooleanField("可写入", default=True)
    # Reads every statement (a reporting tool); otherwise only the statements it wrote.
    reads_all = models.BooleanField("可读取全部记录", default=False)
    rate_per_minute = models.PositiveIntegerField("每分钟请求上限", default=600)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["name"]
        verbose_name = "学习记录接入方"
        indexes = [path_index("lrs_client_path", "division_path")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Statement(models.Model):
    # On PostgreSQL the table is partitioned by month of `stored` (lrs.partitions): its primary
    # key there is (seq, stored), statement ids are unique through StatementKey, and rows that
    # refer to a statement carry no foreign-key constraint (none can point into a partitioned
    # table by seq alone). Statements are never deleted.
    seq = models.BigAutoField(primary_key=True)
    statement_id = models.UUIDField()
    stored = models.DateTimeField()
    timestamp = models.DateTimeField()
    client = models.ForeignKey(LrsClient, on_delete=models.PROTECT, related_name="statements", db_index=False)
    verb_id = models.TextField()
    # A voiding statement targets this one: it leaves ordinary queries (voidedStatementId finds it).
    voided = models.BooleanField(default=False)
    # The statement voids another (verb http://adlnet.gov/expapi/verbs/voided).
    is_voiding = models.BooleanField(default=False)
    # value_hash of the actor's key (lrs.keys.learner_key): whose statement it is, for matching
    # teachers to statements that arrived before their identity was registered.
    actor_hash = models.BigIntegerField(null=True)
    # The teacher the actor was matched to, when it was (the learning-records page, crediting).
    teacher = models.ForeignKey("people.Teacher", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="learning_statements", db_index=False)
    # The statement as stored (exact format): what was received plus id, stored, authority, version.
    full = StatementJSONField()
    has_attachments = models.BooleanField(default=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = "学习记录语句"
        indexes = [
            models.Index(fields=["statement_id"], name="lrs_statement_id"),
            models.Index(fields=["client", "seq"], name="lrs_statement_client_seq"),
            # A teacher's own records, newest first (the 学习记录 page).
            models.Index(fields=["teacher", "timestamp", "seq"], name="lrs_statement_teacher_time",
                         condition=models.Q(teacher__isnull=False)),
            models.Index(fields=["actor_hash", "timestamp"], name="lrs_statement_actor"),
        ]

    def __str__(self) -> str:
        return str(self.statement_id)


class IndexKind(models.IntegerChoices):
    VERB = 1
    ACTIVITY = 2  # the object activity
    RELATED_ACTIVITY = 3  # object, context activities, and those of a SubStatement
    AGENT = 4  # actor or object, members of those groups
    RELATED_AGENT = 5  # also authority, instructor, team, and those of a SubStatement
    REGISTRATION = 6


class StatementKey(models.Model):
    """One row per statement id: the LRS holds each id once, whichever partition the statement
    is in (a partitioned table's unique constraints must include its partition key)."""

    statement_id = models.UUIDField(primary_key=True)
    seq = models.BigIntegerField()

    def __str__(self) -> str:
        return str(self.statement_id)


class StatementPending(models.Model):
    """A stored batch whose after-work is still to do: its index rows, a voiding statement that
    arrived before it, activity definitions, completions to credit, the client's day count.
    Written in the storing transaction, taken (and deleted) by `lrs.indexing`, by the worker
    just after the answer or by the first reader that needs it, whichever comes first."""

    stored = models.DateTimeField()  # the batch's one `stored`: its partition
    seqs = models.JSONField()  # the batch's Statement.seq values
    client = models.ForeignKey(LrsClient, on_delete=models.PROTECT, related_name="+", db_index=False)

    def __str__(self) -> str:
        return f"{self.stored:%Y-%m-%d %H:%M:%S} ({len(self.seqs)})"


class StatementIndex(models.Model):
    statement_id = models.BigIntegerField()  # Statement.seq
    # The statement's `stored`: joins to the statement name its partition, and since/until
    # filters need no join at all.
    stored = models.DateTimeField()
    statement = models.ForeignObject(Statement, on_delete=models.DO_NOTHING, from_fields=["statement_id", "stored"],
                                     to_fields=["seq", "stored"], related_name="+")
    kind = models.PositiveSmallIntegerField(choices=IndexKind.choices)
    value_hash = models.BigIntegerField()

    objects = ScopedManager()

    class Meta:
        # (kind, value, statement): a filter walks its statements newest first and stops at the limit.
        indexes = [models.Index(fields=["kind", "value_hash", "statement_id"], name="lrs_index_lookup")]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.kind} {self.value_hash}"


class StatementAttachment(models.Model):
    sha2 = models.CharField(max_length=128, unique=True)
    content_type = models.CharField(max_length=255)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "语句附件"

    def __str__(self) -> str:
        return self.sha2


class DocumentKind(models.TextChoices):
    STATE = "state", "State"
    ACTIVITY_PROFILE = "activity_profile", "Activity Profile"
    AGENT_PROFILE = "agent_profile", "Agent Profile"


class LrsDocument(models.Model):
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    activity_id = models.TextField(blank=True)  # "" for agent profiles
    agent_key = models.TextField(blank=True)  # "" for activity profiles
    registration = models.CharField(max_length=36, blank=True)  # state only; "" when none
    document_id = models.TextField()
    # A digest of (kind, activity, agent, registration, document id): the one key of a document,
    # and of (kind, activity, agent) for listing a scope's documents (all registrations).
    key_hash = models.CharField(max_length=64, unique=True)
    scope_hash = models.CharField(max_length=64)
    content = models.BinaryField()
    content_type = models.CharField(max_length=255)
    etag = models.CharField(max_length=64)
    updated = models.DateTimeField()
    client = models.ForeignKey(LrsClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()

    class Meta:
        verbose_name = "学习记录文档"
        indexes = [models.Index(fields=["scope_hash", "updated"], name="lrs_document_list")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.document_id}"


class LrsActivity(models.Model):
    """The canonical definition of an activity, as the LRS keeps it (latest definition wins,
    merged), shown by the Activities resource and in canonical-format statements."""

    activity_id = models.TextField()
    activity_hash = models.BigIntegerField(unique=True)  # lrs.keys.value_hash(activity_id)
    definition = models.JSONField(default=dict)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "学习活动"

    def __str__(self) -> str:
        return self.activity_id


class CreditedActivity(models.Model):
    """An activity that earns continuing-education hours when a teacher completes or passes it:
    one IRI, or every IRI under a prefix. Owned by a division (the course library fills these
    in later); the hours go to the ledger once per teacher and activity."""

    activity_iri = models.TextField("活动 IRI")
    is_prefix = models.BooleanField("按前缀匹配", default=False)
    activity_hash = models.BigIntegerField(db_index=True)  # lrs.keys.value_hash(activity_iri)
    title = models.CharField("名称", max_length=200)
    hours = models.DecimalField("学时", max_digits=5, decimal_places=1)
    category = models.CharField("学时类别", max_length=20, choices=Category.choices, default=Category.ONLINE)
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+", verbose_name="所属区划")
    division_path = models.CharField(max_length=100, editable=False)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager()

    class Meta:
        ordering = ["activity_iri"]
        verbose_name = "计学时活动"
        indexes = [path_index("lrs_credited_path", "division_path")]
        constraints = [
            models.CheckConstraint(condition=models.Q(hours__gt=0, hours__lte=100), name="lrs_credited_hours_sane"),
        ]

    def __str__(self) -> str:
        return self.title


class LearnerIdentity(models.Model):
    """An xAPI identity of a teacher: an account on a platform (homePage + name), or an mbox /
    mbox_sha1sum the teacher registered. Statements whose actor has it are the teacher's."""

    teacher = models.ForeignKey("people.Teacher", on_delete=models.CASCADE, related_name="learner_identities")
    agent_key = models.TextField()
    key_hash = models.BigIntegerField(unique=True)  # lrs.keys.value_hash(agent_key): one teacher per identity
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "学习者身份"

    def __str__(self) -> str:
        return self.agent_key


class CreditState(models.TextChoices):
    QUEUED = "queued", "待处理"
    CREDITED = "credited", "已计学时"
    FLAGGED = "flagged", "待核查"
    UNMATCHED = "unmatched", "未匹配教师"
    REFUSED = "refused", "不予认定"


class StatementCredit(models.Model):
    """What became of a completion of a credited activity: hours written, held for an
    administrator (with the reason), or kept until its actor is matched to a teacher."""

    statement = models.OneToOneField(Statement, on_delete=models.PROTECT, related_name="credit", db_constraint=False)
    client = models.ForeignKey(LrsClient, on_delete=models.PROTECT, related_name="+")
    credited_activity = models.ForeignKey(CreditedActivity, on_delete=models.PROTECT, related_name="credits")
    activity_hash = models.BigIntegerField()  # value_hash of the completed activity's IRI
    agent_key = models.TextField()
    agent_hash = models.BigIntegerField(db_index=True)
    teacher = models.ForeignKey("people.Teacher", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    division_path = models.CharField(max_length=100, blank=True)  # the teacher's, once matched
    state = models.CharField(max_length=10, choices=CreditState.choices)
    reason = models.CharField("原因", max_length=200, blank=True)
    ledger_entry = models.ForeignKey("credits.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "学习记录计学时"
        indexes = [models.Index(fields=["client", "state", "created_at"], name="lrs_credit_client_state"),
                   models.Index(fields=["teacher", "credited_activity", "activity_hash"], name="lrs_credit_teacher"),
                   path_index("lrs_credit_path", "division_path", "state")]
        constraints = [
            # Hours once per teacher and activity, whichever path (automatic or an administrator's
            # decision) wrote them.
            models.UniqueConstraint(fields=["teacher", "credited_activity", "activity_hash"],
                                    condition=models.Q(state="credited"), name="lrs_credit_once"),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.state}"


class LrsClientDay(models.Model):
    """A client's traffic per day, counted as it happens (the client page reads these, never
    the statements): statements stored and requests refused."""

    client = models.ForeignKey(LrsClient, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    statements = models.PositiveBigIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)

    objects = ScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "day"], name="lrs_client_day_unique")]

    def __str__(self) -> str:
        return f"{self.client_id} {self.day}"


class LrsRejection(models.Model):
    """A request of an authenticated client that was refused, and why (kept for the client's
    administrators: a provider sending bad statements finds out here)."""

    client = models.ForeignKey(LrsClient, on_delete=models.CASCADE, related_name="rejections")
    at = models.DateTimeField()
    method = models.CharField(max_length=10)
    resource = models.CharField(max_length=40)
    status = models.PositiveSmallIntegerField()
    message = models.CharField(max_length=300)

    objects = ScopedManager()

    class Meta:
        indexes = [models.Index(fields=["client", "-at"], name="lrs_rejection_client_at")]

    def __str__(self) -> str:
        return f"{self.status} {self.message}"
